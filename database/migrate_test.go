package database_test

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// beforeMigrations is the DDL that versions before migrations ran in their
// package constructors.
//
//go:embed testdata/before-migrations.sql
var beforeMigrations string

var quiet = slog.New(slog.DiscardHandler)

// tables are the app's tables.
var tables = []string{"leases", "sessions", "members", "members_left", "directory_sync",
	"role_changes", "audit_log", "webhook_events", "projects", "tasks"}

func TestAnExistingSQLiteDatabaseKeepsWorking(t *testing.T) {
	ctx := context.Background()
	cfg := databasetest.Empty(t, database.SQLite)
	db, d := databasetest.Open(t, cfg)
	// A data/app.db of an earlier version: its tables, its rows, no
	// migration history; one session row still in clear, as versions
	// before sealed sessions wrote them.
	_, err := db.ExecContext(ctx, beforeMigrations)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO projects (org_id, name, created_by, created_at, updated_at) VALUES ('org_1', 'Kept', 'usr_1', 1, 1);
		INSERT INTO sessions (id_hash, data, expires_at) VALUES ('clear', 'access_token=eyJ...', 9999999999), ('sealed', X'00ff', 9999999999)`)
	require.NoError(t, err)

	require.NoError(t, database.Migrate(ctx, db, d, quiet), "the first migration finds its tables there")
	require.NoError(t, database.Migrate(ctx, db, d, quiet), "and a second run has nothing to do")

	var name string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT name FROM projects WHERE org_id = 'org_1'`).Scan(&name))
	assert.Equal(t, "Kept", name)
	var sessions []string
	rows, err := db.QueryContext(ctx, `SELECT id_hash FROM sessions`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		require.NoError(t, rows.Scan(&name))
		sessions = append(sessions, name)
	}
	assert.Equal(t, []string{"sealed"}, sessions, "the row in clear is purged, the sealed one kept")
	var version int64
	require.NoError(t, db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&version))
	assert.Equal(t, int64(migrationCount(t, database.SQLite)), version, "every migration applied")
}

func TestTheFirstSQLiteMigrationIsTheSchemaOfBefore(t *testing.T) {
	ctx := context.Background()
	old, _ := databasetest.Open(t, databasetest.Empty(t, database.SQLite))
	_, err := old.ExecContext(ctx, beforeMigrations)
	require.NoError(t, err)
	migrated, _ := databasetest.Open(t, databasetest.Empty(t, database.SQLite))
	tree, err := fs.Sub(database.Migrations, "migrations/sqlite")
	require.NoError(t, err)
	first, err := goose.NewProvider(goose.DialectSQLite3, migrated, tree)
	require.NoError(t, err)
	_, err = first.UpTo(ctx, 1) // the later migrations change the schema on purpose
	require.NoError(t, err)

	for _, table := range tables {
		t.Run(table, func(t *testing.T) {
			for _, pragma := range []string{"table_info", "index_list", "foreign_key_list"} {
				assert.Equal(t, describe(t, old, pragma, table), describe(t, migrated, pragma, table), pragma)
			}
		})
	}
}

// migrationCount is the number of migrations of engine e.
func migrationCount(t *testing.T, e database.Engine) int {
	t.Helper()
	files, err := fs.Glob(database.Migrations, "migrations/"+string(e)+"/*.sql")
	require.NoError(t, err)
	return len(files)
}

// describe returns the rows of a pragma about a table, as text.
func describe(t *testing.T, db *sql.DB, pragma, table string) []string {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf(`SELECT * FROM pragma_%s('%s')`, pragma, table))
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, fmt.Sprint(vals...))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestInstancesStartingTogetherOnAnEmptyDatabaseAllComeUp(t *testing.T) {
	databasetest.Run(t, func(t *testing.T, e database.Engine) {
		ctx := context.Background()
		rounds := 3 // the race fails in some rounds only, when it fails
		if testing.Short() {
			rounds = 1
		}
		for round := range rounds {
			cfg := databasetest.Empty(t, e)
			const instances = 3
			var pools []*sql.DB
			var d database.Dialect
			for range instances {
				db, dialect := databasetest.Open(t, cfg)
				pools, d = append(pools, db), dialect
			}
			errs := make([]error, instances)
			var start, wg sync.WaitGroup
			start.Add(1)
			for i, db := range pools {
				wg.Go(func() {
					start.Wait()
					errs[i] = database.Migrate(ctx, db, d, quiet)
				})
			}
			start.Done()
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "round %d, instance %d", round, i)
			}
			for _, table := range tables {
				var n int
				require.NoError(t, pools[0].QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n), table)
			}
			var applied int
			require.NoError(t, pools[0].QueryRowContext(ctx,
				`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied))
			assert.Equal(t, migrationCount(t, e), applied, "each migration applied once")
		}
	})
}

// Package databasetest gives tests a fresh, migrated database of either
// engine: a SQLite file opened exactly as the app opens it, or a PostgreSQL
// database of its own on the server TEST_DATABASE_URL names (dropped when
// the test ends). Only tests import it.
//
// Without TEST_DATABASE_URL the PostgreSQL runs skip, saying why; with
// REQUIRE_POSTGRES=1 they fail instead, so that a CI run cannot pass on a
// database it never reached.
package databasetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// Engines are the engines every database test runs on.
var Engines = []database.Engine{database.SQLite, database.Postgres}

// Run runs f as one subtest per engine, named after it ("sqlite",
// "postgres"), so that a reader of the output sees which ran. The
// postgres subtest skips, or fails under REQUIRE_POSTGRES=1, when no
// server is configured.
func Run(t *testing.T, f func(t *testing.T, e database.Engine)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) {
			Require(t, e)
			f(t, e)
		})
	}
}

// Require skips (or fails, under REQUIRE_POSTGRES=1) a test of engine e
// that cannot run here.
func Require(t testing.TB, e database.Engine) {
	t.Helper()
	if e != database.Postgres || os.Getenv("TEST_DATABASE_URL") != "" {
		return
	}
	if required() {
		t.Fatal("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
	}
	t.Skip("postgres: TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
}

func required() bool { return os.Getenv("REQUIRE_POSTGRES") == "1" }

// New creates a fresh database of engine e, migrated to the current
// schema, and returns the configuration that opens it: give it to
// app.Config, or to Open for as many pools (app instances) as the test
// needs.
func New(t testing.TB, e database.Engine) database.Config {
	t.Helper()
	return create(t, e, true)
}

// Empty is New without the migrations: for tests of migrating itself.
func Empty(t testing.TB, e database.Engine) database.Config {
	t.Helper()
	return create(t, e, false)
}

// Open opens a pool on the database cfg names, closed when the test ends.
func Open(t testing.TB, cfg database.Config) (*sql.DB, database.Dialect) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, d, err := database.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, d
}

// OpenNew is Open(t, New(t, e)): one fresh database, one pool.
func OpenNew(t testing.TB, e database.Engine) (*sql.DB, database.Dialect) {
	t.Helper()
	return Open(t, New(t, e))
}

func create(t testing.TB, e database.Engine, migrated bool) database.Config {
	t.Helper()
	Require(t, e)
	if e == database.SQLite {
		cfg := database.Config{Path: t.TempDir() + "/app.db"}
		if migrated {
			require.NoError(t, os.WriteFile(cfg.Path, sqliteTemplate(t), 0o600))
		}
		return cfg
	}
	return createPostgres(t, migrated)
}

// sqliteMigrated holds what sqliteTemplate made.
var sqliteMigrated struct {
	mu   sync.Mutex
	file []byte
}

// sqliteTemplate returns the file of a SQLite database migrated to the
// current schema, made once per test process: New writes a copy of it
// rather than migrate every database (some 20 ms each, seconds over a
// test run), as the PostgreSQL template does. Tests of migrating itself
// start from Empty.
func sqliteTemplate(t testing.TB) []byte {
	t.Helper()
	sqliteMigrated.mu.Lock()
	defer sqliteMigrated.mu.Unlock()
	if sqliteMigrated.file != nil {
		return sqliteMigrated.file
	}
	cfg := database.Config{Path: t.TempDir() + "/template.db"}
	db, d := Open(t, cfg)
	require.NoError(t, database.Migrate(context.Background(), db, d, slog.New(slog.DiscardHandler)))
	require.NoError(t, db.Close())
	// Closing the last connection checkpoints the write-ahead log into
	// the file and removes it: the file alone is then the whole database.
	for _, suffix := range []string{"-wal", "-shm"} {
		_, err := os.Stat(cfg.Path + suffix)
		require.ErrorIs(t, err, fs.ErrNotExist, "the template's %s file outlived its pool", suffix)
	}
	file, err := os.ReadFile(cfg.Path)
	require.NoError(t, err)
	sqliteMigrated.file = file
	return file
}

// createPostgres creates a database named after nothing the test chose
// (names are global to the server) and drops it when the test ends, WITH
// (FORCE): a pool the test left open does not keep it. A migrated database
// is a copy of a template migrated once per schema version, which is
// faster than migrating each one.
func createPostgres(t testing.TB, migrated bool) database.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := os.Getenv("TEST_DATABASE_URL")
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		if required() {
			t.Fatalf("REQUIRE_POSTGRES=1 but the server of TEST_DATABASE_URL is not reachable: %v", err)
		}
		t.Skipf("postgres: the server of TEST_DATABASE_URL is not reachable: %v", err)
	}

	name := "test_" + strings.ToLower(rand.Text()[:16])
	from := "template0"
	if migrated {
		from, err = template(ctx, admin, base)
		require.NoError(t, err)
	}
	_, err = admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY`, name, from))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("pgx", base)
		if err == nil {
			defer admin.Close()
			_, err = admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		}
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return database.Config{URL: withDatabase(t, base, name)}
}

// template returns the name of a database migrated to the current schema,
// creating it if needed. Its name holds a hash of the migrations, so a
// changed schema gets a new one; test processes running in parallel (one
// per package) take turns under an advisory lock.
func template(ctx context.Context, admin *sql.DB, base string) (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(database.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(database.Migrations, path)
		sum.Write([]byte(path))
		sum.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	name := "test_template_" + hex.EncodeToString(sum.Sum(nil))[:16]

	conn, err := admin.Conn(ctx) // the lock is the session's: one connection
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('databasetest template'))`); err != nil {
		return "", fmt.Errorf("lock the template: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('databasetest template'))`)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Built under another name and renamed once complete: a process killed
	// half-way leaves no template that looks usable.
	building := name + "_wip"
	if _, err := conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building+` TEMPLATE template0 STRATEGY FILE_COPY`); err != nil {
		return "", fmt.Errorf("create the template: %w", err)
	}
	db, d, err := database.Open(ctx, database.Config{URL: withDatabaseURL(base, building)}, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	err = database.Migrate(ctx, db, d, slog.New(slog.DiscardHandler))
	db.Close()
	if err != nil {
		return "", err
	}
	// The pool just closed may linger a moment on the server's side.
	for try := 0; ; try++ {
		_, err := conn.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+name)
		var pe *pgconn.PgError
		if err == nil || try == 50 || !errors.As(err, &pe) || pe.Code != "55006" { // object_in_use
			if err != nil {
				return "", fmt.Errorf("rename the template: %w", err)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return name, nil
}

func withDatabase(t testing.TB, base, name string) string {
	t.Helper()
	u := withDatabaseURL(base, name)
	require.NotEmpty(t, u, "TEST_DATABASE_URL is not a URL")
	return u
}

// withDatabaseURL is base with its database replaced by name.
func withDatabaseURL(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	u.Path = "/" + name
	return u.String()
}

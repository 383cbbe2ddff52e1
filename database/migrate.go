package database

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrations holds one tree of numbered SQL files per engine
// (migrations/sqlite, migrations/postgres): the same schema in each
// engine's types. A new migration is added to both trees, with the same
// number.
//
//go:embed migrations
var Migrations embed.FS

// Migrate brings the schema up to date under a lock, so that instances
// starting together take turns: the first applies what is missing, the
// others find nothing left to do. On PostgreSQL the lock is a session
// advisory lock; on SQLite, a row (sqliteLocker).
// (Creating tables in each package's constructor, as earlier versions did,
// failed in most rounds of that race: concurrent CREATE TABLE IF NOT EXISTS
// collide on Postgres's catalog.) It logs the migrations it applied.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, log *slog.Logger) error {
	p, err := newProvider(db, d)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	for _, r := range results {
		log.Info("database migrated", "engine", d.engine, "migration", r.Source.Path, "took", r.Duration)
	}
	return nil
}

func newProvider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	tree, err := fs.Sub(Migrations, "migrations/"+string(d.engine))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithLocker(&sqliteLocker{holder: rand.Text()})}
	dialect := goose.DialectSQLite3
	if d.engine == Postgres {
		dialect = goose.DialectPostgres
		// Waiters poll every second, up to five minutes (bounded by ctx
		// before that); the lock is the session's, so a crashed holder's
		// lock goes with its connection.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = []goose.ProviderOption{goose.WithSessionLocker(locker)}
	}
	p, err := goose.NewProvider(dialect, db, tree, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// sqliteLocker is goose's lock for SQLite, which goose has none for: a
// row naming its holder, taken if absent or lapsed, deleted on unlock.
// (SQLite's own write lock cannot be held across goose's transactions,
// which run on other connections.) A migrator that crashed holding it
// delays the others by sqliteLockTTL at most.
type sqliteLocker struct {
	holder string // random per Migrate: only its holder unlocks
}

// sqliteLockTTL outlasts any migration of this app by far.
const sqliteLockTTL = time.Minute

func (l *sqliteLocker) Lock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS goose_lock (
		id     INTEGER PRIMARY KEY CHECK (id = 1),
		holder TEXT NOT NULL,
		until  INTEGER NOT NULL -- unix ms
	)`); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	for {
		now := time.Now()
		res, err := db.ExecContext(ctx,
			`INSERT INTO goose_lock (id, holder, until) VALUES (1, $1, $2)
			 ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until = excluded.until
			 WHERE goose_lock.until < $3`,
			l.holder, now.Add(sqliteLockTTL).UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		} else if n == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migration lock: another instance is migrating: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *sqliteLocker) Unlock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM goose_lock WHERE holder = $1`, l.holder); err != nil {
		return fmt.Errorf("migration unlock: %w", err)
	}
	return nil
}

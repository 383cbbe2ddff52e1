// Package database opens the app's SQL database, SQLite (a file, the
// default) or PostgreSQL (shared by several app instances), brings its
// schema up to date (migrate.go), and names the few statements whose text
// differs between the two engines (Dialect).
//
// Every other query in the app is one SQL text for both engines, with $1,
// $2 placeholders: the SQLite driver binds $N by position, like Postgres.
// A ? placeholder works on SQLite only, so none is allowed (lint_test.go).
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, builds anywhere
)

// Engine is a database engine the app runs on.
type Engine string

// The engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// URL (DATABASE_URL). Empty: SQLite at Path.
	URL string
	// Path is the SQLite file (DATABASE_PATH), created if needed.
	Path string
	// MaxConns bounds the PostgreSQL connection pool (DATABASE_MAX_CONNS);
	// 0 means DefaultMaxConns.
	MaxConns int
}

// DefaultMaxConns is the pool size per app instance on PostgreSQL: the sum
// over instances should stay within two or three times the database
// server's cores.
const DefaultMaxConns = 8

// Engine is the engine the configuration selects.
func (c Config) Engine() Engine {
	if c.URL != "" {
		return Postgres
	}
	return SQLite
}

// Open opens the database that cfg names and checks that it answers. A
// PostgreSQL server that is not reachable yet is retried with backoff
// until ctx ends (an app and its database often start together); a
// refused login or a missing database fails at once. Errors are one line
// that names the setting at fault. Open does not migrate: see Migrate.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*sql.DB, Dialect, error) {
	if cfg.Engine() == Postgres {
		db, err := openPostgres(ctx, cfg, log)
		return db, Dialect{Postgres}, err
	}
	db, err := openSQLite(ctx, cfg.Path)
	return db, Dialect{SQLite}, err
}

func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("DATABASE_PATH=%q: %w", path, err)
		}
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("DATABASE_PATH=%q: %w", path, err)
	}
	return db, nil
}

// sqliteDSN is the driver's data source name for the file at path, with
// the pragmas the app relies on: WAL lets readers proceed during a write
// and keeps every committed write across a crash of the process;
// busy_timeout makes concurrent writers wait instead of failing; foreign
// keys cascade task deletes. Transactions begin IMMEDIATE, taking the write
// lock at BEGIN: every transaction of the app writes, and one that read
// first and wrote later would fail with SQLITE_BUSY_SNAPSHOT when another
// writer committed in between, instead of waiting its turn (the serial
// order that Dialect.LockXact gives on PostgreSQL).
func sqliteDSN(path string) string {
	q := url.Values{"_pragma": {
		"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(5000)", "synchronous(NORMAL)",
	}, "_txlock": {"immediate"}}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// ParsePostgresURL parses a DATABASE_URL. Like psql, pgx fills what the
// URL leaves out (host, port, user, password, sslmode...) from the PG*
// environment variables and ~/.pgpass: that is kept, so a password can
// stay out of the URL, and Describe logs what was actually chosen.
func ParsePostgresURL(raw string) (*pgx.ConnConfig, error) {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return nil, errors.New("DATABASE_URL: want a postgres:// URL, like postgres://app:secret@db.internal:5432/app")
	}
	// Neither message below may carry the URL: it may hold a password.
	if _, err := url.Parse(raw); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("DATABASE_URL is not a valid URL (%v): want postgres://user:password@host:5432/dbname", err)
	}
	cc, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a valid postgres:// URL (%s): want postgres://user:password@host:5432/dbname", parseProblem(err))
	}
	return cc, nil
}

// parseProblem is what pgx found wrong, without the connection string
// that its message quotes ("cannot parse `...`: what (why)").
func parseProblem(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		return msg[i+3:]
	}
	return "cannot parse it"
}

// Describe names the server, database and user of cc, never the password.
func Describe(cc *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}

func openPostgres(ctx context.Context, cfg Config, log *slog.Logger) (*sql.DB, error) {
	cc, err := ParsePostgresURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	// stdlib.OpenDB keeps database/sql's idle connections, and with them
	// the statements pgx prepared on each (OpenDBFromPool drops idle
	// connections: every checkout prepared again, 3-4x slower).
	db := stdlib.OpenDB(*cc)
	n := cfg.MaxConns
	if n <= 0 {
		n = DefaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)

	where := Describe(cc)
	delay := 250 * time.Millisecond
	for {
		err := db.PingContext(ctx)
		if err == nil {
			log.Info("database", "engine", Postgres, "server", where, "max_conns", n)
			return db, nil
		}
		if refused := refusal(err); refused != "" {
			db.Close()
			return nil, fmt.Errorf("DATABASE_URL: %s refused the connection: %s", where, refused)
		}
		log.Warn("database not reachable yet, retrying", "server", where, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			db.Close()
			return nil, fmt.Errorf("DATABASE_URL: database server %s not reachable: %w", where, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// refusal describes an error that retrying will not mend (the server
// answered, and said no), or returns "".
func refusal(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	switch {
	case pe.Code == "57P03", pe.Code == "53300", strings.HasPrefix(pe.Code, "08"):
		// cannot_connect_now (starting up), too_many_connections, and
		// connection exceptions: a later try may get through.
		return ""
	case pe.Code == "28P01", pe.Code == "28000": // invalid_password, invalid_authorization_specification
		return "authentication failed (" + pe.Message + "): check the user and password"
	case pe.Code == "3D000": // invalid_catalog_name
		return pe.Message + ": create it, or fix the database name"
	}
	return pe.Message + " (SQLSTATE " + pe.Code + ")"
}

// Dialect is the engine's text for the few statements that differ between
// SQLite and PostgreSQL. Everything else is one SQL text for both.
type Dialect struct {
	engine Engine
}

// Engine is the dialect's engine.
func (d Dialect) Engine() Engine { return d.engine }

// Now is an SQL expression for the database server's clock, in unix
// milliseconds. Times that instances compare with each other (leases, role
// changes, webhook claims) are read from this one clock: an instance whose
// own clock runs fast would otherwise see a live lease as lapsed. On
// PostgreSQL it is clock_timestamp(), the time of the statement's
// evaluation, not now() (the transaction's start). Both engines truncate
// to the millisecond (floor): a reading of T means the moment was in
// [T, T+1 ms).
func (d Dialect) Now() string {
	if d.engine == Postgres {
		return "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)"
	}
	return "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
}

// LockXact is a statement that takes, until the end of the transaction it
// runs in, the lock named by the text bound to parameter $n: transactions
// taking the same name run one after the other. On PostgreSQL it is an
// advisory transaction lock (released at commit or rollback, whatever
// becomes of the connection); on SQLite it is "": a transaction there holds
// the database's one write lock from BEGIN (see sqliteDSN), which
// serializes every writer already.
func (d Dialect) LockXact(n int) string {
	if d.engine == Postgres {
		return fmt.Sprintf("SELECT pg_advisory_xact_lock(hashtext($%d))", n)
	}
	return ""
}

// JSONStrings is a table expression of one column, value, holding the
// strings of the JSON array bound to parameter $n: a list of any length as
// one parameter.
func (d Dialect) JSONStrings(n int) string {
	if d.engine == Postgres {
		return fmt.Sprintf("jsonb_array_elements_text($%d::jsonb) AS t(value)", n)
	}
	return fmt.Sprintf("json_each($%d)", n)
}

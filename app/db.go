package app

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, builds anywhere
)

// OpenDB opens (creating if needed) the SQLite database at path.
func OpenDB(ctx context.Context, path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("DATABASE_PATH=%q: %w", path, err)
		}
	}
	// WAL lets readers proceed during a write and keeps every committed
	// write across a crash of the process; busy_timeout makes concurrent
	// writers wait instead of failing; foreign keys cascade task deletes.
	q := url.Values{"_pragma": {
		"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(5000)", "synchronous(NORMAL)",
	}}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("DATABASE_PATH=%q: %w", path, err)
	}
	return db, nil
}

// Package lease provides named locks that expire, kept in the database the
// app's instances share, so that those instances do some things one at a
// time: refresh a session (the IdP rotates refresh tokens and revokes a
// sign-in whose used token comes back), or change an organization's roles
// (two admins demoting each other must not both pass the last-admin check).
package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrBusy is returned when another holder kept a lease for longer than the
// caller was willing to wait.
var ErrBusy = errors.New("lease held by another request")

// poll is how often a waiting caller tries again.
const poll = 25 * time.Millisecond

// Table is the leases table of a database.
type Table struct {
	db  *sql.DB
	now func() time.Time
}

// New returns the leases table of db (created by its migrations).
func New(db *sql.DB) *Table {
	return &Table{db: db, now: time.Now}
}

// Acquire takes the lease called name for at most ttl, waiting up to wait
// while another request, in this process or another, holds it. It returns
// the function that gives the lease back. ttl must outlast the work the
// lease protects: past it, the lease lapses and another caller may take it.
func (t *Table) Acquire(ctx context.Context, name string, ttl, wait time.Duration) (release func(), err error) {
	holder := rand.Text()
	deadline := t.now().Add(wait)
	for {
		now := t.now()
		// Taking a lapsed lease and taking a free one are the same statement:
		// the row is replaced only if its time is up.
		res, err := t.db.ExecContext(ctx,
			`INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
			 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			 WHERE leases.until < $4`,
			name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("lease %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return func() {
				// Not canceled with the request: a lease left behind would
				// hold up others until it lapses.
				_, _ = t.db.ExecContext(context.WithoutCancel(ctx),
					`DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
			}, nil
		}
		if !now.Before(deadline) {
			return nil, fmt.Errorf("lease %s: %w", name, ErrBusy)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

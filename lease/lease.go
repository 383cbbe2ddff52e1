// Package lease provides named locks that expire, kept in the database the
// app's instances share, so that those instances do some things one at a
// time: refresh a session (the IdP rotates refresh tokens and revokes a
// sign-in whose used token comes back), or change an organization's roles
// (two admins demoting each other must not both pass the last-admin check).
//
// A lease spans calls to the IdP, so it cannot be a database lock held by
// a transaction or a session: it is a row whose time runs out. Its times
// are the database server's clock (database.Dialect.Now), never an
// instance's: an instance whose clock ran fast would see live leases as
// lapsed and take them. A holder that may have stalled past its lease
// (a long GC pause, a frozen VM) calls Renew before each side effect the
// lease protects, and gives up if the lease was taken over meanwhile.
package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// ErrBusy is returned when another holder kept a lease for longer than the
// caller was willing to wait. The error is a *BusyError.
var ErrBusy = errors.New("lease held by another request")

// ErrLost is returned by Renew when the lease lapsed and another caller
// took it: whatever the lease protects must not be done any more.
var ErrLost = errors.New("lease lost to another holder")

// BusyError is ErrBusy with how long the current holder's lease has left,
// which is when a caller should try again at the latest.
type BusyError struct {
	Name string
	Left time.Duration
}

// Error implements error.
func (e *BusyError) Error() string {
	return fmt.Sprintf("lease %s: %v (%s left)", e.Name, ErrBusy, e.Left.Round(time.Second))
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// poll is how often a waiting caller tries again.
const poll = 25 * time.Millisecond

// Table is the leases table of a database.
type Table struct {
	db      *sql.DB
	dialect database.Dialect
	now     func() time.Time // only for how long a caller waits: lease times are the database's
}

// New returns the leases table of db (created by its migrations); d is
// db's dialect.
func New(db *sql.DB, d database.Dialect) *Table {
	return &Table{db: db, dialect: d, now: time.Now}
}

// Lease is a lease held.
type Lease struct {
	t      *Table
	name   string
	holder string
	ttl    time.Duration
}

// Acquire takes the lease called name for at most ttl, waiting up to wait
// while another request, in this process or another, holds it. ttl must
// outlast the work the lease protects: past it, the lease lapses and
// another caller may take it. Give it back with Release.
func (t *Table) Acquire(ctx context.Context, name string, ttl, wait time.Duration) (*Lease, error) {
	l := &Lease{t: t, name: name, holder: rand.Text(), ttl: ttl}
	deadline := t.now().Add(wait)
	for {
		// Taking a lapsed lease and taking a free one are the same statement:
		// the row is replaced only if its time is up, by the database's clock.
		res, err := t.db.ExecContext(ctx,
			`INSERT INTO leases (name, holder, until) VALUES ($1, $2, `+t.dialect.Now()+` + $3)
			 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			 WHERE leases.until < `+t.dialect.Now(),
			name, l.holder, ttl.Milliseconds())
		if err != nil {
			return nil, fmt.Errorf("lease %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return l, nil
		}
		if !t.now().Before(deadline) {
			return nil, &BusyError{Name: name, Left: t.left(ctx, name)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// left is how long the lease called name has to run (0 if unknown).
func (t *Table) left(ctx context.Context, name string) time.Duration {
	var ms int64
	err := t.db.QueryRowContext(ctx, `SELECT until - `+t.dialect.Now()+` FROM leases WHERE name = $1`, name).Scan(&ms)
	if err != nil || ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// Renew extends the lease to ttl from now, by the database's clock, and
// returns that clock's reading: a moment known to precede whatever the
// caller does next. It returns ErrLost if another caller took the lease
// (it lapsed while this holder stalled): the caller must then abandon the
// work, before its next side effect. A lease that lapsed but that nobody
// took is still this holder's: nobody else can have acted under it.
func (l *Lease) Renew(ctx context.Context) (time.Time, error) {
	var until int64
	err := l.t.db.QueryRowContext(ctx,
		`UPDATE leases SET until = `+l.t.dialect.Now()+` + $1 WHERE name = $2 AND holder = $3 RETURNING until`,
		l.ttl.Milliseconds(), l.name, l.holder).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("lease %s: %w", l.name, ErrLost)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("renew lease %s: %w", l.name, err)
	}
	return time.UnixMilli(until).Add(-l.ttl).UTC(), nil
}

// Release gives the lease back, if it is still this holder's. It is not
// canceled with ctx: a lease left behind would hold up others until it
// lapses.
func (l *Lease) Release(ctx context.Context) {
	_, _ = l.t.db.ExecContext(context.WithoutCancel(ctx),
		`DELETE FROM leases WHERE name = $1 AND holder = $2`, l.name, l.holder)
}

// Now reads the database's clock: the clock leases, role changes and
// webhook claims are dated by.
func (t *Table) Now(ctx context.Context) (time.Time, error) {
	var ms int64
	if err := t.db.QueryRowContext(ctx, `SELECT `+t.dialect.Now()).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("read the database clock: %w", err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

package auth

import (
	"context"
	"fmt"
	"time"
)

// Refresh leases: several app instances that share the database share
// sessions, and so could refresh the same session at once. The IdP rotates
// refresh tokens and revokes the whole sign-in when a used one comes back,
// so a session is refreshed by one instance at a time: the one holding its
// lease, a row in session_leases. (Within one instance, keyedMutex already
// serializes requests; the lease is the same rule across instances.)

const leaseSchema = `
CREATE TABLE IF NOT EXISTS session_leases (
	id_hash TEXT PRIMARY KEY,
	until   INTEGER NOT NULL -- unix ms; a crashed holder's lease lapses
);`

// leaseTTL outlasts a token call (idpTimeout), so a live holder keeps it.
const leaseTTL = idpTimeout + 5*time.Second

// leaseWait is how long a request waits for another instance's refresh.
const leaseWait = leaseTTL

// lease takes the refresh lease of session id, waiting while another
// instance holds it, and returns the function that gives it back.
func (s *SessionStore) lease(ctx context.Context, id string) (release func(), err error) {
	key := hashID(id)
	deadline := s.now().Add(leaseWait)
	for {
		now := s.now()
		if _, err := s.db.ExecContext(ctx, `DELETE FROM session_leases WHERE id_hash = ? AND until < ?`, key, now.UnixMilli()); err != nil {
			return nil, fmt.Errorf("refresh lease: %w", err)
		}
		res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO session_leases (id_hash, until) VALUES (?, ?)`,
			key, now.Add(leaseTTL).UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("refresh lease: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return func() {
				_, _ = s.db.ExecContext(context.WithoutCancel(ctx), `DELETE FROM session_leases WHERE id_hash = ?`, key)
			}, nil
		}
		if now.After(deadline) {
			return nil, fmt.Errorf("refresh lease: another instance has been refreshing this session for %s: %w", leaseWait, ErrIdPUnreachable)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

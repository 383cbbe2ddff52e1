package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// Refresh leases: several app instances that share the database share
// sessions, and so could refresh the same session at once. The IdP rotates
// refresh tokens and revokes the whole sign-in when a used one comes back,
// so a session is refreshed by one instance at a time: the one holding its
// lease. (Within one instance, keyedMutex already serializes requests; the
// lease is the same rule across instances.)

// leaseTTL outlasts a token call (idpTimeout), so a live holder keeps it.
const leaseTTL = idpTimeout + 5*time.Second

// leaseWait is how long a request waits for another instance's refresh.
// A refresh takes one token call, well under a second when the IdP is
// well; the lease of an instance that crashed mid-refresh lapses only
// after leaseTTL, longer than many clients and load balancers wait. So a
// request gives up after a few seconds and answers 503 with Retry-After
// (as long again: a live holder has finished by then, and the retry finds
// the session refreshed; a crashed one's lease has not lapsed yet, and the
// retry is told the same).
const leaseWait = 3 * time.Second

// lease takes the refresh lease of session id, waiting while another
// instance holds it.
func (s *SessionStore) lease(ctx context.Context, id string) (*lease.Lease, error) {
	held, err := s.leases.Acquire(ctx, "session-refresh:"+hashID(id), leaseTTL, leaseWait)
	if errors.Is(err, lease.ErrBusy) {
		return nil, &problem.BusyError{
			Message:    "Your session is being renewed by another request. Try again in a moment.",
			RetryAfter: leaseWait,
			Err:        err,
		}
	}
	return held, err
}

// renewFailed is the error of a refresh whose lease could not be renewed:
// busy if another request took it over (which refreshes, or has refreshed,
// the session: a retry finds it done).
func renewFailed(err error) error {
	if errors.Is(err, lease.ErrLost) {
		return &problem.BusyError{Message: "Your session was renewed by another request. Try again.", RetryAfter: time.Second, Err: err}
	}
	return fmt.Errorf("refresh: %w", err)
}

// askedAt turns a reading of the database's clock taken just before a
// token call into the session's keyObtained. Readings are whole
// milliseconds (floor), as are role changes' dates, and a change dated
// the same millisecond as the reading counts as newer: a session
// refreshed within that millisecond would refresh once more for nothing.
// So askedAt waits a millisecond, after which the token call surely starts
// later than the reading's next millisecond, and dates it so: a change
// dated before that was applied at the IdP before the call.
func askedAt(reading time.Time) time.Time {
	time.Sleep(time.Millisecond)
	return reading.Add(time.Millisecond)
}

package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/lease"
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
const leaseWait = leaseTTL

// lease takes the refresh lease of session id, waiting while another
// instance holds it, and returns the function that gives it back.
func (s *SessionStore) lease(ctx context.Context, id string) (release func(), err error) {
	release, err = s.leases.Acquire(ctx, "session-refresh:"+hashID(id), leaseTTL, leaseWait)
	if errors.Is(err, lease.ErrBusy) {
		return nil, fmt.Errorf("another instance has been refreshing this session for %s: %w", leaseWait, auth.ErrIdPUnreachable)
	}
	return release, err
}

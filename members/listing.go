package members

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// UserLister lists an organization's members at the IdP.
type UserLister interface {
	ListOrganizationUsers(ctx context.Context, orgID string) ([]scalekit.User, error)
}

// listingTTL is how long the members and audit pages reuse a listing of an
// organization. Listing 2,000 members takes 21 management calls; pages
// viewed within these seconds take none. A role change made here, on any
// instance, or reported by the IdP's webhooks makes the copy stale at once
// (see fresh); a change the app hears nothing of shows within listingTTL.
const listingTTL = 30 * time.Second

// listing keeps, per organization, a short-lived copy of the IdP's member
// listing for the pages that only show it. Role changes never use it: the
// Assigner reads the IdP afresh, because the last-admin check must see the
// truth, not a copy.
type listing struct {
	idp     UserLister
	changed auth.RolesChangedFunc // nil: only the TTL and forget end a copy
	ttl     time.Duration
	now     func() time.Time

	mu   sync.Mutex
	orgs map[string]*orgListing
}

// orgListing is one organization's copy, or the fetch that will fill it.
type orgListing struct {
	done    chan struct{} // closed once users or err is set
	users   []scalekit.User
	err     error
	started time.Time // when the fetch began: changes from then on may be missing
}

func newListing(idp UserLister, changed auth.RolesChangedFunc, ttl time.Duration, now func() time.Time) *listing {
	return &listing{idp: idp, changed: changed, ttl: ttl, now: now, orgs: map[string]*orgListing{}}
}

// users returns the organization's members from a fresh enough copy, or
// lists them at the IdP. Concurrent views of an organization share one
// listing instead of each sending its own.
func (l *listing) users(ctx context.Context, orgID string) ([]scalekit.User, error) {
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		e := l.orgs[orgID]
		if e == nil {
			e = l.start(orgID)
		}
		l.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("list members of %s: %w", orgID, ctx.Err())
		}
		if e.err != nil {
			return nil, e.err
		}
		// A second listing began after the stale copy was found: show it
		// even if yet another change came in meanwhile (the next view lists
		// again), rather than loop.
		if attempt > 0 || l.fresh(ctx, orgID, e) {
			return e.users, nil
		}
		l.drop(orgID, e) // and list again
	}
}

// start begins listing the organization at the IdP; the caller holds l.mu.
// The listing outlives the request that asked for it (others may be
// waiting for it, and it fills shared state), so it runs on its own
// context: a viewer who goes away neither cancels it for the others nor
// leaves a failure behind.
func (l *listing) start(orgID string) *orgListing {
	for org, e := range l.orgs { // a few organizations at most: sweep the expired
		if l.expired(e) {
			delete(l.orgs, org)
		}
	}
	e := &orgListing{done: make(chan struct{}), started: l.now()}
	l.orgs[orgID] = e
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), idpDeadline)
		defer cancel()
		e.users, e.err = l.idp.ListOrganizationUsers(ctx, orgID)
		if e.err != nil {
			l.drop(orgID, e) // a failure is for its waiters only, never kept
		}
		close(e.done)
	}()
	return e
}

// expired reports whether e's fetch is over and its copy older than the TTL.
func (l *listing) expired(e *orgListing) bool {
	select {
	case <-e.done:
		return l.now().Sub(e.started) >= l.ttl
	default:
		return false
	}
}

// fresh reports whether a filled copy may still be shown: younger than the
// TTL, and no listed member's roles changed since it was taken. The copy is
// dated by this instance's clock, the changes by the database's: with this
// clock running δ ahead, a change made in the δ after a listing began is
// taken as older and shows at the latest after the TTL. A copy per
// instance, for display only (role changes read the IdP afresh), is not
// worth a database read per listing.
func (l *listing) fresh(ctx context.Context, orgID string, e *orgListing) bool {
	if l.now().Sub(e.started) >= l.ttl {
		return false
	}
	if l.changed == nil {
		return true
	}
	for _, u := range e.users {
		if l.changed(ctx, orgID, u.ID, e.started) {
			return false
		}
	}
	return true
}

// forget drops the organization's copy: the next view lists afresh.
func (l *listing) forget(orgID string) {
	l.mu.Lock()
	delete(l.orgs, orgID)
	l.mu.Unlock()
}

// drop forgets e if it is still the organization's copy.
func (l *listing) drop(orgID string, e *orgListing) {
	l.mu.Lock()
	if l.orgs[orgID] == e {
		delete(l.orgs, orgID)
	}
	l.mu.Unlock()
}

package members

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// gatedLister counts listings; while gate is set, each waits for it.
type gatedLister struct {
	calls atomic.Int32
	gate  chan struct{}
	err   error
}

func (g *gatedLister) ListOrganizationUsers(ctx context.Context, orgID string) ([]scalekit.User, error) {
	g.calls.Add(1)
	if g.gate != nil {
		<-g.gate
	}
	return []scalekit.User{{ID: "usr_alice"}, {ID: "usr_bob"}}, g.err
}

func TestListingServesACopyUntilItExpiresOrARoleChanges(t *testing.T) {
	ctx := context.Background()
	idp := &gatedLister{}
	now := time.Now()
	var changedAt time.Time // when usr_bob's roles last changed (zero: never)
	changed := func(_ context.Context, _, userID string, since time.Time) bool {
		return userID == "usr_bob" && !changedAt.IsZero() && !since.After(changedAt)
	}
	l := newListing(idp, changed, 30*time.Second, func() time.Time { return now })

	tests := []struct {
		name      string
		before    func()
		org       string
		wantCalls int32
	}{
		{"the first view lists", func() {}, "org_1", 1},
		{"a view within the TTL does not", func() { now = now.Add(10 * time.Second) }, "org_1", 1},
		{"a role change of a listed member makes the copy stale", func() { changedAt = now; now = now.Add(time.Second) }, "org_1", 2},
		{"the new copy is fresh again", func() { now = now.Add(time.Second) }, "org_1", 2},
		{"the copy expires after the TTL", func() { now = now.Add(30 * time.Second) }, "org_1", 3},
		{"forget drops it", func() { l.forget("org_1") }, "org_1", 4},
		{"another organization has its own copy", func() {}, "org_2", 5},
	}
	for _, tt := range tests {
		tt.before()
		users, err := l.users(ctx, tt.org)
		require.NoError(t, err, tt.name)
		assert.Len(t, users, 2, tt.name)
		assert.Equal(t, tt.wantCalls, idp.calls.Load(), tt.name)
	}
}

func TestListingSharesOneCallAndKeepsNoFailure(t *testing.T) {
	idp := &gatedLister{gate: make(chan struct{})}
	l := newListing(idp, nil, time.Minute, time.Now)

	// A viewer who gives up does not cancel the listing for the others.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.users(gone, "org_1")
	require.ErrorIs(t, err, context.Canceled)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			users, err := l.users(context.Background(), "org_1")
			assert.NoError(t, err)
			assert.Len(t, users, 2)
		})
	}
	close(idp.gate) // the listing answers only once everyone waits or has left
	wg.Wait()
	assert.EqualValues(t, 1, idp.calls.Load(), "eleven views, one listing")

	failing := &gatedLister{err: errors.New("idp down")}
	l = newListing(failing, nil, time.Minute, time.Now)
	_, err = l.users(context.Background(), "org_1")
	require.Error(t, err)
	_, err = l.users(context.Background(), "org_1")
	require.Error(t, err)
	assert.EqualValues(t, 2, failing.calls.Load(), "a failure is not kept: the next view tries again")
}

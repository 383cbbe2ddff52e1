package app

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// flakyIdP answers GetUser with acme, or with err while it is set, and
// counts the calls.
type flakyIdP struct {
	err   error
	calls int
}

var acme = scalekit.Membership{OrganizationID: "org_1", Name: "Acme Corp", Status: "ACTIVE"}

func (f *flakyIdP) GetUser(ctx context.Context, userID string) (*scalekit.User, error) {
	f.calls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	return &scalekit.User{ID: userID, Memberships: []scalekit.Membership{acme}}, nil
}

// While the IdP is down, a page asks it for the header's names once in
// orgDirectoryRetry, not on every request: each ask can wait up to
// orgDirectoryTimeout.
func TestTheOrganizationDirectoryDoesNotAskADownIdPOnEveryPage(t *testing.T) {
	down := errors.New("connection refused")
	tests := []struct {
		name      string
		upFirst   bool // the IdP answered once before it went down
		wantNames bool // the header still has names while it is down
	}{
		{"down from the start: no names, asked again after the retry time", false, false},
		{"down after a good answer: the last names stay", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testkit.NewClock(time.Unix(1_700_000_000, 0))
			idp := &flakyIdP{}
			d := newOrgDirectory(idp, clock.Now, slog.New(slog.DiscardHandler))
			ctx := context.Background()
			calls := 0
			if tt.upFirst {
				_, err := d.memberships(ctx, "usr_1")
				require.NoError(t, err)
				clock.Advance(orgDirectoryTTL) // the copy expires
				calls = 1
			}
			idp.err = down

			for range 3 {
				ms, err := d.memberships(ctx, "usr_1")
				if tt.wantNames {
					assert.NoError(t, err)
					assert.Equal(t, []scalekit.Membership{acme}, ms)
				} else {
					assert.ErrorIs(t, err, down)
				}
			}
			assert.Equal(t, calls+1, idp.calls, "one ask for three pages")

			clock.Advance(orgDirectoryRetry)
			idp.err = nil
			ms, err := d.memberships(ctx, "usr_1")
			require.NoError(t, err)
			assert.Equal(t, []scalekit.Membership{acme}, ms, "asked again once the retry time passed")
			assert.Equal(t, calls+2, idp.calls)
		})
	}
}

// A visitor who leaves mid-lookup is no sign the IdP is down: the next
// page asks again.
func TestAVisitorLeavingIsNotRememberedAsAnIdPFailure(t *testing.T) {
	idp := &flakyIdP{}
	d := newOrgDirectory(idp, testkit.NewClock(time.Unix(1_700_000_000, 0)).Now, slog.New(slog.DiscardHandler))
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.memberships(gone, "usr_1")
	require.ErrorIs(t, err, context.Canceled)

	ms, err := d.memberships(context.Background(), "usr_1")
	require.NoError(t, err)
	assert.Equal(t, []scalekit.Membership{acme}, ms)
	assert.Equal(t, 2, idp.calls)
}

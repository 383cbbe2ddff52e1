package members

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestRememberCallerKeepsTheProfileAndTheDirectorysWord(t *testing.T) {
	databasetest.Run(t, testRememberCallerKeepsTheProfileAndTheDirectorysWord)
}

func testRememberCallerKeepsTheProfileAndTheDirectorysWord(t *testing.T, e database.Engine) {
	ctx := context.Background()
	dir := newDirectory(t, e)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir.now = func() time.Time { return clock }
	member := func(id string) (Member, bool) {
		list, err := dir.List(ctx, "org_1")
		require.NoError(t, err)
		for _, m := range list {
			if m.UserID == id {
				return m, true
			}
		}
		return Member{}, false
	}

	// An API-only caller becomes a member, with the token's roles.
	require.NoError(t, dir.RememberCaller(ctx, &auth.Principal{Subject: "usr_api", OrgID: "org_1", Roles: []string{"viewer"}, IssuedAt: clock}))
	m, ok := member("usr_api")
	require.True(t, ok, "an API-only caller is a member")
	assert.Equal(t, []string{"viewer"}, m.Roles)

	// A signed-in member keeps the name and email the ID token gave.
	require.NoError(t, dir.Remember(ctx, &auth.Principal{Subject: "usr_alice", OrgID: "org_1", Name: "Alice Admin", Email: "alice@x", Roles: []string{"admin"}}))
	require.NoError(t, dir.RememberCaller(ctx, &auth.Principal{Subject: "usr_alice", OrgID: "org_1", Roles: []string{"admin", "viewer"}, IssuedAt: clock}))
	m, _ = member("usr_alice")
	assert.Equal(t, "Alice Admin", m.Name)
	assert.Equal(t, "alice@x", m.Email)
	assert.Equal(t, []string{"admin", "viewer"}, m.Roles)

	// The directory removes the caller: a token issued before that does not
	// bring them back; one issued after does.
	clock = clock.Add(time.Minute)
	require.NoError(t, dir.Forget(ctx, "org_1", "usr_api"))
	require.NoError(t, dir.RememberCaller(ctx, &auth.Principal{Subject: "usr_api", OrgID: "org_1", IssuedAt: clock.Add(-time.Second)}))
	_, ok = member("usr_api")
	assert.False(t, ok, "an older token does not undo the directory")
	require.NoError(t, dir.RememberCaller(ctx, &auth.Principal{Subject: "usr_api", OrgID: "org_1", IssuedAt: clock.Add(time.Second)}))
	_, ok = member("usr_api")
	assert.True(t, ok, "a token issued after the removal is the IdP's word that they are back")

	// No organization, no membership.
	require.NoError(t, dir.RememberCaller(ctx, &auth.Principal{Subject: "usr_x", IssuedAt: clock}))
}

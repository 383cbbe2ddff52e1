package members

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// newDirectory returns a Directory on a fresh database of engine e.
func newDirectory(t *testing.T, e database.Engine) *Directory {
	t.Helper()
	return NewDirectory(databasetest.OpenNew(t, e))
}

func TestSyncFollowsTheIdPButNotBackPastTheDirectory(t *testing.T) {
	databasetest.Run(t, testSyncFollowsTheIdPButNotBackPastTheDirectory)
}

func testSyncFollowsTheIdPButNotBackPastTheDirectory(t *testing.T, e database.Engine) {
	ctx := context.Background()
	dir := newDirectory(t, e)
	idp := &fakeIdP{roles: map[string][]string{"usr_alice": {"admin"}, "usr_bob": {"project_manager"}, "usr_carol": {"team_member"}}}
	ids := func() []string {
		list, err := dir.List(ctx, "org_1")
		require.NoError(t, err)
		var out []string
		for _, m := range list {
			out = append(out, m.UserID)
		}
		return out
	}

	// Alice signs in; Sync brings in the others, who never signed in here.
	require.NoError(t, dir.Remember(ctx, &auth.Principal{Subject: "usr_alice", OrgID: "org_1", Name: "Alice Admin", Roles: []string{"admin"}}))
	require.NoError(t, dir.Sync(ctx, idp, "org_1"))
	assert.ElementsMatch(t, []string{"usr_alice", "usr_bob", "usr_carol"}, ids())
	list, err := dir.List(ctx, "org_1")
	require.NoError(t, err)
	for _, m := range list {
		if m.UserID == "usr_alice" {
			assert.Equal(t, "Alice Admin", m.Name, "a name the IdP listing lacks is kept")
		}
		if m.UserID == "usr_bob" {
			assert.Equal(t, []string{"project_manager"}, m.Roles)
		}
	}

	// The directory says Carol left: Sync does not bring her back, even
	// though the IdP still lists her.
	require.NoError(t, dir.Forget(ctx, "org_1", "usr_carol"))
	require.NoError(t, dir.Sync(ctx, idp, "org_1"))
	assert.ElementsMatch(t, []string{"usr_alice", "usr_bob"}, ids())

	// Signing in again makes her a member again.
	require.NoError(t, dir.Remember(ctx, &auth.Principal{Subject: "usr_carol", OrgID: "org_1"}))
	require.NoError(t, dir.Sync(ctx, idp, "org_1"))
	assert.ElementsMatch(t, []string{"usr_alice", "usr_bob", "usr_carol"}, ids())

	// Bob is gone from the IdP: he goes here too.
	idp.mu.Lock()
	delete(idp.roles, "usr_bob")
	idp.mu.Unlock()
	require.NoError(t, dir.Sync(ctx, idp, "org_1"))
	assert.ElementsMatch(t, []string{"usr_alice", "usr_carol"}, ids())

	// An IdP that lists nobody is not believed.
	require.Error(t, dir.Sync(ctx, &fakeIdP{roles: map[string][]string{}}, "org_1"))
	assert.ElementsMatch(t, []string{"usr_alice", "usr_carol"}, ids())
}

// countingIdP counts member listings.
type countingIdP struct {
	fakeIdP
	lists int
}

func (c *countingIdP) ListOrganizationUsers(ctx context.Context, orgID string) ([]scalekit.User, error) {
	c.lists++
	return c.fakeIdP.ListOrganizationUsers(ctx, orgID)
}

func TestOrgSyncListsAnOrganizationAtMostOncePerInterval(t *testing.T) {
	databasetest.Run(t, testOrgSyncListsAnOrganizationAtMostOncePerInterval)
}

func testOrgSyncListsAnOrganizationAtMostOncePerInterval(t *testing.T, e database.Engine) {
	ctx := context.Background()
	cfg := databasetest.New(t, e)
	idp := &countingIdP{fakeIdP: fakeIdP{roles: map[string][]string{"usr_alice": {"admin"}}}}
	s := NewOrgSync(NewDirectory(databasetest.Open(t, cfg)), idp, time.Minute)
	other := NewOrgSync(NewDirectory(databasetest.Open(t, cfg)), idp, time.Minute) // another instance

	require.NoError(t, s.Refresh(ctx, "org_1"))
	require.NoError(t, s.Refresh(ctx, "org_1"))
	assert.Equal(t, 1, idp.lists, "the second sign-in within the minute lists nothing")
	require.NoError(t, other.Refresh(ctx, "org_1"))
	assert.Equal(t, 1, idp.lists, "nor one on another instance: the throttle is shared")
	assert.Error(t, s.Refresh(ctx, "org_2"), "another organization is its own (and the fake lists nobody there)")
	assert.Equal(t, 2, idp.lists)
	assert.Error(t, other.Refresh(ctx, "org_2"), "a failed sync is tried again at once, by any instance")
	assert.Equal(t, 3, idp.lists)

	// A minute passes, by the database's clock.
	_, err := s.dir.db.ExecContext(ctx, `UPDATE org_syncs SET started_at = started_at - 60000`)
	require.NoError(t, err)
	require.NoError(t, other.Refresh(ctx, "org_1"))
	assert.Equal(t, 4, idp.lists)
}

func TestAForgetDuringASyncIsNotUndone(t *testing.T) {
	databasetest.Run(t, testAForgetDuringASyncIsNotUndone)
}

// testAForgetDuringASyncIsNotUndone plays the interleaving that made a
// leaver assignable again on PostgreSQL: another instance's Forget of
// Carol is sent while Sync, which read that nobody left, is about to write
// the members the IdP lists (Carol among them, the IdP is late). Whichever
// commits first, Carol must end up out.
func testAForgetDuringASyncIsNotUndone(t *testing.T, e database.Engine) {
	ctx := context.Background()
	cfg := databasetest.New(t, e)
	syncer := NewDirectory(databasetest.Open(t, cfg))
	other := NewDirectory(databasetest.Open(t, cfg)) // another instance
	idp := &fakeIdP{roles: map[string][]string{"usr_alice": {"admin"}, "usr_carol": {"team_member"}}}
	require.NoError(t, syncer.Sync(ctx, idp, "org_1"))

	forgot := make(chan error, 1)
	syncer.afterLeftRead = func() {
		syncer.afterLeftRead = nil
		go func() { forgot <- other.Forget(ctx, "org_1", "usr_carol") }()
		// Let the Forget commit now if nothing holds it back; with the
		// organization's lock it waits for this transaction instead. On
		// PostgreSQL the wait is seen (an advisory lock not granted); SQLite
		// gives no sign of a writer waiting, so a moment is allowed: a
		// Forget that nothing holds back commits in a few milliseconds.
		moment := 300 * time.Millisecond
		if testing.Short() {
			moment = 100 * time.Millisecond
		}
		deadline := time.Now().Add(moment)
		for time.Now().Before(deadline) && len(forgot) == 0 {
			if e == database.Postgres && waitingForALock(t, other.db) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	require.NoError(t, syncer.Sync(ctx, idp, "org_1"))
	require.NoError(t, <-forgot)

	isMember, err := syncer.IsMember(ctx, "org_1", "usr_carol")
	require.NoError(t, err)
	assert.False(t, isMember, "the leaver stays out: the sync did not undo the Forget")
	isMember, err = syncer.IsMember(ctx, "org_1", "usr_alice")
	require.NoError(t, err)
	assert.True(t, isMember)
}

// waitingForALock reports whether a session of the test's database waits
// for an advisory lock.
func waitingForALock(t *testing.T, db *sql.DB) bool {
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`).Scan(&n))
	return n > 0
}

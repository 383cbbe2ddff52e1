package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestARequestBehindACrashedHolderIsAnswered503WithRetryAfter(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testARequestBehindACrashedHolderIsAnswered503WithRetryAfter)
}

// testARequestBehindACrashedHolderIsAnswered503WithRetryAfter: an instance
// died holding its organization's role-change lease, which has most of its
// minute to run. A role change waits a few seconds (changeWait, 5 s), not
// the whole minute, and is told when to come back; then, once the lease has
// lapsed, the same change goes through. Under -short the wait is 300 ms:
// the same path, without 5 s per engine.
func testARequestBehindACrashedHolderIsAnswered503WithRetryAfter(t *testing.T, engine database.Engine) {
	opts := apptest.Options{Engine: engine}
	if testing.Short() {
		opts.RoleChangeWait = 300 * time.Millisecond
	}
	e := apptest.Start(t, opts)
	alice, bob := e.User("alice@acme.example"), e.User("bob@acme.example")
	admin := e.SignIn(alice)
	members := apptest.ParseHTML(t, admin.Get("/members").Body)
	action, ok := members.Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, bob.ID)).Attr("action")
	require.True(t, ok, "the admin sees a role picker for Bob")

	db, d := databasetest.Open(t, e.Config.Database())
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `INSERT INTO leases (name, holder, until) VALUES ($1, 'crashed', `+d.Now()+` + 50000)`,
		"org-roles:"+alice.OrgID)
	require.NoError(t, err)

	start := time.Now()
	resp := admin.Post(action, url.Values{"role": {"team_member"}})
	waited := time.Since(start)
	t.Logf("answered %d after %v", resp.StatusCode, waited.Round(time.Millisecond))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After says when to come back")
	assert.Positive(t, retry)
	assert.Less(t, waited, 40*time.Second, "well before the crashed holder's lease lapses (a generous bound for a loaded machine)")
	assert.Equal(t, []string{"project_manager"}, e.IdPRoles(bob.ID), "nothing changed")

	_, err = db.ExecContext(ctx, `UPDATE leases SET until = 0 WHERE holder = 'crashed'`) // it lapses
	require.NoError(t, err)
	resp = admin.Post(action, url.Values{"role": {"team_member"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, []string{"team_member"}, e.IdPRoles(bob.ID))
}

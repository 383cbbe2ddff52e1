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

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestARequestBehindACrashedHolderIsAnswered503WithRetryAfter(t *testing.T) {
	t.Parallel()
	eachEngine(t, testARequestBehindACrashedHolderIsAnswered503WithRetryAfter)
}

// testARequestBehindACrashedHolderIsAnswered503WithRetryAfter: an instance
// died holding its organization's role-change lease, which has most of its
// minute to run. A role change waits a few seconds (changeWait, 5 s), not
// the whole minute, and is told when to come back; then, once the lease has
// lapsed, the same change goes through. Under -short the wait is 300 ms:
// the same path, without 5 s per engine.
func testARequestBehindACrashedHolderIsAnswered503WithRetryAfter(t *testing.T, engine database.Engine) {
	opts := envOptions{engine: engine}
	if testing.Short() {
		opts.roleChangeWait = 300 * time.Millisecond
	}
	e := startEnv(t, opts)
	alice, bob := e.user("alice@acme.example"), e.user("bob@acme.example")
	admin := e.signIn(alice)
	members := parseHTML(t, admin.get("/members").Body)
	action, ok := members.Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, bob.ID)).Attr("action")
	require.True(t, ok, "the admin sees a role picker for Bob")

	db, d := databasetest.Open(t, e.cfg.Database())
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `INSERT INTO leases (name, holder, until) VALUES ($1, 'crashed', `+d.Now()+` + 50000)`,
		"org-roles:"+alice.OrgID)
	require.NoError(t, err)

	start := time.Now()
	resp := admin.post(action, url.Values{"role": {"team_member"}})
	waited := time.Since(start)
	t.Logf("answered %d after %v", resp.StatusCode, waited.Round(time.Millisecond))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After says when to come back")
	assert.Positive(t, retry)
	assert.Less(t, waited, 40*time.Second, "well before the crashed holder's lease lapses (a generous bound for a loaded machine)")
	assert.Equal(t, []string{"project_manager"}, e.rolesAtIdP(bob.ID), "nothing changed")

	_, err = db.ExecContext(ctx, `UPDATE leases SET until = 0 WHERE holder = 'crashed'`) // it lapses
	require.NoError(t, err)
	resp = admin.post(action, url.Values{"role": {"team_member"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, []string{"team_member"}, e.rolesAtIdP(bob.ID))
}

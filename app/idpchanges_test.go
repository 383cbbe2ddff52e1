package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// roleChangedRefusal asserts that the API refused a token as one issued
// before a role change.
func roleChangedRefusal(t *testing.T, r apptest.Response) {
	t.Helper()
	assert.Equal(t, http.StatusUnauthorized, r.StatusCode, r.Body)
	assert.Contains(t, apptest.Decode[map[string]string](t, r)["error_description"], "roles changed")
}

func TestARoleChangeInTheDashboardTakesEffectOnTheNextRequest(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testARoleChangeInTheDashboardTakesEffectOnTheNextRequest)
}

func testARoleChangeInTheDashboardTakesEffectOnTheNextRequest(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0)
	e := apptest.Start(t, apptest.Options{Engine: engine, IdPWebhooks: true, IdPNow: clock.Now})
	carol := e.User("carol@acme.example")
	b := e.SignIn(carol)
	old := e.Token(carol)
	require.Equal(t, http.StatusForbidden, b.Post("/projects", nil).StatusCode)

	// An admin promotes Carol in Scalekit's dashboard, not in the app; the
	// IdP reports it with user.organization_membership_updated.
	require.NoError(t, e.IdP.SetUserRoles(carol.ID, []string{"project_manager"}))

	page := apptest.ParseHTML(t, b.Get("/projects").Body)
	assert.Equal(t, "project_manager", apptest.Text(page, `[data-testid="user-roles"]`), "her session refreshed at once")
	assert.Equal(t, 1, page.Find(`[data-testid="new-project"]`).Length())
	roleChangedRefusal(t, e.API(old, "GET", "/api/projects", nil))
	clock.Advance(time.Second) // the next second of the IdP's clock: a new token
	assert.Equal(t, http.StatusCreated, e.API(e.Token(carol), "POST", "/api/projects", map[string]string{"name": "Hers"}).StatusCode)
}

func TestAChangedRoleMakesItsOrganizationsTokensStale(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAChangedRoleMakesItsOrganizationsTokensStale)
}

func testAChangedRoleMakesItsOrganizationsTokensStale(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0)
	e := apptest.Start(t, apptest.Options{Engine: engine, IdPWebhooks: true, IdPNow: clock.Now})
	carol, dave, erin := e.User("carol@acme.example"), e.User("dave@acme.example"), e.User("erin@globex.example")
	c, err := scalekit.New(scalekit.Config{EnvironmentURL: e.IdP.URL(), ClientID: mockidp.DemoClientID, ClientSecret: mockidp.DemoClientSecret})
	require.NoError(t, err)
	ctx := context.Background()
	works := func(u mockidp.User, tok string) int { return e.API(tok, "GET", "/api/projects", nil).StatusCode }
	type tokens struct{ carol, dave, erin string }
	mint := func() tokens {
		clock.Advance(time.Second) // tokens of a later second than any change so far
		return tokens{e.Token(carol), e.Token(dave), e.Token(erin)}
	}

	// An organization's own role changes: Acme's tokens, not Globex's.
	before := mint()
	_, err = c.CreateOrganizationRole(ctx, carol.OrgID, scalekit.NewRole{Name: "auditor", DisplayName: "Auditor", Permissions: []string{"projects:read"}})
	require.NoError(t, err)
	roleChangedRefusal(t, e.API(before.carol, "GET", "/api/projects", nil))
	roleChangedRefusal(t, e.API(before.dave, "GET", "/api/projects", nil))
	assert.Equal(t, http.StatusOK, works(erin, before.erin), "another organization's tokens are unaffected")
	after := mint()
	assert.Equal(t, http.StatusOK, works(carol, after.carol), "tokens issued after the change are fresh")

	// An environment's role changes: every organization's tokens.
	before = mint()
	display := "Viewer (read only)"
	_, err = c.UpdateRole(ctx, "viewer", scalekit.RoleUpdate{DisplayName: &display})
	require.NoError(t, err)
	for name, tok := range map[string]string{"carol": before.carol, "dave": before.dave, "erin": before.erin} {
		t.Run(name, func(t *testing.T) { roleChangedRefusal(t, e.API(tok, "GET", "/api/projects", nil)) })
	}
	after = mint()
	assert.Equal(t, http.StatusOK, works(erin, after.erin))
}

func TestTokensMintedBeforeADemotionAreStaleWhenTheIdPClockRunsAhead(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTokensMintedBeforeADemotionAreStaleWhenTheIdPClockRunsAhead)
}

func testTokensMintedBeforeADemotionAreStaleWhenTheIdPClockRunsAhead(t *testing.T, engine database.Engine) {
	// The IdP's clock is 15 s ahead of the app's (within the 30 s the
	// verifier tolerates): its tokens' iat is 15 s "later" than the app
	// would date them.
	clock := testkit.NewOffsetClock(15 * time.Second)
	e := apptest.Start(t, apptest.Options{Engine: engine, IdPNow: clock.Now})
	alice, bob := e.User("alice@acme.example"), e.User("bob@acme.example")
	admin := e.SignIn(alice)
	bobBrowser := e.SignIn(bob)
	bobToken := e.Token(bob)
	require.Equal(t, http.StatusOK, e.API(bobToken, "GET", "/api/projects", nil).StatusCode)

	members := apptest.ParseHTML(t, admin.Get("/members").Body)
	action, ok := members.Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, bob.ID)).Attr("action")
	require.True(t, ok)
	require.Equal(t, http.StatusSeeOther, admin.Post(action, url.Values{"role": {"team_member"}}).StatusCode)

	roleChangedRefusal(t, e.API(bobToken, "POST", "/api/projects", map[string]string{"name": "After"}))

	// The session refreshes once, then its new token is fresh: no
	// refresh on every request (a refresh saves the session and sets its
	// cookie again).
	first := bobBrowser.Get("/projects")
	assert.Equal(t, "team_member", apptest.Text(apptest.ParseHTML(t, first.Body), `[data-testid="user-roles"]`))
	assert.NotEmpty(t, first.Header.Values("Set-Cookie"), "the stale session refreshed")
	for range 3 {
		again := bobBrowser.Get("/projects")
		assert.Equal(t, http.StatusOK, again.StatusCode)
		assert.Empty(t, again.Header.Values("Set-Cookie"), "and does not refresh again")
	}

	clock.Advance(time.Second) // the IdP's next second: a token minted after the change
	fresh := e.Token(bob)
	assert.Equal(t, http.StatusForbidden, e.API(fresh, "POST", "/api/projects", map[string]string{"name": "After"}).StatusCode, "the new role")
	assert.Equal(t, http.StatusOK, e.API(fresh, "GET", "/api/projects", nil).StatusCode)
}

func TestADashboardChangeIsDatedByTheIdPsClock(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testADashboardChangeIsDatedByTheIdPsClock)
}

func testADashboardChangeIsDatedByTheIdPsClock(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(15 * time.Second)
	e := apptest.Start(t, apptest.Options{Engine: engine, IdPWebhooks: true, IdPNow: clock.Now})
	bob := e.User("bob@acme.example")
	old := e.Token(bob)
	require.NoError(t, e.IdP.SetUserRoles(bob.ID, []string{"viewer"}))
	roleChangedRefusal(t, e.API(old, "GET", "/api/projects", nil))
	clock.Advance(time.Second)
	assert.Equal(t, http.StatusOK, e.API(e.Token(bob), "GET", "/api/projects", nil).StatusCode,
		"a token minted after the change works at once: no margin to wait out")
}

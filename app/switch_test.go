package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// The demo organizations, and Casey, who belongs to both (mockidp.DemoCast).
const (
	acmeID    = "org_100000000000000001"
	globexID  = "org_200000000000000001"
	caseyMail = "casey@consulting.example"
)

// header is what the layout's header says of the organization.
type header struct {
	name, id string
	options  []string // the switcher's, by name; nil without a switcher
	selected string
}

func pageHeader(t *testing.T, b *apptest.Browser, path string) header {
	t.Helper()
	resp := b.Get(path)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	doc := apptest.ParseHTML(t, resp.Body)
	h := header{name: apptest.Text(doc, `[data-testid="org-name"]`), id: apptest.Text(doc, `[data-testid="user-org"]`)}
	doc.Find(`[data-testid="org-select"] option`).Each(func(_ int, o *goquery.Selection) {
		h.options = append(h.options, o.Text())
		if _, ok := o.Attr("selected"); ok {
			h.selected = o.AttrOr("value", "")
		}
	})
	return h
}

func TestConsultantSwitchesOrganizations(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testConsultantSwitchesOrganizations)
}

func testConsultantSwitchesOrganizations(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine, Users: mockidp.DemoCast()})
	casey := e.User(caseyMail)
	b := e.NewBrowser()
	b.SignInTo(apptest.InOrg(t, casey, acmeID), "/projects") // through the IdP's organization chooser

	// In Acme, as project_manager: the header names Acme and offers Globex.
	assert.Equal(t, header{name: "Acme Corp", id: acmeID, options: []string{"Acme Corp", "Globex Inc"}, selected: acmeID}, pageHeader(t, b, "/projects"))
	assert.Equal(t, apptest.AccessClaims{OrgID: acmeID, Roles: []string{"project_manager"}}, withoutJTI(b.AccessClaims()))
	resp := b.Post("/projects", url.Values{"name": {"Acme launch"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	acmeProject := resp.Header.Get("Location")
	require.Regexp(t, `^/projects/\d+$`, acmeProject)
	acmeSession := b.SessionCookie()

	// To Globex: a new sign-in at the IdP, landing on the same page.
	resp = b.SwitchOrganization(globexID, "/projects")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, "/projects", resp.Header.Get("Location"))
	assert.NotEqual(t, acmeSession.Value, b.SessionCookie().Value, "a new session id")
	old := e.NewBrowser()
	old.Client.Jar.SetCookies(apptest.MustURL(t, e.URL), []*http.Cookie{acmeSession})
	assert.Equal(t, http.StatusFound, old.Get("/projects").StatusCode, "the Acme session was deleted: its cookie signs nobody in")

	// In Globex, as viewer: everything follows the new token alone.
	assert.Equal(t, header{name: "Globex Inc", id: globexID, options: []string{"Acme Corp", "Globex Inc"}, selected: globexID}, pageHeader(t, b, "/projects"))
	assert.Equal(t, apptest.AccessClaims{OrgID: globexID, Roles: []string{"viewer"}}, withoutJTI(b.AccessClaims()))
	assert.Equal(t, http.StatusForbidden, b.Post("/projects", url.Values{"name": {"Into Globex?"}}).StatusCode, "a viewer cannot create")
	assert.Equal(t, http.StatusNotFound, b.Get(acmeProject).StatusCode, "Acme's project is not found from Globex")
	assert.NotContains(t, b.Get("/projects").Body, "Acme launch", "nor listed")
	assert.Equal(t, http.StatusForbidden, b.Get("/members").StatusCode, "a Globex viewer may not list members, whatever Casey may in Acme")
	globexToken := e.Token(apptest.InOrg(t, casey, globexID))
	assert.Equal(t, http.StatusNotFound, e.API(globexToken, "GET", "/api"+acmeProject, nil).StatusCode, "a Globex token gets 404 on Acme's data")

	// And back to Acme, from a page every organization has.
	resp = b.SwitchOrganization(acmeID, "/me")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, "/me", resp.Header.Get("Location"))
	assert.Equal(t, "Acme Corp", pageHeader(t, b, "/projects").name)
	assert.Equal(t, apptest.AccessClaims{OrgID: acmeID, Roles: []string{"project_manager"}}, withoutJTI(b.AccessClaims()))
	assert.Equal(t, http.StatusOK, b.Get(acmeProject).StatusCode)
	assert.Equal(t, http.StatusSeeOther, b.Post("/projects", url.Values{"name": {"Acme again"}}).StatusCode)
	members := b.Get("/members")
	require.Equal(t, http.StatusOK, members.StatusCode)
	assert.Contains(t, members.Body, "Alice Admin", "Acme's members")
	assert.NotContains(t, members.Body, "Erin Admin", "not Globex's")
}

func withoutJTI(c apptest.AccessClaims) apptest.AccessClaims { c.JTI = ""; return c }

func TestSwitchOrganizationRefusesBadInput(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testSwitchOrganizationRefusesBadInput)
}

func testSwitchOrganizationRefusesBadInput(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine, Users: mockidp.DemoCast()})
	casey := e.User(caseyMail)
	b := e.NewBrowser()
	b.SignInTo(apptest.InOrg(t, casey, acmeID), "/")
	before := b.AccessClaims()
	cookie := b.SessionCookie().Value

	stillInAcme := func(t *testing.T) {
		t.Helper()
		assert.Equal(t, cookie, b.SessionCookie().Value, "the same session")
		assert.Equal(t, before, b.AccessClaims(), "the same token, of Acme")
	}
	for _, tt := range []struct{ name, orgID string }{
		{"missing", ""},
		{"not an organization id", "acme"},
		{"a path", "org_1/../../admin"},
		{"a query", "org_1&prompt=none"},
		{"too long", "org_" + strings.Repeat("1", 65)},
	} {
		t.Run("malformed/"+tt.name, func(t *testing.T) {
			resp := b.Post("/switch-organization", url.Values{"organization_id": {tt.orgID}, "return_to": {"/projects"}})
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, apptest.Text(apptest.ParseHTML(t, resp.Body), ".error-page"), "organization_id must be an organization id")
			stillInAcme(t)
		})
	}

	t.Run("not a member, as the IdP says", func(t *testing.T) {
		bob := e.SignIn(e.User("bob@acme.example"))
		resp := bob.Post("/switch-organization", url.Values{"organization_id": {globexID}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, apptest.Text(apptest.ParseHTML(t, resp.Body), ".error-page"), "You are not a member of organization "+globexID)
		assert.Equal(t, acmeID, bob.AccessClaims().OrgID)
	})

	t.Run("an IdP that answers for another organization", func(t *testing.T) {
		// As a provider that ignores organization_id would: the token is
		// Casey's, valid, but of Acme. The switch asked for Globex.
		e.IdP.TamperNextTokens(mockidp.Tamper{AccessClaims: func(c map[string]any) { c["oid"] = acmeID }})
		resp := b.SwitchOrganization(globexID, "/projects")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, apptest.Text(apptest.ParseHTML(t, resp.Body), ".error-page"), "not of "+globexID+", the one asked for")
		stillInAcme(t)
	})

	t.Run("another user comes back", func(t *testing.T) {
		bob := e.User("bob@acme.example")
		e.IdP.TamperNextTokens(mockidp.Tamper{
			IDClaims:     func(c map[string]any) { c["sub"] = bob.ID },
			AccessClaims: func(c map[string]any) { c["sub"] = bob.ID },
		})
		resp := b.SwitchOrganization(globexID, "/projects")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, apptest.Text(apptest.ParseHTML(t, resp.Body), ".error-page"), "another user than the one switching")
		stillInAcme(t)
	})

	t.Run("refused by the IdP", func(t *testing.T) {
		// The app's list says Casey is in Globex (it read it for the
		// header); the IdP removed her since. The IdP has the last word.
		require.Equal(t, []string{"Acme Corp", "Globex Inc"}, pageHeader(t, b, "/projects").options)
		_, err := e.IdP.RemoveMembership(casey.ID, globexID)
		require.NoError(t, err)
		resp := b.SwitchOrganization(globexID, "/projects")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		page := apptest.Text(apptest.ParseHTML(t, resp.Body), ".error-page")
		assert.Contains(t, page, "Sign-in failed")
		assert.Contains(t, page, "did not let you into organization "+globexID+" (access_denied)")
		stillInAcme(t)
		assert.Nil(t, pageHeader(t, b, "/projects").options, "the header reads the memberships afresh after a switch: one left, no switcher")
	})
}

func TestDemotionInOneOrganizationLeavesTheOtherAlone(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testDemotionInOneOrganizationLeavesTheOtherAlone)
}

func testDemotionInOneOrganizationLeavesTheOtherAlone(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine, Users: mockidp.DemoCast()})
	casey := e.User(caseyMail)
	inAcme, inGlobex := e.NewBrowser(), e.NewBrowser()
	inAcme.SignInTo(apptest.InOrg(t, casey, acmeID), "/")
	inGlobex.SignInTo(apptest.InOrg(t, casey, globexID), "/")
	globexBefore := inGlobex.AccessClaims()
	globexToken := e.Token(apptest.InOrg(t, casey, globexID))
	require.Equal(t, http.StatusSeeOther, inAcme.Post("/projects", url.Values{"name": {"Before"}}).StatusCode)

	// Alice, Acme's admin, makes Casey a viewer there, on the members page.
	alice := e.SignIn(e.User("alice@acme.example"))
	resp := alice.Post("/members/"+casey.ID+"/role", url.Values{"role": {"viewer"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)

	// At once in Acme: the next request refreshes the token.
	assert.Equal(t, http.StatusForbidden, inAcme.Post("/projects", url.Values{"name": {"After"}}).StatusCode)
	assert.Equal(t, []string{"viewer"}, inAcme.AccessClaims().Roles)
	// Nothing in Globex: the same token, the same roles.
	assert.Equal(t, globexBefore, inGlobex.AccessClaims(), "the Globex session kept its token")
	assert.Equal(t, http.StatusOK, e.API(globexToken, "GET", "/api/projects", nil).StatusCode, "a Globex token minted before is still good")
	m, ok := e.User(caseyMail).Membership(globexID)
	require.True(t, ok)
	assert.Equal(t, []string{"viewer"}, m.Roles)
}

func TestRefreshKeepsTheOrganizationOfTheSignIn(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testRefreshKeepsTheOrganizationOfTheSignIn)
}

func testRefreshKeepsTheOrganizationOfTheSignIn(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0) // the app's and the IdP's
	e := apptest.Start(t, apptest.Options{Engine: engine, Users: mockidp.DemoCast(), AccessTokenTTL: 2 * time.Second, AppNow: clock.Now, IdPNow: clock.Now})
	b := e.NewBrowser()
	b.SignInTo(apptest.InOrg(t, e.User(caseyMail), globexID), "/")
	first := b.AccessClaims()
	require.Equal(t, globexID, first.OrgID)

	for i := range 2 {
		clock.Advance(2500 * time.Millisecond) // past the access token's expiry
		got := b.AccessClaims()
		assert.NotEqual(t, first.JTI, got.JTI, fmt.Sprintf("refresh %d: a new token", i+1))
		assert.Equal(t, apptest.AccessClaims{OrgID: globexID, Roles: []string{"viewer"}}, withoutJTI(got), "refresh %d: still Globex", i+1)
		first = got
	}
}

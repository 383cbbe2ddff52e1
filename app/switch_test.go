package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// The demo organizations, and Casey, who belongs to both (mockidp.DemoCast).
const (
	acmeID    = "org_100000000000000001"
	globexID  = "org_200000000000000001"
	caseyMail = "casey@consulting.example"
)

// switchOrganization posts the header's switcher from page from, follows
// the app's redirect to the IdP (which, with the login_hint the app sends,
// answers at once) and the IdP's back to the callback, and returns the
// callback's answer.
func (b *browser) switchOrganization(orgID, from string) response {
	b.t.Helper()
	resp := b.post("/switch-organization", url.Values{"organization_id": {orgID}, "return_to": {from}})
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "switch: %.300s", resp.Body)
	authorize := mustURL(b.t, resp.Header.Get("Location"))
	require.True(b.t, strings.HasPrefix(authorize.String(), b.e.IdP.URL()+"/oauth/authorize"), "a new authorization at the IdP")
	q := authorize.Query()
	assert.Equal(b.t, orgID, q.Get("organization_id"))
	assert.Equal(b.t, "select_account", q.Get("prompt"))
	assert.NotEmpty(b.t, q.Get("code_challenge"), "PKCE, as for any sign-in")
	resp = b.do("GET", authorize.String(), nil, "")
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "IdP: %.300s", resp.Body)
	callback := resp.Header.Get("Location")
	require.True(b.t, strings.HasPrefix(callback, b.e.URL+"/auth/callback"), "IdP redirects to the callback, got %s", callback)
	return b.do("GET", callback, nil, "")
}

// accessClaims are the claims of the session's access token, as /me shows
// them.
type accessClaims struct {
	OrgID string   `json:"oid"`
	Roles []string `json:"roles"`
	JTI   string   `json:"jti"`
}

func (b *browser) accessClaims() accessClaims {
	b.t.Helper()
	resp := b.get("/me")
	require.Equal(b.t, http.StatusOK, resp.StatusCode, resp.Body)
	var c accessClaims
	require.NoError(b.t, json.Unmarshal([]byte(text(parseHTML(b.t, resp.Body), `[data-testid="access-claims"]`)), &c))
	return c
}

// sessionCookie is the browser's session cookie for the app.
func (b *browser) sessionCookie() *http.Cookie {
	b.t.Helper()
	for _, c := range b.client.Jar.Cookies(mustURL(b.t, b.e.URL)) {
		if c.Name == "session" {
			return c
		}
	}
	b.t.Fatal("no session cookie")
	return nil
}

// header is what the layout's header says of the organization.
type header struct {
	name, id string
	options  []string // the switcher's, by name; nil without a switcher
	selected string
}

func (b *browser) header(path string) header {
	b.t.Helper()
	resp := b.get(path)
	require.Equal(b.t, http.StatusOK, resp.StatusCode, resp.Body)
	doc := parseHTML(b.t, resp.Body)
	h := header{name: text(doc, `[data-testid="org-name"]`), id: text(doc, `[data-testid="user-org"]`)}
	doc.Find(`[data-testid="org-select"] option`).Each(func(_ int, o *goquerySelection) {
		h.options = append(h.options, o.Text())
		if _, ok := o.Attr("selected"); ok {
			h.selected = o.AttrOr("value", "")
		}
	})
	return h
}

func TestConsultantSwitchesOrganizations(t *testing.T) {
	t.Parallel()
	eachEngine(t, testConsultantSwitchesOrganizations)
}

func testConsultantSwitchesOrganizations(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine, users: mockidp.DemoCast()})
	casey := e.user(caseyMail)
	b := e.newBrowser()
	b.mustSignIn(inOrg(t, casey, acmeID), "/projects") // through the IdP's organization chooser

	// In Acme, as project_manager: the header names Acme and offers Globex.
	assert.Equal(t, header{name: "Acme Corp", id: acmeID, options: []string{"Acme Corp", "Globex Inc"}, selected: acmeID}, b.header("/projects"))
	assert.Equal(t, accessClaims{OrgID: acmeID, Roles: []string{"project_manager"}}, withoutJTI(b.accessClaims()))
	resp := b.post("/projects", url.Values{"name": {"Acme launch"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	acmeProject := resp.Header.Get("Location")
	require.Regexp(t, `^/projects/\d+$`, acmeProject)
	acmeSession := b.sessionCookie()

	// To Globex: a new sign-in at the IdP, landing on the same page.
	resp = b.switchOrganization(globexID, "/projects")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, "/projects", resp.Header.Get("Location"))
	assert.NotEqual(t, acmeSession.Value, b.sessionCookie().Value, "a new session id")
	old := e.newBrowser()
	old.client.Jar.SetCookies(mustURL(t, e.URL), []*http.Cookie{acmeSession})
	assert.Equal(t, http.StatusFound, old.get("/projects").StatusCode, "the Acme session was deleted: its cookie signs nobody in")

	// In Globex, as viewer: everything follows the new token alone.
	assert.Equal(t, header{name: "Globex Inc", id: globexID, options: []string{"Acme Corp", "Globex Inc"}, selected: globexID}, b.header("/projects"))
	assert.Equal(t, accessClaims{OrgID: globexID, Roles: []string{"viewer"}}, withoutJTI(b.accessClaims()))
	assert.Equal(t, http.StatusForbidden, b.post("/projects", url.Values{"name": {"Into Globex?"}}).StatusCode, "a viewer cannot create")
	assert.Equal(t, http.StatusNotFound, b.get(acmeProject).StatusCode, "Acme's project is not found from Globex")
	assert.NotContains(t, b.get("/projects").Body, "Acme launch", "nor listed")
	assert.Equal(t, http.StatusForbidden, b.get("/members").StatusCode, "a Globex viewer may not list members, whatever Casey may in Acme")
	globexToken := e.token(inOrg(t, casey, globexID))
	assert.Equal(t, http.StatusNotFound, e.api(globexToken, "GET", "/api"+acmeProject, nil).StatusCode, "a Globex token gets 404 on Acme's data")

	// And back to Acme, from a page every organization has.
	resp = b.switchOrganization(acmeID, "/me")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, "/me", resp.Header.Get("Location"))
	assert.Equal(t, "Acme Corp", b.header("/projects").name)
	assert.Equal(t, accessClaims{OrgID: acmeID, Roles: []string{"project_manager"}}, withoutJTI(b.accessClaims()))
	assert.Equal(t, http.StatusOK, b.get(acmeProject).StatusCode)
	assert.Equal(t, http.StatusSeeOther, b.post("/projects", url.Values{"name": {"Acme again"}}).StatusCode)
	members := b.get("/members")
	require.Equal(t, http.StatusOK, members.StatusCode)
	assert.Contains(t, members.Body, "Alice Admin", "Acme's members")
	assert.NotContains(t, members.Body, "Erin Admin", "not Globex's")
}

func withoutJTI(c accessClaims) accessClaims { c.JTI = ""; return c }

func TestSwitchOrganizationRefusesBadInput(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSwitchOrganizationRefusesBadInput)
}

func testSwitchOrganizationRefusesBadInput(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine, users: mockidp.DemoCast()})
	casey := e.user(caseyMail)
	b := e.newBrowser()
	b.mustSignIn(inOrg(t, casey, acmeID), "/")
	before := b.accessClaims()
	cookie := b.sessionCookie().Value

	stillInAcme := func(t *testing.T) {
		t.Helper()
		assert.Equal(t, cookie, b.sessionCookie().Value, "the same session")
		assert.Equal(t, before, b.accessClaims(), "the same token, of Acme")
	}
	for _, tt := range []struct{ name, orgID string }{
		{"missing", ""},
		{"not an organization id", "acme"},
		{"a path", "org_1/../../admin"},
		{"a query", "org_1&prompt=none"},
		{"too long", "org_" + strings.Repeat("1", 65)},
	} {
		t.Run("malformed/"+tt.name, func(t *testing.T) {
			resp := b.post("/switch-organization", url.Values{"organization_id": {tt.orgID}, "return_to": {"/projects"}})
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, text(parseHTML(t, resp.Body), ".error-page"), "organization_id must be an organization id")
			stillInAcme(t)
		})
	}

	t.Run("not a member, as the IdP says", func(t *testing.T) {
		bob := e.signIn(e.user("bob@acme.example"))
		resp := bob.post("/switch-organization", url.Values{"organization_id": {globexID}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, text(parseHTML(t, resp.Body), ".error-page"), "You are not a member of organization "+globexID)
		assert.Equal(t, acmeID, bob.accessClaims().OrgID)
	})

	t.Run("an IdP that answers for another organization", func(t *testing.T) {
		// As a provider that ignores organization_id would: the token is
		// Casey's, valid, but of Acme. The switch asked for Globex.
		e.IdP.TamperNextTokens(mockidp.Tamper{AccessClaims: func(c map[string]any) { c["oid"] = acmeID }})
		resp := b.switchOrganization(globexID, "/projects")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, text(parseHTML(t, resp.Body), ".error-page"), "not of "+globexID+", the one asked for")
		stillInAcme(t)
	})

	t.Run("another user comes back", func(t *testing.T) {
		bob := e.user("bob@acme.example")
		e.IdP.TamperNextTokens(mockidp.Tamper{
			IDClaims:     func(c map[string]any) { c["sub"] = bob.ID },
			AccessClaims: func(c map[string]any) { c["sub"] = bob.ID },
		})
		resp := b.switchOrganization(globexID, "/projects")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, text(parseHTML(t, resp.Body), ".error-page"), "another user than the one switching")
		stillInAcme(t)
	})

	t.Run("refused by the IdP", func(t *testing.T) {
		// The app's list says Casey is in Globex (it read it for the
		// header); the IdP removed her since. The IdP has the last word.
		require.Equal(t, []string{"Acme Corp", "Globex Inc"}, b.header("/projects").options)
		_, err := e.IdP.RemoveMembership(casey.ID, globexID)
		require.NoError(t, err)
		resp := b.switchOrganization(globexID, "/projects")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		page := text(parseHTML(t, resp.Body), ".error-page")
		assert.Contains(t, page, "Sign-in failed")
		assert.Contains(t, page, "did not let you into organization "+globexID+" (access_denied)")
		stillInAcme(t)
		assert.Nil(t, b.header("/projects").options, "the header reads the memberships afresh after a switch: one left, no switcher")
	})
}

func TestDemotionInOneOrganizationLeavesTheOtherAlone(t *testing.T) {
	t.Parallel()
	eachEngine(t, testDemotionInOneOrganizationLeavesTheOtherAlone)
}

func testDemotionInOneOrganizationLeavesTheOtherAlone(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine, users: mockidp.DemoCast()})
	casey := e.user(caseyMail)
	inAcme, inGlobex := e.newBrowser(), e.newBrowser()
	inAcme.mustSignIn(inOrg(t, casey, acmeID), "/")
	inGlobex.mustSignIn(inOrg(t, casey, globexID), "/")
	globexBefore := inGlobex.accessClaims()
	globexToken := e.token(inOrg(t, casey, globexID))
	require.Equal(t, http.StatusSeeOther, inAcme.post("/projects", url.Values{"name": {"Before"}}).StatusCode)

	// Alice, Acme's admin, makes Casey a viewer there, on the members page.
	alice := e.signIn(e.user("alice@acme.example"))
	resp := alice.post("/members/"+casey.ID+"/role", url.Values{"role": {"viewer"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)

	// At once in Acme: the next request refreshes the token.
	assert.Equal(t, http.StatusForbidden, inAcme.post("/projects", url.Values{"name": {"After"}}).StatusCode)
	assert.Equal(t, []string{"viewer"}, inAcme.accessClaims().Roles)
	// Nothing in Globex: the same token, the same roles.
	assert.Equal(t, globexBefore, inGlobex.accessClaims(), "the Globex session kept its token")
	assert.Equal(t, http.StatusOK, e.api(globexToken, "GET", "/api/projects", nil).StatusCode, "a Globex token minted before is still good")
	m, ok := e.user(caseyMail).Membership(globexID)
	require.True(t, ok)
	assert.Equal(t, []string{"viewer"}, m.Roles)
}

func TestRefreshKeepsTheOrganizationOfTheSignIn(t *testing.T) {
	t.Parallel()
	eachEngine(t, testRefreshKeepsTheOrganizationOfTheSignIn)
}

func testRefreshKeepsTheOrganizationOfTheSignIn(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0) // the app's and the IdP's
	e := startEnv(t, envOptions{engine: engine, users: mockidp.DemoCast(), accessTokenTTL: 2 * time.Second, appNow: clock.Now, idpNow: clock.Now})
	b := e.newBrowser()
	b.mustSignIn(inOrg(t, e.user(caseyMail), globexID), "/")
	first := b.accessClaims()
	require.Equal(t, globexID, first.OrgID)

	for i := range 2 {
		clock.Advance(2500 * time.Millisecond) // past the access token's expiry
		got := b.accessClaims()
		assert.NotEqual(t, first.JTI, got.JTI, fmt.Sprintf("refresh %d: a new token", i+1))
		assert.Equal(t, accessClaims{OrgID: globexID, Roles: []string{"viewer"}}, withoutJTI(got), "refresh %d: still Globex", i+1)
		first = got
	}
}

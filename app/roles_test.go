package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// rolesAtIdP returns the user's roles as the IdP has them now.
func (e *env) rolesAtIdP(userID string) []string {
	e.t.Helper()
	for _, u := range e.IdP.Users() {
		if u.ID == userID {
			return u.Roles
		}
	}
	e.t.Fatalf("no user %s at the IdP", userID)
	return nil
}

// auditRows returns the audit page's rows as the given admin sees them.
func auditRows(t *testing.T, admin *browser) []string {
	t.Helper()
	resp := admin.get("/audit")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc := parseHTML(t, resp.Body)
	return doc.Find(`[data-testid="audit-log"] tbody tr`).Map(func(_ int, s *goquerySelection) string {
		return strings.Join(strings.Fields(s.Text()), " ")
	})
}

func TestAdminDemotionTakesEffectOnTheMembersNextRequest(t *testing.T) {
	t.Parallel()
	eachEngine(t, testAdminDemotionTakesEffectOnTheMembersNextRequest)
}

func testAdminDemotionTakesEffectOnTheMembersNextRequest(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0)
	e := startEnv(t, envOptions{engine: engine, idpNow: clock.Now})
	alice, bob := e.user("alice@acme.example"), e.user("bob@acme.example")
	admin := e.signIn(alice)
	bobBrowser := e.signIn(bob)
	bobToken := e.token(bob)
	require.Equal(t, 1, parseHTML(t, bobBrowser.get("/projects").Body).Find(`[data-testid="new-project"]`).Length())
	require.Equal(t, http.StatusCreated, e.api(bobToken, "POST", "/api/projects", map[string]string{"name": "Before"}).StatusCode)

	// Alice uses the role picker on /members.
	members := parseHTML(t, admin.get("/members").Body)
	action, ok := members.Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, bob.ID)).Attr("action")
	require.True(t, ok, "the admin sees a role picker for Bob")
	resp := admin.post(action, url.Values{"role": {"team_member"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, []string{"team_member"}, e.rolesAtIdP(bob.ID), "the change went to the IdP")
	changed := parseHTML(t, admin.get(resp.Header.Get("Location")).Body)
	assert.Contains(t, text(changed, `[data-testid="changed"]`), "Bob Manager")

	// Bob's very next request: the browser session refreshes its token...
	page := parseHTML(t, bobBrowser.get("/projects").Body)
	assert.Zero(t, page.Find(`[data-testid="new-project"]`).Length(), "the New project form is gone")
	assert.Equal(t, "team_member", text(page, `[data-testid="user-roles"]`))
	assert.Equal(t, http.StatusForbidden, bobBrowser.post("/projects", url.Values{"name": {"After"}}).StatusCode)

	// ...and his old bearer token is refused with a reason to refresh.
	old := e.api(bobToken, "POST", "/api/projects", map[string]string{"name": "After"})
	assert.Equal(t, http.StatusUnauthorized, old.StatusCode)
	assert.Contains(t, decode[map[string]string](t, old)["error_description"], "roles changed")
	clock.Advance(time.Second) // JWT times are whole seconds: a token of the next second is a new one
	fresh := e.api(e.token(bob), "POST", "/api/projects", map[string]string{"name": "After"})
	assert.Equal(t, http.StatusForbidden, fresh.StatusCode, "a new token carries the new role")
	assert.Equal(t, http.StatusOK, e.api(e.token(bob), "GET", "/api/projects", nil).StatusCode, "and what the new role allows")

	rows := auditRows(t, admin)
	require.NotEmpty(t, rows)
	assert.Contains(t, rows[0], fmt.Sprintf("Alice Admin %s Bob Manager %s project_manager team_member the app changed", alice.ID, bob.ID),
		"who, whom, old roles, new roles, through what, outcome")
}

func TestMembersPageShowsThePickerOnlyToThoseWhoMayAssign(t *testing.T) {
	t.Parallel()
	eachEngine(t, testMembersPageShowsThePickerOnlyToThoseWhoMayAssign)
}

func testMembersPageShowsThePickerOnlyToThoseWhoMayAssign(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	tests := []struct {
		email   string
		status  int
		pickers int
	}{
		{"alice@acme.example", http.StatusOK, 4},
		{"bob@acme.example", http.StatusOK, 0},
		{"dave@acme.example", http.StatusForbidden, 0},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			resp := e.signIn(e.user(tt.email)).get("/members")
			require.Equal(t, tt.status, resp.StatusCode)
			doc := parseHTML(t, resp.Body)
			assert.Equal(t, tt.pickers, doc.Find(`[data-testid="role-form"]`).Length())
			if tt.status == http.StatusOK {
				assert.Equal(t, 4, doc.Find(`[data-testid="member-list"] tbody tr`).Length(), "Acme's four members, from the IdP")
				assert.NotContains(t, resp.Body, "globex", "no other organization's members")
			}
		})
	}
}

func TestRefusedRoleChangesChangeNothingAndAreAudited(t *testing.T) {
	t.Parallel()
	eachEngine(t, testRefusedRoleChangesChangeNothingAndAreAudited)
}

func testRefusedRoleChangesChangeNothingAndAreAudited(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	alice, bob, carol, erin := e.user("alice@acme.example"), e.user("bob@acme.example"), e.user("carol@acme.example"), e.user("erin@globex.example")
	admin := e.signIn(alice)
	before := map[string][]string{}
	for _, u := range e.IdP.Users() {
		before[u.ID] = slices.Clone(u.Roles)
	}

	tests := []struct {
		name     string
		as       mockidp.User
		target   string
		role     string
		header   [2]string
		status   int
		auditor  mockidp.User // whose organization's log holds the entry
		inReason string
	}{
		{"a member without roles:assign", bob, carol.ID, "admin", [2]string{}, http.StatusForbidden, alice, "requires the admin role or the roles:assign permission"},
		{"an admin of another organization", erin, bob.ID, "admin", [2]string{}, http.StatusNotFound, erin, "not a member of the organization"},
		{"an unknown role", alice, bob.ID, "superuser", [2]string{}, http.StatusBadRequest, alice, `There is no role "superuser".`},
		{"no role at all", alice, bob.ID, "", [2]string{}, http.StatusBadRequest, alice, "Pick a role."},
		{"the last admin demoting herself", alice, alice.ID, "viewer", [2]string{}, http.StatusConflict, alice, "last admin"},
		{"a malformed user id", alice, "usr bad!", "viewer", [2]string{}, http.StatusBadRequest, alice, "not a valid user or organization id"},
		{"a cross-site post", alice, bob.ID, "admin", [2]string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, alice, "cross-site request refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := admin
			if tt.as.ID != alice.ID {
				b = e.signIn(tt.as)
			}
			req, err := http.NewRequest("POST", e.URL+"/members/"+url.PathEscape(tt.target)+"/role", strings.NewReader(url.Values{"role": {tt.role}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header[0] != "" {
				req.Header.Set(tt.header[0], tt.header[1])
			}
			resp := send(t, b.client, req)
			assert.Equal(t, tt.status, resp.StatusCode, resp.Body)

			for _, u := range e.IdP.Users() {
				assert.Equal(t, before[u.ID], u.Roles, "%s's roles are unchanged", u.Name)
			}
			auditor := admin
			if tt.auditor.ID != alice.ID {
				auditor = e.signIn(tt.auditor)
			}
			rows := auditRows(t, auditor)
			require.NotEmpty(t, rows)
			assert.Contains(t, rows[0], "refused")
			assert.Contains(t, rows[0], tt.inReason)
			assert.Contains(t, rows[0], tt.as.ID, "the log says who tried")
		})
	}
}

func TestANewUserJoiningGetsTheDefaultMemberRole(t *testing.T) {
	t.Parallel()
	eachEngine(t, testANewUserJoiningGetsTheDefaultMemberRole)
}

func testANewUserJoiningGetsTheDefaultMemberRole(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	b := e.newBrowser()
	login := b.get("/login")
	authorize := mustURL(t, login.Header.Get("Location"))
	form := authorize.Query()
	form.Set("join_org", "org_100000000000000001")
	resp := b.do("POST", e.IdP.URL()+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusFound, resp.StatusCode, resp.Body)
	require.Equal(t, http.StatusSeeOther, b.do("GET", resp.Header.Get("Location"), nil, "").StatusCode)

	home := parseHTML(t, b.get("/").Body)
	assert.Equal(t, "member", text(home, `[data-testid="user-roles"]`), "seed's default_member_role")
	assert.Equal(t, "org_100000000000000001", text(home, `[data-testid="user-org"]`))
	members := parseHTML(t, e.signIn(e.user("alice@acme.example")).get("/members").Body)
	assert.Equal(t, 5, members.Find(`[data-testid="member-list"] tbody tr`).Length(), "the admin sees the newcomer")
}

func TestAnonymousRoleChangesLeaveNoAuditTrail(t *testing.T) {
	t.Parallel()
	eachEngine(t, testAnonymousRoleChangesLeaveNoAuditTrail)
}

func testAnonymousRoleChangesLeaveNoAuditTrail(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	admin := e.signIn(e.user("alice@acme.example"))
	for range 5 {
		resp := e.newBrowser().post("/members/usr_100000000000000002/role", url.Values{"role": {strings.Repeat("x", 60<<10)}})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	assert.Empty(t, auditRows(t, admin), "nobody signed in: nothing to audit, and nobody can fill the log")
}

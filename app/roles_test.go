package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// auditRows returns the audit page's rows as the given admin sees them.
func auditRows(t *testing.T, admin *apptest.Browser) []string {
	t.Helper()
	resp := admin.Get("/audit")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc := apptest.ParseHTML(t, resp.Body)
	return doc.Find(`[data-testid="audit-log"] tbody tr`).Map(func(_ int, s *goquery.Selection) string {
		return strings.Join(strings.Fields(s.Text()), " ")
	})
}

func TestAdminDemotionTakesEffectOnTheMembersNextRequest(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAdminDemotionTakesEffectOnTheMembersNextRequest)
}

func testAdminDemotionTakesEffectOnTheMembersNextRequest(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0)
	e := apptest.Start(t, apptest.Options{Engine: engine, IdPNow: clock.Now})
	alice, bob := e.User("alice@acme.example"), e.User("bob@acme.example")
	admin := e.SignIn(alice)
	bobBrowser := e.SignIn(bob)
	bobToken := e.Token(bob)
	require.Equal(t, 1, apptest.ParseHTML(t, bobBrowser.Get("/projects").Body).Find(`[data-testid="new-project"]`).Length())
	require.Equal(t, http.StatusCreated, e.API(bobToken, "POST", "/api/projects", map[string]string{"name": "Before"}).StatusCode)

	// Alice uses the role picker on /members.
	members := apptest.ParseHTML(t, admin.Get("/members").Body)
	action, ok := members.Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, bob.ID)).Attr("action")
	require.True(t, ok, "the admin sees a role picker for Bob")
	resp := admin.Post(action, url.Values{"role": {"team_member"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, []string{"team_member"}, e.IdPRoles(bob.ID), "the change went to the IdP")
	changed := apptest.ParseHTML(t, admin.Get(resp.Header.Get("Location")).Body)
	assert.Contains(t, apptest.Text(changed, `[data-testid="changed"]`), "Bob Manager")

	// Bob's very next request: the browser session refreshes its token...
	page := apptest.ParseHTML(t, bobBrowser.Get("/projects").Body)
	assert.Zero(t, page.Find(`[data-testid="new-project"]`).Length(), "the New project form is gone")
	assert.Equal(t, "team_member", apptest.Text(page, `[data-testid="user-roles"]`))
	assert.Equal(t, http.StatusForbidden, bobBrowser.Post("/projects", url.Values{"name": {"After"}}).StatusCode)

	// ...and his old bearer token is refused with a reason to refresh.
	old := e.API(bobToken, "POST", "/api/projects", map[string]string{"name": "After"})
	assert.Equal(t, http.StatusUnauthorized, old.StatusCode)
	assert.Contains(t, apptest.Decode[map[string]string](t, old)["error_description"], "roles changed")
	clock.Advance(time.Second) // JWT times are whole seconds: a token of the next second is a new one
	fresh := e.API(e.Token(bob), "POST", "/api/projects", map[string]string{"name": "After"})
	assert.Equal(t, http.StatusForbidden, fresh.StatusCode, "a new token carries the new role")
	assert.Equal(t, http.StatusOK, e.API(e.Token(bob), "GET", "/api/projects", nil).StatusCode, "and what the new role allows")

	rows := auditRows(t, admin)
	require.NotEmpty(t, rows)
	assert.Contains(t, rows[0], fmt.Sprintf("Alice Admin %s Bob Manager %s project_manager team_member the app changed", alice.ID, bob.ID),
		"who, whom, old roles, new roles, through what, outcome")
}

func TestMembersPageShowsThePickerOnlyToThoseWhoMayAssign(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testMembersPageShowsThePickerOnlyToThoseWhoMayAssign)
}

func testMembersPageShowsThePickerOnlyToThoseWhoMayAssign(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
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
			resp := e.SignIn(e.User(tt.email)).Get("/members")
			require.Equal(t, tt.status, resp.StatusCode)
			doc := apptest.ParseHTML(t, resp.Body)
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
	databasetest.Run(t, testRefusedRoleChangesChangeNothingAndAreAudited)
}

func testRefusedRoleChangesChangeNothingAndAreAudited(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, bob, carol, erin := e.User("alice@acme.example"), e.User("bob@acme.example"), e.User("carol@acme.example"), e.User("erin@globex.example")
	admin := e.SignIn(alice)
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
				b = e.SignIn(tt.as)
			}
			req, err := http.NewRequest("POST", e.URL+"/members/"+url.PathEscape(tt.target)+"/role", strings.NewReader(url.Values{"role": {tt.role}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header[0] != "" {
				req.Header.Set(tt.header[0], tt.header[1])
			}
			resp := apptest.Send(t, b.Client, req)
			assert.Equal(t, tt.status, resp.StatusCode, resp.Body)

			for _, u := range e.IdP.Users() {
				assert.Equal(t, before[u.ID], u.Roles, "%s's roles are unchanged", u.Name)
			}
			auditor := admin
			if tt.auditor.ID != alice.ID {
				auditor = e.SignIn(tt.auditor)
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
	databasetest.Run(t, testANewUserJoiningGetsTheDefaultMemberRole)
}

func testANewUserJoiningGetsTheDefaultMemberRole(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.NewBrowser()
	login := b.Get("/login")
	authorize := apptest.MustURL(t, login.Header.Get("Location"))
	form := authorize.Query()
	form.Set("join_org", "org_100000000000000001")
	resp := b.Do("POST", e.IdP.URL()+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusFound, resp.StatusCode, resp.Body)
	require.Equal(t, http.StatusSeeOther, b.Do("GET", resp.Header.Get("Location"), nil, "").StatusCode)

	home := apptest.ParseHTML(t, b.Get("/").Body)
	assert.Equal(t, "member", apptest.Text(home, `[data-testid="user-roles"]`), "seed's default_member_role")
	assert.Equal(t, "org_100000000000000001", apptest.Text(home, `[data-testid="user-org"]`))
	members := apptest.ParseHTML(t, e.SignIn(e.User("alice@acme.example")).Get("/members").Body)
	assert.Equal(t, 5, members.Find(`[data-testid="member-list"] tbody tr`).Length(), "the admin sees the newcomer")
}

func TestAnonymousRoleChangesLeaveNoAuditTrail(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAnonymousRoleChangesLeaveNoAuditTrail)
}

func testAnonymousRoleChangesLeaveNoAuditTrail(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	admin := e.SignIn(e.User("alice@acme.example"))
	for range 5 {
		resp := e.NewBrowser().Post("/members/usr_100000000000000002/role", url.Values{"role": {strings.Repeat("x", 60<<10)}})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	assert.Empty(t, auditRows(t, admin), "nobody signed in: nothing to audit, and nobody can fill the log")
}

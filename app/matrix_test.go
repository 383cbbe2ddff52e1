package app_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// TestAuthorizationMatrix calls every route of the route table as every
// demo user (and as nobody), through the real sign-in for pages and with
// real bearer tokens for the API. The expected outcome is computed from
// rbac.seed.json and the route's gate, never typed in per case, so a new
// route or a changed role shows up here by itself.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAuthorizationMatrix)
}

func testAuthorizationMatrix(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine, Users: mockidp.DemoCast()})
	// Casey, a member of two organizations, once in each: the token of
	// each sign-in carries that organization's roles only.
	var users []mockidp.User
	for _, u := range e.IdP.Users() {
		if len(u.Memberships) < 2 {
			users = append(users, u)
			continue
		}
		for _, m := range u.Memberships {
			users = append(users, apptest.InOrg(t, u, m.OrgID))
		}
	}
	require.Len(t, users, len(mockidp.DemoCast())+1, "Casey in Acme and in Globex")
	for _, u := range users {
		e.SignIn(u) // as users of the app would: each sign-in records its user and syncs the organization's members
	}
	var allowed, denied int
	for _, rt := range tableOf(e.App) {
		require.True(t, rt.Gate.Valid(), "%s %s has a gate", rt.Method, rt.Pattern)
		for _, u := range append([]mockidp.User{{Name: "nobody"}}, users...) {
			name := fmt.Sprintf("%s %s/%s %v", rt.Method, rt.Pattern, u.Name, u.Roles)
			t.Run(name, func(t *testing.T) {
				var p *auth.Principal // what the token says, computed from the model
				if u.ID != "" {
					p = &auth.Principal{Subject: u.ID, OrgID: u.OrgID, Roles: u.Roles, Permissions: e.Model.Effective(u.Roles...)}
				}
				want := rt.Gate.Check(p)
				got, fix := call(t, e, rt, u)
				assertOutcome(t, rt, want, got)
				if want != nil && fix.projectID != 0 {
					assertUnchanged(t, e, fix)
				}
				if want == nil {
					allowed++
				} else {
					denied++
				}
			})
		}
	}
	// Guard the guard: a matrix where everything passes (or fails) proves nothing.
	assert.Greater(t, allowed, 40)
	assert.Greater(t, denied, 40)
}

// TestHeadIsGatedLikeGet calls every GET route of the route table with
// HEAD, as every demo user and as nobody: the answer is the GET's, status,
// redirect and challenge alike, without a body.
func TestHeadIsGatedLikeGet(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	users := append([]mockidp.User{{Name: "nobody"}}, e.IdP.Users()...)
	var routes int
	for _, rt := range tableOf(e.App) {
		if rt.Method != http.MethodGet {
			continue
		}
		routes++
		head := rt
		head.Method = http.MethodHead
		for _, u := range users {
			t.Run(fmt.Sprintf("HEAD %s/%s", rt.Pattern, u.Name), func(t *testing.T) {
				want, _ := call(t, e, rt, u)
				got, _ := call(t, e, head, u)
				assert.Equal(t, want.StatusCode, got.StatusCode, "HEAD answers as GET does (GET body: %.200s)", want.Body)
				assert.Empty(t, got.Body, "HEAD has no body")
				// Each call has its own fixture ids, and /login its own state.
				location := func(r apptest.Response) string {
					loc := r.Header.Get("Location")
					if rt.Pattern == "/login" {
						loc, _, _ = strings.Cut(loc, "?")
					}
					return digits.ReplaceAllString(loc, "N")
				}
				assert.Equal(t, location(want), location(got))
				assert.Equal(t, want.Header.Get("WWW-Authenticate"), got.Header.Get("WWW-Authenticate"))
			})
		}
	}
	assert.Greater(t, routes, 10, "the GET routes were found")
}

var digits = regexp.MustCompile(`[0-9]+`)

// tableRoute is a line of the route table and the group it is mounted in,
// which says how the tests call it and what its refusals look like.
type tableRoute struct {
	app.Route
	group string
}

func (rt tableRoute) api() bool    { return rt.group == "API" }
func (rt tableRoute) signed() bool { return rt.group == "Signed" }

// tableOf returns every route of a's table, group by group.
func tableOf(a *app.App) []tableRoute {
	t := a.Routes()
	var all []tableRoute
	for _, g := range []struct {
		name   string
		routes []app.Route
	}{{"Pages", t.Pages}, {"SignIn", t.SignIn}, {"API", t.API}, {"Signed", t.Signed}} {
		for _, rt := range g.routes {
			all = append(all, tableRoute{rt, g.name})
		}
	}
	return all
}

// assertOutcome checks a response against the gate's verdict.
func assertOutcome(t *testing.T, rt tableRoute, want error, got apptest.Response) {
	t.Helper()
	var d *auth.DeniedError
	switch {
	case want == nil && rt.Pattern == "/auth/callback":
		assert.Equal(t, http.StatusBadRequest, got.StatusCode, "no sign-in in progress: %s", got.Body)
	case want == nil && rt.signed():
		assert.Equal(t, http.StatusUnauthorized, got.StatusCode, "public, but an unsigned delivery is refused: %s", got.Body)
	case want == nil:
		assert.Less(t, got.StatusCode, 400, "allowed, body: %s", got.Body)
	case errors.As(want, &d) && rt.api():
		require.Equal(t, http.StatusForbidden, got.StatusCode, got.Body)
		body := apptest.Decode[map[string]string](t, got)
		assert.Equal(t, "insufficient_scope", body["error"])
		assert.Equal(t, string(d.Permission), body["required_permission"])
		assert.Contains(t, got.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	case errors.As(want, &d):
		require.Equal(t, http.StatusForbidden, got.StatusCode, got.Body)
		doc := apptest.ParseHTML(t, got.Body)
		assert.Equal(t, d.Requirement(), apptest.Text(doc, `[data-testid="required"]`), "the 403 page names what is missing")
	case rt.api():
		assert.Equal(t, http.StatusUnauthorized, got.StatusCode)
		assert.Contains(t, got.Header.Get("WWW-Authenticate"), "Bearer")
	case rt.Method == http.MethodGet:
		assert.Equal(t, http.StatusFound, got.StatusCode)
		assert.True(t, strings.HasPrefix(got.Header.Get("Location"), "/login?return_to="), "signed-out visitors are sent to sign in")
	default:
		assert.Equal(t, http.StatusUnauthorized, got.StatusCode)
	}
}

// call makes the route's request as u (an empty ID means nobody), on fresh
// fixtures of u's organization, with a valid body.
// fixtures are what a call worked on, to check that a refusal left them be.
type fixtures struct {
	admin             mockidp.User
	projectID, taskID int64
}

// assertUnchanged checks that the fixture project and task are as created.
func assertUnchanged(t *testing.T, e *apptest.Env, fix fixtures) {
	t.Helper()
	token := e.Token(fix.admin)
	proj := e.API(token, "GET", fmt.Sprintf("/api/projects/%d", fix.projectID), nil)
	require.Equal(t, http.StatusOK, proj.StatusCode, "a refused request deleted nothing")
	assert.Equal(t, "Fixture", apptest.Decode[struct{ Project struct{ Name string } }](t, proj).Project.Name, "a refused request renamed nothing")
	tasks := apptest.Decode[struct {
		Tasks []struct {
			Title, Assignee string
			Done            bool
		}
	}](t, e.API(token, "GET", fmt.Sprintf("/api/projects/%d/tasks", fix.projectID), nil)).Tasks
	require.Len(t, tasks, 1, "a refused request added no task")
	assert.Equal(t, "Fixture task", tasks[0].Title)
	assert.Empty(t, tasks[0].Assignee, "a refused request assigned nothing")
	assert.False(t, tasks[0].Done, "a refused request completed nothing")
}

func call(t *testing.T, e *apptest.Env, rt tableRoute, u mockidp.User) (apptest.Response, fixtures) {
	t.Helper()
	orgAdmin := e.User("alice@acme.example")
	if u.OrgID == "org_200000000000000001" {
		orgAdmin = e.User("erin@globex.example")
	}
	path, role := rt.Pattern, ""
	fix := fixtures{admin: orgAdmin}
	if strings.Contains(path, "{id}") {
		projectID, taskID := e.ProjectWithTask(orgAdmin)
		fix.projectID, fix.taskID = projectID, taskID
		id := projectID
		if strings.Contains(path, "/tasks/{id}") {
			id = taskID
		}
		path = strings.Replace(path, "{id}", strconv.FormatInt(id, 10), 1)
	}
	if strings.Contains(path, "{userID}") {
		// Give a non-admin member of the caller's organization the role
		// they already have: allowed or not, nothing really changes.
		target := e.User("dave@acme.example")
		if orgAdmin.OrgID != target.OrgID {
			target = e.User("grace@globex.example")
		}
		path = strings.Replace(path, "{userID}", target.ID, 1)
		role = target.Roles[0]
	}
	assignee := u.ID
	if assignee == "" {
		assignee = orgAdmin.ID
	}
	if rt.api() {
		token := ""
		if u.ID != "" {
			token = e.Token(u)
		}
		return callAPI(e, rt, token, path, assignee), fix
	}
	b := e.NewBrowser()
	if u.ID != "" {
		b.SignInTo(u, "/")
	}
	return callPage(b, e.URL, rt, path, assignee, role, u.OrgID), fix
}

// callAPI makes an API route's request with token, with a valid body.
func callAPI(e *apptest.Env, rt tableRoute, token, path, assignee string) apptest.Response {
	body := map[string]map[string]any{
		"POST /api/projects":            {"name": "Matrix project"},
		"PATCH /api/projects/{id}":      {"name": "Renamed"},
		"POST /api/projects/{id}/tasks": {"title": "Matrix task"},
		"POST /api/tasks/{id}/assign":   {"assignee": assignee},
		"PATCH /api/tasks/{id}":         {"done": true},
	}[rt.Method+" "+rt.Pattern]
	if body == nil {
		return e.API(token, rt.Method, path, nil)
	}
	return e.API(token, rt.Method, path, body)
}

// callPage makes a page route's request in browser b, with a valid form.
func callPage(b *apptest.Browser, base string, rt tableRoute, path, assignee, role, orgID string) apptest.Response {
	if rt.Method == http.MethodGet || rt.Method == http.MethodHead {
		return b.Do(rt.Method, base+path, nil, "")
	}
	return b.Post(path, url.Values{
		"name": {"Matrix project"}, "title": {"Matrix task"}, "assignee": {assignee}, "done": {"true"}, "role": {role},
		"organization_id": {orgID}, // a switch into the caller's own organization: a new sign-in there
	})
}

package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// TestPagesShowOnlyWhatTheTokenAllows checks, by CSS selector, that each
// role sees the controls its permissions allow and, instead of the others,
// the name of the permission it would need.
func TestPagesShowOnlyWhatTheTokenAllows(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testPagesShowOnlyWhatTheTokenAllows)
}

func testPagesShowOnlyWhatTheTokenAllows(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	projectID, _ := e.ProjectWithTask(e.User("alice@acme.example"))
	project := fmt.Sprintf("/projects/%d", projectID)

	tests := []struct {
		email string
		shown []string // selectors present
		gone  []string // selectors absent
		needs []string // permissions named in place of missing controls
	}{
		{"alice@acme.example",
			[]string{`[data-testid="new-project"]`, `[data-testid="edit-project"]`, `[data-testid="delete-project"]`, `[data-testid="new-task"]`, `[data-testid="assign-form"]`},
			nil, nil},
		{"bob@acme.example",
			[]string{`[data-testid="new-project"]`, `[data-testid="edit-project"]`, `[data-testid="new-task"]`, `[data-testid="assign-form"]`},
			[]string{`[data-testid="delete-project"]`}, []string{"projects:delete"}},
		{"carol@acme.example",
			[]string{`[data-testid="task-list"]`},
			[]string{`[data-testid="new-project"]`, `[data-testid="edit-project"]`, `[data-testid="delete-project"]`, `[data-testid="new-task"]`, `[data-testid="assign-form"]`},
			[]string{"projects:create", "projects:update", "projects:delete", "tasks:create"}},
		{"dave@acme.example",
			[]string{`[data-testid="task-list"]`},
			[]string{`[data-testid="new-project"]`, `[data-testid="new-task"]`, `[data-testid="assign-form"]`},
			[]string{"projects:create", "tasks:create"}},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			b := e.SignIn(e.User(tt.email))
			list := b.Get("/projects")
			require.Equal(t, http.StatusOK, list.StatusCode)
			show := b.Get(project)
			require.Equal(t, http.StatusOK, show.StatusCode)
			html := list.Body + show.Body
			doc := apptest.ParseHTML(t, html)
			for _, sel := range tt.shown {
				assert.Equal(t, 1, doc.Find(sel).Length(), "shows %s", sel)
			}
			for _, sel := range tt.gone {
				assert.Zero(t, doc.Find(sel).Length(), "hides %s", sel)
			}
			needs := doc.Find(`[data-testid="needs"] code`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
			for _, perm := range tt.needs {
				assert.Contains(t, needs, perm)
			}
		})
	}
}

func TestTeamMemberIsRefusedEvenWhenPostingDirectly(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTeamMemberIsRefusedEvenWhenPostingDirectly)
}

func testTeamMemberIsRefusedEvenWhenPostingDirectly(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	carol := e.User("carol@acme.example")
	b := e.SignIn(carol)
	resp := b.Post("/projects", url.Values{"name": {"Sneaky"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	doc := apptest.ParseHTML(t, resp.Body)
	assert.Equal(t, "the projects:create permission", apptest.Text(doc, `[data-testid="required"]`))
	assert.Contains(t, apptest.Text(doc, `.error-page`), "team_member", "the 403 page shows the user's roles")
	assert.Equal(t, `{"projects":[]}`, strings.TrimSpace(e.API(e.Token(carol), "GET", "/api/projects", nil).Body))
}

func TestProjectLifecycleInTheBrowser(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testProjectLifecycleInTheBrowser)
}

func testProjectLifecycleInTheBrowser(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	e.SignIn(carol)
	b := e.SignIn(alice)

	empty := apptest.ParseHTML(t, b.Get("/projects").Body)
	assert.Equal(t, 1, empty.Find(`[data-testid="empty"]`).Length(), "an empty state, not an empty list")

	resp := b.Post("/projects", url.Values{"name": {"Launch"}, "description": {"Ship v1"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	project := resp.Header.Get("Location")
	require.Regexp(t, `^/projects/\d+$`, project)

	require.Equal(t, http.StatusSeeOther, b.Post(project+"/tasks", url.Values{"title": {"Write docs"}}).StatusCode)
	doc := apptest.ParseHTML(t, b.Get(project).Body)
	taskForm, ok := doc.Find(`[data-testid="assign-form"]`).Attr("action")
	require.True(t, ok)
	options := doc.Find(`[data-testid="assign-form"] option`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	assert.Contains(t, options, "Carol Member", "signed-in members can be picked")

	require.Equal(t, http.StatusSeeOther, b.Post(taskForm, url.Values{"assignee": {carol.ID}}).StatusCode)
	doneURL := strings.Replace(taskForm, "/assign", "/done", 1)
	require.Equal(t, http.StatusSeeOther, b.Post(doneURL, url.Values{"done": {"true"}}).StatusCode)

	doc = apptest.ParseHTML(t, b.Get(project).Body)
	assert.Contains(t, apptest.Text(doc, `[data-testid="task-list"]`), "Carol Member")
	assert.Equal(t, 1, doc.Find(`.task.done`).Length())

	require.Equal(t, http.StatusSeeOther, b.Post(project, url.Values{"name": {"Launch 2"}}).StatusCode)
	assert.Equal(t, "Launch 2", apptest.Text(apptest.ParseHTML(t, b.Get(project).Body), `[data-testid="project-name"]`))

	require.Equal(t, http.StatusSeeOther, b.Post(project+"/delete", nil).StatusCode)
	assert.Equal(t, http.StatusNotFound, b.Get(project).StatusCode)
}

func TestMePageShowsVerifiedClaimsAndWhatTheyUnlock(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testMePageShowsVerifiedClaimsAndWhatTheyUnlock)
}

func testMePageShowsVerifiedClaimsAndWhatTheyUnlock(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	bob := e.User("bob@acme.example")
	b := e.SignIn(bob)
	resp := b.Get("/me")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc := apptest.ParseHTML(t, resp.Body)

	var access, id map[string]any
	require.NoError(t, json.Unmarshal([]byte(apptest.Text(doc, `[data-testid="access-claims"]`)), &access))
	require.NoError(t, json.Unmarshal([]byte(apptest.Text(doc, `[data-testid="id-claims"]`)), &id))
	assert.Equal(t, bob.ID, access["sub"])
	assert.Equal(t, bob.OrgID, access["oid"])
	assert.ElementsMatch(t, toAny(permissionNames(e.Model.Effective(bob.Roles...))), access["permissions"])
	assert.Equal(t, bob.Email, id["email"])

	granted := doc.Find(`[data-testid="unlocks"] tr.granted td:first-child`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	assert.ElementsMatch(t, permissionNames(e.Model.Effective(bob.Roles...)), granted)
	assert.Contains(t, apptest.Text(doc, `[data-testid="unlocks"]`), "POST /projects")

	api := apptest.Decode[map[string]any](t, e.API(e.Token(bob), "GET", "/api/me", nil))
	assert.Equal(t, bob.ID, api["sub"])
}

// permissionNames turns permissions into the strings a page or a JSON body shows.
func permissionNames(ps []rbac.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

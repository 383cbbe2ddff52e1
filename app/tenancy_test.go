package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// TestOrganizationsNeverSeeEachOther: Acme's project and task are 404 to
// Globex's admin, in pages and API alike, exactly like ids that do not
// exist, and the refused writes change nothing.
func TestOrganizationsNeverSeeEachOther(t *testing.T) {
	eachEngine(t, testOrganizationsNeverSeeEachOther)
}

func testOrganizationsNeverSeeEachOther(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	alice, erin := e.user("alice@acme.example"), e.user("erin@globex.example")
	projectID, taskID := e.fixture(alice)
	erinBrowser := e.signIn(erin)
	erinToken := e.token(erin)

	pages := []struct {
		method, path string
	}{
		{"GET", "/projects/%d"},
		{"POST", "/projects/%d"},
		{"POST", "/projects/%d/delete"},
		{"POST", "/projects/%d/tasks"},
	}
	for _, p := range pages {
		for _, id := range []int64{projectID, 999999} {
			path := fmt.Sprintf(p.path, id)
			t.Run("page "+p.method+" "+path, func(t *testing.T) {
				var resp response
				if p.method == "GET" {
					resp = erinBrowser.get(path)
				} else {
					resp = erinBrowser.post(path, url.Values{"name": {"Hijacked"}, "title": {"Hijacked"}})
				}
				assert.Equal(t, http.StatusNotFound, resp.StatusCode)
				assert.NotContains(t, resp.Body, "Fixture", "nothing of Acme's project leaks")
			})
		}
	}
	for _, path := range []string{"/tasks/%d/assign", "/tasks/%d/done"} {
		resp := erinBrowser.post(fmt.Sprintf(path, taskID), url.Values{"assignee": {erin.ID}, "done": {"true"}})
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}

	api := []struct {
		method, path string
		body         any
	}{
		{"GET", fmt.Sprintf("/api/projects/%d", projectID), nil},
		{"PATCH", fmt.Sprintf("/api/projects/%d", projectID), map[string]string{"name": "Hijacked"}},
		{"DELETE", fmt.Sprintf("/api/projects/%d", projectID), nil},
		{"GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil},
		{"POST", fmt.Sprintf("/api/projects/%d/tasks", projectID), map[string]string{"title": "Hijacked"}},
		{"POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": erin.ID}},
		{"PATCH", fmt.Sprintf("/api/tasks/%d", taskID), map[string]bool{"done": true}},
	}
	for _, c := range api {
		t.Run("api "+c.method+" "+c.path, func(t *testing.T) {
			resp := e.api(erinToken, c.method, c.path, c.body)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, resp.Body)
			assert.Equal(t, "not_found", decode[map[string]string](t, resp)["error"])
		})
	}

	list := e.api(erinToken, "GET", "/api/projects", nil)
	assert.Equal(t, `{"projects":[]}`, strings.TrimSpace(list.Body), "Globex lists none of Acme's projects")

	// Acme's data is untouched.
	aliceToken := e.token(alice)
	got := decode[struct{ Project struct{ Name string } }](t, e.api(aliceToken, "GET", fmt.Sprintf("/api/projects/%d", projectID), nil))
	assert.Equal(t, "Fixture", got.Project.Name)
	tasks := decode[struct {
		Tasks []struct {
			Title    string
			Assignee string
			Done     bool
		}
	}](t, e.api(aliceToken, "GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil))
	require.Len(t, tasks.Tasks, 1)
	assert.Equal(t, "Fixture task", tasks.Tasks[0].Title)
	assert.Empty(t, tasks.Tasks[0].Assignee)
	assert.False(t, tasks.Tasks[0].Done)
}

func TestTasksCannotBeAssignedOutsideTheOrganization(t *testing.T) {
	eachEngine(t, testTasksCannotBeAssignedOutsideTheOrganization)
}

func testTasksCannotBeAssignedOutsideTheOrganization(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	alice, erin := e.user("alice@acme.example"), e.user("erin@globex.example")
	e.signIn(erin) // Erin is a known user, but of Globex
	_, taskID := e.fixture(alice)
	resp := e.api(e.token(alice), "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": erin.ID})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body := decode[map[string]string](t, resp)
	assert.Equal(t, "assignee", body["field"])
	assert.Contains(t, body["error_description"], "not a member of your organization")
}

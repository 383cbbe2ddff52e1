package app_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// TestOrganizationsNeverSeeEachOther: Acme's project and task are 404 to
// Globex's admin, in pages and API alike, exactly like ids that do not
// exist, and the refused writes change nothing. The routes are every route
// of the table with an {id}: a new one is covered without editing this test.
func TestOrganizationsNeverSeeEachOther(t *testing.T) {
	t.Parallel()
	eachEngine(t, testOrganizationsNeverSeeEachOther)
}

func testOrganizationsNeverSeeEachOther(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	alice, erin := e.user("alice@acme.example"), e.user("erin@globex.example")
	projectID, taskID := e.fixture(alice)
	erinBrowser := e.signIn(erin)
	erinToken := e.token(erin)

	var routes int
	for _, rt := range tableOf(e.App) {
		if !strings.Contains(rt.Pattern, "{id}") {
			continue
		}
		routes++
		id := projectID
		if strings.Contains(rt.Pattern, "/tasks/{id}") {
			id = taskID
		}
		for _, id := range []int64{id, 999999} {
			path := strings.Replace(rt.Pattern, "{id}", strconv.FormatInt(id, 10), 1)
			t.Run(rt.group+" "+rt.Method+" "+path, func(t *testing.T) {
				var resp response
				if rt.api() {
					resp = e.callAPI(rt, erinToken, path, erin.ID)
				} else {
					resp = erinBrowser.callPage(rt, path, erin.ID, "", erin.OrgID)
				}
				assert.Equal(t, http.StatusNotFound, resp.StatusCode, resp.Body)
				assert.NotContains(t, resp.Body, "Fixture", "nothing of Acme's project leaks")
				if rt.api() {
					assert.Equal(t, "not_found", decode[map[string]string](t, resp)["error"])
				}
			})
		}
	}
	assert.GreaterOrEqual(t, routes, 13, "the routes with an {id} were found")

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
	t.Parallel()
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

package app_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// TestOrganizationsNeverSeeEachOther: Acme's project and task are 404 to
// Globex's admin, in pages and API alike, exactly like ids that do not
// exist, and the refused writes change nothing. The routes are every route
// of the table with an {id}: a new one is covered without editing this test.
func TestOrganizationsNeverSeeEachOther(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testOrganizationsNeverSeeEachOther)
}

func testOrganizationsNeverSeeEachOther(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, erin := e.User("alice@acme.example"), e.User("erin@globex.example")
	projectID, taskID := e.ProjectWithTask(alice)
	erinBrowser := e.SignIn(erin)
	erinToken := e.Token(erin)

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
				var resp apptest.Response
				if rt.api() {
					resp = callAPI(e, rt, erinToken, path, erin.ID)
				} else {
					resp = callPage(erinBrowser, e.URL, rt, path, erin.ID, "", erin.OrgID)
				}
				assert.Equal(t, http.StatusNotFound, resp.StatusCode, resp.Body)
				assert.NotContains(t, resp.Body, "Fixture", "nothing of Acme's project leaks")
				if rt.api() {
					assert.Equal(t, "not_found", apptest.Decode[map[string]string](t, resp)["error"])
				}
			})
		}
	}
	assert.GreaterOrEqual(t, routes, 13, "the routes with an {id} were found")

	list := e.API(erinToken, "GET", "/api/projects", nil)
	assert.Equal(t, `{"projects":[]}`, strings.TrimSpace(list.Body), "Globex lists none of Acme's projects")

	// Acme's data is untouched.
	aliceToken := e.Token(alice)
	got := apptest.Decode[struct{ Project struct{ Name string } }](t, e.API(aliceToken, "GET", fmt.Sprintf("/api/projects/%d", projectID), nil))
	assert.Equal(t, "Fixture", got.Project.Name)
	tasks := apptest.Decode[struct {
		Tasks []struct {
			Title    string
			Assignee string
			Done     bool
		}
	}](t, e.API(aliceToken, "GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil))
	require.Len(t, tasks.Tasks, 1)
	assert.Equal(t, "Fixture task", tasks.Tasks[0].Title)
	assert.Empty(t, tasks.Tasks[0].Assignee)
	assert.False(t, tasks.Tasks[0].Done)
}

func TestTasksCannotBeAssignedOutsideTheOrganization(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTasksCannotBeAssignedOutsideTheOrganization)
}

func testTasksCannotBeAssignedOutsideTheOrganization(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, erin := e.User("alice@acme.example"), e.User("erin@globex.example")
	e.SignIn(erin) // Erin is a known user, but of Globex
	_, taskID := e.ProjectWithTask(alice)
	resp := e.API(e.Token(alice), "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": erin.ID})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body := apptest.Decode[map[string]string](t, resp)
	assert.Equal(t, "assignee", body["field"])
	assert.Contains(t, body["error_description"], "not a member of your organization")
}

package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestTheProjectPageShowsTasksAPageAtATimeAndFormsComeBackToIt(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTheProjectPageShowsTasksAPageAtATimeAndFormsComeBackToIt)
}

func testTheProjectPageShowsTasksAPageAtATimeAndFormsComeBackToIt(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	projectID, _ := e.ProjectWithTask(alice) // its first task
	token := e.Token(alice)
	for i := range 59 {
		resp := e.API(token, "POST", fmt.Sprintf("/api/projects/%d/tasks", projectID), map[string]string{"title": fmt.Sprintf("T%02d", i+2)})
		require.Equal(t, http.StatusCreated, resp.StatusCode, resp.Body)
	}
	b := e.SignIn(alice)
	page := fmt.Sprintf("/projects/%d", projectID)

	first := apptest.ParseHTML(t, b.Get(page).Body)
	assert.Equal(t, 50, first.Find(`[data-testid="task-list"] li`).Length())
	next := first.Find(`[data-testid="next-tasks"]`).AttrOr("href", "")
	require.NotEmpty(t, next)
	second := apptest.ParseHTML(t, b.Get(strings.TrimSuffix(next, "#tasks")).Body)
	assert.Equal(t, 10, second.Find(`[data-testid="task-list"] li`).Length())

	// Assigning a task of the second page comes back to the second page.
	form := second.Find(`[data-testid="task-list"] li:last-child [data-testid="assign-form"]`)
	sent := formValues(form)
	sent.Set("assignee", carol.ID)
	resp := b.Post(form.AttrOr("action", ""), sent)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	back := resp.Header.Get("Location")
	assert.Contains(t, back, "page_token=", "back to the page the form was on")
	again := apptest.ParseHTML(t, b.Get(strings.Split(back, "#")[0]).Body)
	assert.Equal(t, carol.Name, apptest.Text(again, `[data-testid="task-list"] li:last-child .meta strong`))

	// A new task is the last: the answer opens a page that shows it.
	resp = b.Post(page+"/tasks", map[string][]string{"title": {"The newest"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	shown := apptest.ParseHTML(t, b.Get(strings.Split(resp.Header.Get("Location"), "#")[0]).Body)
	assert.Contains(t, allText(shown, `[data-testid="task-list"] .item-title`), "The newest")
}

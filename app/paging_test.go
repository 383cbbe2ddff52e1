package app_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestProjectListsArePaged(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testProjectListsArePaged)
}

func testProjectListsArePaged(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	token := e.Token(alice)
	const n = 120
	for i := range n {
		resp := e.API(token, "POST", "/api/projects", map[string]string{"name": fmt.Sprintf("P%03d", i)})
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	e.ProjectWithTask(e.User("erin@globex.example")) // another organization's project never shows up

	type page struct {
		Projects []struct {
			ID   int64
			Name string
		}
		NextPageToken string `json:"next_page_token"`
	}
	seen := map[string]bool{}
	var sizes []int
	for token2, pages := "", 0; pages < 10; pages++ {
		resp := e.API(token, "GET", "/api/projects?page_size=50&page_token="+token2, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		p := apptest.Decode[page](t, resp)
		sizes = append(sizes, len(p.Projects))
		for _, pr := range p.Projects {
			assert.False(t, seen[pr.Name], "%s listed twice", pr.Name)
			seen[pr.Name] = true
		}
		if token2 = p.NextPageToken; token2 == "" {
			break
		}
	}
	assert.Equal(t, []int{50, 50, 20}, sizes)
	assert.Len(t, seen, n, "every project exactly once, none of another organization")
	assert.True(t, seen["P119"] && seen["P000"])

	first := apptest.Decode[page](t, e.API(token, "GET", "/api/projects", nil))
	assert.Len(t, first.Projects, 50, "50 by default")
	assert.Equal(t, "P119", first.Projects[0].Name, "newest first")

	for _, q := range []string{"page_size=0", "page_size=201", "page_size=x", "page_token=abc", "page_token=-1"} {
		resp := e.API(token, "GET", "/api/projects?"+q, nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
	}

	b := e.SignIn(alice)
	doc := apptest.ParseHTML(t, b.Get("/projects").Body)
	assert.Equal(t, 50, doc.Find(`[data-testid="project-list"] li`).Length())
	next, ok := doc.Find(`[data-testid="next-page"]`).Attr("href")
	require.True(t, ok, "the page links to older projects")
	older := apptest.ParseHTML(t, b.Get(next).Body)
	assert.Equal(t, "P069", apptest.Text(older, `[data-testid="project-list"] li:first-child .item-title`))
}

package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestEveryRequestHasAnIDInTheHeaderAndTheLog(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testEveryRequestHasAnIDInTheHeaderAndTheLog)
}

func testEveryRequestHasAnIDInTheHeaderAndTheLog(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.NewBrowser()
	seen := map[string]bool{}
	for _, path := range []string{"/healthz", "/", "/no-such-page", "/healthz"} {
		resp := b.Get(path)
		id := resp.Header.Get("X-Request-Id")
		require.Regexp(t, `^[0-9a-f]{16}$`, id, path)
		assert.False(t, seen[id], "ids are not reused")
		seen[id] = true
		assert.Contains(t, e.Logs.String(), "request_id="+id, "the access log line of %s carries its id", path)
	}

	// A client cannot choose its id (nor write into the log's correlation).
	req, err := http.NewRequest("GET", e.URL+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "forged-by-the-client")
	resp := apptest.Send(t, http.DefaultClient, req)
	assert.NotEqual(t, "forged-by-the-client", resp.Header.Get("X-Request-Id"))
	assert.NotContains(t, e.Logs.String(), "forged")
}

func TestAServerErrorShowsAReferenceThatLeadsToTheLog(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAServerErrorShowsAReferenceThatLeadsToTheLog)
}

func testAServerErrorShowsAReferenceThatLeadsToTheLog(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.SignIn(e.User("alice@acme.example"))
	token := e.Token(e.User("alice@acme.example"))
	require.Equal(t, http.StatusOK, b.Get("/projects").StatusCode)
	require.NoError(t, e.App.Close()) // the database goes away under the running app

	page := b.Get("/projects")
	require.Equal(t, http.StatusInternalServerError, page.StatusCode, page.Body)
	id := page.Header.Get("X-Request-Id")
	assert.Equal(t, id, apptest.Text(apptest.ParseHTML(t, page.Body), `[data-testid="reference"]`))
	assert.NotContains(t, page.Body, "sql", "no internals on the page")

	api := e.API(token, "GET", "/api/projects", nil)
	require.Equal(t, http.StatusInternalServerError, api.StatusCode, api.Body)
	assert.Contains(t, api.Body, `"request_id":"`+api.Header.Get("X-Request-Id")+`"`)

	// The log line that explains the failure carries the same id.
	var explained bool
	for _, line := range strings.Split(e.Logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "request_id="+id) && strings.Contains(line, "err=") {
			explained = true
		}
	}
	assert.True(t, explained, "an ERROR line with err= and request_id=%s:\n%s", id, e.Logs.String())
}

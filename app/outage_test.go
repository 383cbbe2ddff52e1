package app_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// TestADatabaseThatGoesAwayIsA503UntilItComesBack stops the app's
// PostgreSQL server abruptly under a signed-in user and an API client:
// requests are answered at once with 503 temporarily_unavailable, a
// Retry-After and a request id (not a 500, not a hang), and once the
// server is back the same instance serves again, without a restart.
func TestADatabaseThatGoesAwayIsA503UntilItComesBack(t *testing.T) {
	pg := databasetest.StartServer(t)
	cfg := pg.Config()
	e := apptest.Start(t, apptest.Options{Database: &cfg})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	token := e.Token(alice)
	require.Equal(t, http.StatusCreated, e.API(token, "POST", "/api/projects", map[string]string{"name": "before"}).StatusCode)

	pg.Crash()
	for _, tt := range []struct {
		name string
		call func() apptest.Response
	}{
		{"API read", func() apptest.Response { return e.API(token, "GET", "/api/projects", nil) }},
		{"API write", func() apptest.Response {
			return e.API(token, "POST", "/api/projects", map[string]string{"name": "during"})
		}},
		{"page", func() apptest.Response { return b.Get("/projects") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp := tt.call()
			took := time.Since(start)
			t.Logf("%s answered %d in %v with the database down", tt.name, resp.StatusCode, took)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, resp.Body)
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			assert.NoError(t, err, "Retry-After: %q", resp.Header.Get("Retry-After"))
			assert.Positive(t, retry)
			assert.Less(t, took, 5*time.Second, "answered, not hung")
			if tt.name != "page" {
				body := apptest.Decode[map[string]string](t, resp)
				assert.Equal(t, "temporarily_unavailable", body["error"])
				assert.NotEmpty(t, body["request_id"], "a request id to quote")
			} else {
				assert.Contains(t, resp.Body, "Temporarily unavailable")
			}
		})
	}
	assert.NotContains(t, e.Logs.String(), "status=500", "no request answered 500")

	pg.Start()
	deadline := time.Now().Add(10 * time.Second)
	var statuses []int
	for {
		resp := e.API(token, "GET", "/api/projects", nil)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("after the restart: %v", statuses)
	require.Equal(t, http.StatusOK, statuses[len(statuses)-1], "the instance reconnected by itself")
	for _, s := range statuses {
		assert.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, s, "no 5xx but 503 while reconnecting")
	}
	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode, "the session survived the outage")
	assert.Equal(t, http.StatusCreated, e.API(token, "POST", "/api/projects", map[string]string{"name": "after"}).StatusCode)
}

package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// TestLogsHoldNoSecrets runs sign-in, pages, API calls with good and bad
// tokens, a refresh, failures and logout, then searches everything the app
// logged for tokens, cookies, codes, state and the client secret.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testLogsHoldNoSecrets)
}

func testLogsHoldNoSecrets(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0) // the app's and the IdP's
	e := apptest.Start(t, apptest.Options{Engine: engine, AccessTokenTTL: 2 * time.Second, AppNow: clock.Now, IdPNow: clock.Now})
	alice := e.User("alice@acme.example")

	b := e.NewBrowser()
	login := b.Get("/login?return_to=/projects")
	authorize, err := url.Parse(login.Header.Get("Location"))
	require.NoError(t, err)
	state := authorize.Query().Get("state")
	callback := b.PickUser(alice, login).Header.Get("Location")
	code := apptest.MustURL(t, callback).Query().Get("code")
	require.Equal(t, http.StatusSeeOther, b.Do("GET", callback, nil, "").StatusCode)
	cookies := b.Client.Jar.Cookies(apptest.MustURL(t, e.URL))
	require.NotEmpty(t, cookies)

	b.Get("/projects")
	b.Get("/me")
	b.Post("/projects", url.Values{"name": {""}}) // a 400
	b.Do("GET", callback, nil, "")                // a replayed callback
	token := e.Token(alice)
	e.API(token, "GET", "/api/projects", nil)                                                            // a 200
	e.API(token+"x", "GET", "/api/projects", nil)                                                        // a bad signature
	e.API(e.Token(e.User("dave@acme.example")), "POST", "/api/projects", map[string]string{"name": "x"}) // a 403
	clock.Advance(2100 * time.Millisecond)
	b.Get("/projects") // a refresh
	b.Post("/logout", nil)

	logs := e.Logs.String()
	require.NotEmpty(t, logs)
	secrets := map[string]string{
		"an access token":        token,
		"the client secret":      mockidp.DemoClientSecret,
		"the authorization code": code,
		"the state":              state,
		"the session cookie":     cookies[0].Value,
	}
	for what, s := range secrets {
		require.NotEmpty(t, s, what)
		assert.NotContains(t, logs, s, "logs contain %s", what)
	}
	assert.NotContains(t, logs, "eyJ", "no JWT of any kind")
	assert.NotContains(t, strings.ToLower(logs), "authorization: bearer")
}

// TestTheAccessLogIsBounded sends anonymous requests with huge paths and
// methods: each adds one short line to the log, and no query string (which
// may carry a code or state) is logged at all.
func TestTheAccessLogIsBounded(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	long := "/" + strings.Repeat("a", 100<<10)
	tests := []struct {
		name   string
		method string
		target string
	}{
		{"a long unknown path", "GET", long},
		{"a long path under a gated route", "GET", "/projects/" + strings.Repeat("9", 100<<10)},
		{"a long path under the API", "GET", "/api" + long},
		{"a long method", strings.Repeat("X", 50<<10), "/healthz"},
		{"a query string with a code and state", "GET", "/auth/callback?code=code-SECRET-123&state=state-SECRET-456&x=" + strings.Repeat("q", 50<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.Logs.String())
			req, err := http.NewRequest(tt.method, e.URL+tt.target, nil)
			require.NoError(t, err)
			apptest.Send(t, http.DefaultClient, req)
			logged := e.Logs.String()[before:]
			require.Contains(t, logged, `msg=request`, "the request is logged")
			assert.Less(t, len(logged), 2<<10, "a request adds at most a few hundred bytes to the log")
			assert.NotContains(t, logged, "SECRET")
			assert.NotContains(t, logged, "qqqq", "no query string is logged")
		})
	}
	assert.Contains(t, e.Logs.String(), "bytes cut)", "a cut path says it was cut")
}

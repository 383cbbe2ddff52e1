package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// TestLogsHoldNoSecrets runs sign-in, pages, API calls with good and bad
// tokens, a refresh, failures and logout, then searches everything the app
// logged for tokens, cookies, codes, state and the client secret.
func TestLogsHoldNoSecrets(t *testing.T) { eachEngine(t, testLogsHoldNoSecrets) }

func testLogsHoldNoSecrets(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine, accessTokenTTL: 2 * time.Second})
	alice := e.user("alice@acme.example")

	b := e.newBrowser()
	login := b.get("/login?return_to=/projects")
	authorize, err := url.Parse(login.Header.Get("Location"))
	require.NoError(t, err)
	state := authorize.Query().Get("state")
	callback := b.pickUser(alice, login).Header.Get("Location")
	code := mustURL(t, callback).Query().Get("code")
	require.Equal(t, http.StatusSeeOther, b.do("GET", callback, nil, "").StatusCode)
	cookies := b.client.Jar.Cookies(mustURL(t, e.URL))
	require.NotEmpty(t, cookies)

	b.get("/projects")
	b.get("/me")
	b.post("/projects", url.Values{"name": {""}}) // a 400
	b.do("GET", callback, nil, "")                // a replayed callback
	token := e.token(alice)
	e.api(token, "GET", "/api/projects", nil)                                                            // a 200
	e.api(token+"x", "GET", "/api/projects", nil)                                                        // a bad signature
	e.api(e.token(e.user("dave@acme.example")), "POST", "/api/projects", map[string]string{"name": "x"}) // a 403
	time.Sleep(2100 * time.Millisecond)
	b.get("/projects") // a refresh
	b.post("/logout", nil)

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

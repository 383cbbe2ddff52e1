package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestADroppedSignInDoesNotRefuseTheNextOne(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client dropped the connection
	e.App.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", e.URL+"/login", nil))

	resp := e.newBrowser().get("/login")
	assert.Equal(t, http.StatusFound, resp.StatusCode, "the next sign-in goes to the IdP at once: %s", resp.Body)
}

func TestSignOutWorksWhileTheIdPIsDown(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSignOutWorksWhileTheIdPIsDown)
}

func testSignOutWorksWhileTheIdPIsDown(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0)
	e := startEnv(t, envOptions{engine: engine, appNow: clock.Now})
	b := e.signIn(e.user("bob@acme.example"))
	session := b.client.Jar.Cookies(mustURL(t, e.URL))
	require.Len(t, session, 1)
	require.NoError(t, e.IdP.Close())
	clock.Advance(time.Hour) // past the access token's expiry, by the app's clock
	require.Equal(t, http.StatusServiceUnavailable, b.get("/projects").StatusCode,
		"the session's token has expired and cannot be refreshed")

	resp := b.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "sign-out answers a redirect: %s", resp.Body)
	assert.Equal(t, "/", resp.Header.Get("Location"), "to the landing page: the IdP's end-session page is unreachable")
	assert.Equal(t, "/login?return_to=%2Fprojects", b.get("/projects").Header.Get("Location"), "signed out")

	replay := e.newBrowser()
	replay.client.Jar.SetCookies(mustURL(t, e.URL), session)
	got := replay.get("/projects")
	assert.Equal(t, http.StatusFound, got.StatusCode, "the old cookie names no session any more")
	assert.Equal(t, "/login?return_to=%2Fprojects", got.Header.Get("Location"))
}

func TestAClientThatWentAwayIsNotAServerError(t *testing.T) {
	t.Parallel()
	eachEngine(t, testAClientThatWentAwayIsNotAServerError)
}

func testAClientThatWentAwayIsNotAServerError(t *testing.T, engine database.Engine) {
	e := startEnv(t, envOptions{engine: engine})
	token := e.token(e.user("alice@acme.example"))
	require.Equal(t, http.StatusOK, e.api(token, "GET", "/api/projects", nil).StatusCode, "the key set is fetched")

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client dropped the connection before the store was read
	req := httptest.NewRequestWithContext(ctx, "GET", e.URL+"/api/projects", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.App.Handler().ServeHTTP(rec, req)

	assert.Equal(t, 499, rec.Code, "logged as a client that closed the connection")
	assert.NotContains(t, e.Logs.String(), "request failed", "no error line for it")
}

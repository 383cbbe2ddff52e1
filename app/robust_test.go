package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
)

func TestADroppedSignInDoesNotRefuseTheNextOne(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client dropped the connection
	e.App.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", e.URL+"/login", nil))

	resp := e.NewBrowser().Get("/login")
	assert.Equal(t, http.StatusFound, resp.StatusCode, "the next sign-in goes to the IdP at once: %s", resp.Body)
}

func TestSignOutWorksWhileTheIdPIsDown(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testSignOutWorksWhileTheIdPIsDown)
}

func testSignOutWorksWhileTheIdPIsDown(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0)
	e := apptest.Start(t, apptest.Options{Engine: engine, AppNow: clock.Now})
	b := e.SignIn(e.User("bob@acme.example"))
	session := b.Client.Jar.Cookies(apptest.MustURL(t, e.URL))
	require.Len(t, session, 1)
	require.NoError(t, e.IdP.Close())
	clock.Advance(time.Hour) // past the access token's expiry, by the app's clock
	require.Equal(t, http.StatusServiceUnavailable, b.Get("/projects").StatusCode,
		"the session's token has expired and cannot be refreshed")

	resp := b.Post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "sign-out answers a redirect: %s", resp.Body)
	assert.Equal(t, "/", resp.Header.Get("Location"), "to the landing page: the IdP's end-session page is unreachable")
	assert.Equal(t, "/login?return_to=%2Fprojects", b.Get("/projects").Header.Get("Location"), "signed out")

	replay := e.NewBrowser()
	replay.Client.Jar.SetCookies(apptest.MustURL(t, e.URL), session)
	got := replay.Get("/projects")
	assert.Equal(t, http.StatusFound, got.StatusCode, "the old cookie names no session any more")
	assert.Equal(t, "/login?return_to=%2Fprojects", got.Header.Get("Location"))
}

func TestAClientThatWentAwayIsNotAServerError(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAClientThatWentAwayIsNotAServerError)
}

func testAClientThatWentAwayIsNotAServerError(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	token := e.Token(e.User("alice@acme.example"))
	require.Equal(t, http.StatusOK, e.API(token, "GET", "/api/projects", nil).StatusCode, "the key set is fetched")

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client dropped the connection before the store was read
	req := httptest.NewRequestWithContext(ctx, "GET", e.URL+"/api/projects", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.App.Handler().ServeHTTP(rec, req)

	assert.Equal(t, 499, rec.Code, "logged as a client that closed the connection")
	assert.NotContains(t, e.Logs.String(), "request failed", "no error line for it")
}

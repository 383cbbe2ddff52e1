package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
)

func TestEveryDemoUserSignsInAndSeesTheirOrganization(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testEveryDemoUserSignsInAndSeesTheirOrganization)
}

func testEveryDemoUserSignsInAndSeesTheirOrganization(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	for _, u := range e.IdP.Users() {
		t.Run(u.Name, func(t *testing.T) {
			b := e.SignIn(u)
			home := b.Get("/")
			require.Equal(t, http.StatusOK, home.StatusCode)
			doc := apptest.ParseHTML(t, home.Body)
			assert.Equal(t, u.Name, apptest.Text(doc, `[data-testid="user-name"]`))
			assert.Equal(t, u.OrgID, apptest.Text(doc, `[data-testid="user-org"]`))
			assert.Equal(t, strings.Join(u.Roles, ""), apptest.Text(doc, `[data-testid="user-roles"]`))
		})
	}
}

func TestSessionCookieIsSmallOpaqueAndRenewedAtLogin(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testSessionCookieIsSmallOpaqueAndRenewedAtLogin)
}

func testSessionCookieIsSmallOpaqueAndRenewedAtLogin(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.NewBrowser()
	login := b.Get("/login")
	require.Equal(t, http.StatusFound, login.StatusCode)
	pending := apptest.Cookie(t, login.Header, "session_login")
	assert.True(t, pending.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, pending.SameSite)
	assert.Equal(t, 600, pending.MaxAge, "a sign-in may take 10 minutes at the IdP")
	assert.NotContains(t, pending.Value, apptest.MustURL(t, login.Header.Get("Location")).Query().Get("state"), "the pending sign-in is encrypted")
	assert.Empty(t, sessionRows(t, e), "starting a sign-in stores nothing")

	b.FinishSignIn(e.User("alice@acme.example"), login, "/")
	first := b.Client.Jar.Cookies(apptest.MustURL(t, e.URL))
	require.Len(t, first, 1, "the pending sign-in's cookie is gone, the session's is there")
	assert.Equal(t, "session", first[0].Name)
	assert.Less(t, len(first[0].Value), 200, "cookie holds only a signed id, not tokens")
	assert.NotContains(t, first[0].Value, "eyJ", "no JWT in the cookie")

	// Signing in again, in the same browser, replaces the session.
	b.SignInTo(e.User("bob@acme.example"), "/")
	second := b.Client.Jar.Cookies(apptest.MustURL(t, e.URL))
	require.Len(t, second, 1)
	assert.NotEqual(t, first[0].Value, second[0].Value, "session id renewed at sign-in")
	assert.Len(t, sessionRows(t, e), 1, "the earlier session is deleted")
}

func TestStartingSignInsCostsTheServerNoStorage(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testStartingSignInsCostsTheServerNoStorage)
}

func testStartingSignInsCostsTheServerNoStorage(t *testing.T, engine database.Engine) {
	// /login needs no account: a flood of sign-ins started and never
	// finished must not fill the database.
	e := apptest.Start(t, apptest.Options{Engine: engine})
	for range 100 {
		require.Equal(t, http.StatusFound, e.NewBrowser().Get("/login").StatusCode)
	}
	assert.Empty(t, sessionRows(t, e))
}

func TestAForgedOrAlteredPendingSignInIsRefused(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAForgedOrAlteredPendingSignInIsRefused)
}

func testAForgedOrAlteredPendingSignInIsRefused(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	tests := []struct {
		name  string
		alter func(c *http.Cookie)
	}{
		{"altered", func(c *http.Cookie) { c.Value = c.Value[:len(c.Value)-4] + "AAAA" }},
		{"made up", func(c *http.Cookie) { c.Value = "eyJzdGF0ZSI6IngifQ" }},
		{"absent", func(c *http.Cookie) { c.MaxAge = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.NewBrowser()
			login := b.Get("/login")
			callback := b.PickUser(alice, login).Header.Get("Location")
			c := apptest.Cookie(t, login.Header, "session_login")
			tt.alter(c)
			b.Client.Jar.SetCookies(apptest.MustURL(t, e.URL), []*http.Cookie{c})

			resp := b.Do("GET", callback, nil, "")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, resp.Body, "No sign-in was in progress in this browser")
			assert.Equal(t, http.StatusFound, b.Get("/projects").StatusCode, "not signed in")
		})
	}
}

func TestLogoutEndsTheSessionHereAndAtTheIdP(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testLogoutEndsTheSessionHereAndAtTheIdP)
}

func testLogoutEndsTheSessionHereAndAtTheIdP(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.SignIn(e.User("bob@acme.example"))
	require.Equal(t, http.StatusOK, b.Get("/projects").StatusCode)

	resp := b.Post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc := resp.Header.Get("Location")
	assert.True(t, strings.HasPrefix(loc, e.IdP.URL()+"/oidc/logout?"), "redirects to the IdP's end-session endpoint: %s", loc)
	assert.Contains(t, loc, "id_token_hint=")
	idp := b.Do("GET", loc, nil, "")
	assert.Equal(t, http.StatusFound, idp.StatusCode)
	assert.Equal(t, e.URL+"/", idp.Header.Get("Location"), "IdP sends the browser back to the landing page")

	again := b.Get("/projects")
	assert.Equal(t, http.StatusFound, again.StatusCode)
	assert.Equal(t, "/login?return_to=%2Fprojects", again.Header.Get("Location"))
}

func TestAccessTokenIsRefreshedBeforeItExpires(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAccessTokenIsRefreshedBeforeItExpires)
}

func testAccessTokenIsRefreshedBeforeItExpires(t *testing.T, engine database.Engine) {
	clock := testkit.NewOffsetClock(0) // the app's and the IdP's
	e := apptest.Start(t, apptest.Options{Engine: engine, AccessTokenTTL: 2 * time.Second, AppNow: clock.Now, IdPNow: clock.Now})
	b := e.SignIn(e.User("bob@acme.example"))
	require.Equal(t, http.StatusOK, b.Get("/projects").StatusCode)

	clock.Advance(2500 * time.Millisecond) // past the first access token's expiry
	for range 3 {
		resp := b.Get("/projects")
		require.Equal(t, http.StatusOK, resp.StatusCode, "still signed in after the access token expired")
	}
	assert.Contains(t, e.Logs.String(), "path=/projects status=200")
}

func TestConcurrentRequestsRefreshOnce(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testConcurrentRequestsRefreshOnce)
}

func testConcurrentRequestsRefreshOnce(t *testing.T, engine database.Engine) {
	// The IdP rotates refresh tokens and revokes the whole grant when a used
	// one is replayed: if two requests of one session refreshed at once, the
	// second would sign the user out. The app refreshes once per session.
	clock := testkit.NewOffsetClock(0) // the app's and the IdP's
	e := apptest.Start(t, apptest.Options{Engine: engine, AccessTokenTTL: 2 * time.Second, AppNow: clock.Now, IdPNow: clock.Now})
	b := e.SignIn(e.User("bob@acme.example"))
	clock.Advance(2100 * time.Millisecond)

	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() { statuses[i] = b.Get("/projects").StatusCode })
	}
	wg.Wait()
	for i, s := range statuses {
		assert.Equal(t, http.StatusOK, s, "request %d", i)
	}
	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode, "the grant survived: no refresh token was replayed")
}

func TestReturnToOnlyFollowsLocalPaths(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testReturnToOnlyFollowsLocalPaths)
}

func testReturnToOnlyFollowsLocalPaths(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	tests := []struct {
		name, returnTo, want string
	}{
		{"a local path is honoured", "/projects/42?tab=tasks", "/projects/42?tab=tasks"},
		{"an absolute URL is ignored", "https://evil.example/", "/"},
		{"a scheme-relative URL is ignored", "//evil.example/x", "/"},
		{"a backslash trick is ignored", "/\\evil.example", "/"},
		{"a javascript URL is ignored", "javascript:alert(1)", "/"},
		{"a long local path is honoured", "/projects?q=" + strings.Repeat("a", 1000), "/projects?q=" + strings.Repeat("a", 1000)},
		{"an over-long path (3.5 KB) lands on / instead of failing", "/projects/" + strings.Repeat("a", 3500), "/"},
		{"a path that JSON would blow past the cookie limit lands on /", "/" + strings.Repeat("<", 1000), "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.NewBrowser()
			resp := b.Get("/login?return_to=" + url.QueryEscape(tt.returnTo))
			require.Equal(t, http.StatusFound, resp.StatusCode)
			b.FinishSignIn(e.User("alice@acme.example"), resp, tt.want)
		})
	}
}

func TestALinkToLoginDoesNotSignAnyoneOut(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testALinkToLoginDoesNotSignAnyoneOut)
}

func testALinkToLoginDoesNotSignAnyoneOut(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.SignIn(e.User("alice@acme.example"))

	// Another site sends the signed-in browser to /login, then to a forged
	// callback: neither ends the session.
	login := b.Get("/login")
	require.Equal(t, http.StatusFound, login.StatusCode)
	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode, "still signed in after /login")
	forged := b.Get("/auth/callback?code=stolen&state=forged")
	assert.Equal(t, http.StatusBadRequest, forged.StatusCode)
	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode, "still signed in after a forged callback")

	// A real sign-in from there still works, under a new session id.
	before := b.Client.Jar.Cookies(apptest.MustURL(t, e.URL))[0].Value
	b.SignInTo(e.User("bob@acme.example"), "/")
	assert.NotEqual(t, before, b.Client.Jar.Cookies(apptest.MustURL(t, e.URL))[0].Value)
	assert.Equal(t, "Bob Manager", apptest.Text(apptest.ParseHTML(t, b.Get("/").Body), `[data-testid="user-name"]`))
}

func TestTwoInstancesSharingTheDatabaseRefreshASessionOnce(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTwoInstancesSharingTheDatabaseRefreshASessionOnce)
}

func testTwoInstancesSharingTheDatabaseRefreshASessionOnce(t *testing.T, engine database.Engine) {
	// Behind a load balancer, requests of one session land on different
	// instances. If both refreshed, the second would replay the rotated
	// refresh token and the IdP would revoke the sign-in.
	clock := testkit.NewOffsetClock(0) // both instances' and the IdP's
	e := apptest.Start(t, apptest.Options{Engine: engine, AccessTokenTTL: 2 * time.Second, AppNow: clock.Now, IdPNow: clock.Now})
	other := e.SecondInstance()
	b := e.SignIn(e.User("bob@acme.example")) // the cookie jar sends the cookie to both (same host)
	require.Equal(t, http.StatusOK, b.Do("GET", other+"/projects", nil, "").StatusCode, "the session works on the other instance")
	clock.Advance(2100 * time.Millisecond)

	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		base := e.URL
		if i%2 == 1 {
			base = other
		}
		wg.Go(func() { statuses[i] = b.Do("GET", base+"/projects", nil, "").StatusCode })
	}
	wg.Wait()
	for i, s := range statuses {
		assert.Equal(t, http.StatusOK, s, "request %d", i)
	}
	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode, "the sign-in survived")
}

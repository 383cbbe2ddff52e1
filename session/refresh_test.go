package session_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/session"
)

// cancelAfterTokenCall plays a browser that gives up while the app talks to
// the IdP's token endpoint: once armed, it runs the next token call and,
// as the IdP's answer arrives, cancels the browser's request.
type cancelAfterTokenCall struct {
	base   http.RoundTripper
	cancel atomic.Pointer[context.CancelFunc]
}

func (c *cancelAfterTokenCall) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/token") {
		if cancel := c.cancel.Swap(nil); cancel != nil {
			(*cancel)()
		}
	}
	return resp, err
}

// signedIn is a relying party with one signed-in browser session.
type signedIn struct {
	idp       *mockidp.Server
	clock     *testkit.Clock
	transport *cancelAfterTokenCall
	handler   http.Handler // a page behind the session middleware: 200 signed in, 401 not
	cookie    *http.Cookie
}

// signInForRefresh signs a demo user in through the real flow, on a clock
// the test moves.
func signInForRefresh(t *testing.T, e database.Engine) *signedIn {
	t.Helper()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	clock := testkit.NewClock(time.Now())
	idp := mockidptest.Start(t, mockidp.Config{Model: model, Now: clock.Now})

	transport := &cancelAfterTokenCall{base: http.DefaultTransport}
	app := startTestApp(t, e, idp.URL(), session.Config{HTTPClient: &http.Client{Transport: transport}, Now: clock.Now}, http.StatusServiceUnavailable)
	page := app.page

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(app.url + "/login") // follows to the IdP's picker
	require.NoError(t, err)
	resp.Body.Close()
	form := resp.Request.URL.Query()
	form.Set("user_id", idp.Users()[1].ID)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = client.PostForm(idp.URL()+"/oauth/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = client.Get(resp.Header.Get("Location"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed in")
	cookies := jar.Cookies(mustParse(t, app.url))
	require.Len(t, cookies, 1)
	return &signedIn{idp: idp, clock: clock, transport: transport, handler: page, cookie: cookies[0]}
}

// get serves one request of the session on ctx and returns its status.
func (s *signedIn) get(ctx context.Context) int {
	r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	r.AddCookie(s.cookie)
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	return w.Code
}

func TestARefreshWhoseBrowserGivesUpStillSavesTheNewTokens(t *testing.T) {
	databasetest.Run(t, testARefreshWhoseBrowserGivesUpStillSavesTheNewTokens)
}

func testARefreshWhoseBrowserGivesUpStillSavesTheNewTokens(t *testing.T, e database.Engine) {
	s := signInForRefresh(t, e)
	require.Equal(t, http.StatusOK, s.get(context.Background()))

	s.clock.Advance(6 * time.Minute) // the access token (5 minutes) has expired
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.transport.cancel.Store(&cancel)
	s.get(ctx) // refreshes; the browser leaves as the IdP rotates the refresh token
	require.Nil(t, s.transport.cancel.Load(), "the request was cancelled during the refresh")

	// The next refresh must use the rotated token: replaying the used one
	// would make the IdP revoke the whole sign-in.
	s.clock.Advance(6 * time.Minute)
	assert.Equal(t, http.StatusOK, s.get(context.Background()), "still signed in")
	assert.Equal(t, http.StatusOK, s.get(context.Background()))
}

func TestASessionTokenFoundExpiredIsRefreshedNotSignedOut(t *testing.T) {
	databasetest.Run(t, testASessionTokenFoundExpiredIsRefreshedNotSignedOut)
}

// The session knows when its token expires from the token response's
// expires_in, measured on arrival; the token's own exp may come sooner
// (an IdP that rounds, a slow request, a short lifetime). A token found
// expired by the verifier is refreshed, not taken as a sign-out.
func testASessionTokenFoundExpiredIsRefreshedNotSignedOut(t *testing.T, e database.Engine) {
	s := signInForRefresh(t, e)
	require.Equal(t, http.StatusOK, s.get(context.Background()))

	s.clock.Advance(6 * time.Minute)
	s.idp.TamperNextTokens(mockidp.Tamper{AccessClaims: func(c map[string]any) {
		c["exp"] = s.clock.Now().Add(-time.Second).Unix() // expires_in still says 5 minutes
	}})
	assert.Equal(t, http.StatusOK, s.get(context.Background()), "the expired token is replaced, the user stays signed in")
	assert.Equal(t, http.StatusOK, s.get(context.Background()))
}

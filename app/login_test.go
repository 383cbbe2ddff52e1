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
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// TestBadSignInsEndWithoutASession runs the relying-party cases of OpenID
// certification against the real callback: each must end on a page that
// explains, with a 4xx and no session, never a 500.
func TestBadSignInsEndWithoutASession(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testBadSignInsEndWithoutASession)
}

func testBadSignInsEndWithoutASession(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, bob := e.User("alice@acme.example"), e.User("bob@acme.example")
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	del := func(k string) func(map[string]any) { return func(c map[string]any) { delete(c, k) } }

	tests := []struct {
		name   string
		tamper mockidp.Tamper
		// callback edits the callback URL before the browser follows it.
		callback func(u *url.URL)
		reason   string
	}{
		{"a wrong nonce", mockidp.Tamper{IDClaims: set("nonce", "someone-elses")}, nil, "nonce mismatch"},
		{"a missing nonce", mockidp.Tamper{IDClaims: del("nonce")}, nil, "nonce mismatch"},
		{"an ID token with a bad signature", mockidp.Tamper{BreakSignature: true}, nil, "ID token did not verify"},
		{"an ID token from another issuer", mockidp.Tamper{IDClaims: set("iss", "https://evil.example")}, nil, "ID token did not verify"},
		{"an ID token for another audience", mockidp.Tamper{IDClaims: set("aud", []string{"skc_other"})}, nil, "ID token did not verify"},
		{"an expired ID token", mockidp.Tamper{IDClaims: set("exp", time.Now().Add(-time.Minute).Unix())}, nil, "ID token did not verify"},
		{"an ID token without sub", mockidp.Tamper{IDClaims: del("sub")}, nil, "names no user"},
		{"an ID token without iat", mockidp.Tamper{IDClaims: del("iat")}, nil, "no issue time (iat)"},
		{"an ID token issued in the future", mockidp.Tamper{IDClaims: set("iat", time.Now().Add(5*time.Minute).Unix())}, nil, "issued in the future"},
		{"an ID token whose azp is another client", mockidp.Tamper{IDClaims: set("azp", "skc_other")}, nil, "another client (azp)"},
		{"an ID token for several audiences without azp", mockidp.Tamper{IDClaims: func(c map[string]any) {
			c["aud"] = []string{mockidp.DemoClientID, "skc_other"}
			delete(c, "azp")
		}}, nil, "another client (azp)"},
		{"an access token without iat", mockidp.Tamper{AccessClaims: del("iat")}, nil, "access token did not verify"},
		{"an access token for another user", mockidp.Tamper{AccessClaims: set("sub", bob.ID)}, nil, "different users"},
		{"a state that does not match", mockidp.Tamper{}, func(u *url.URL) { q := u.Query(); q.Set("state", "forged"); u.RawQuery = q.Encode() }, "state mismatch"},
		{"a response naming another issuer", mockidp.Tamper{}, func(u *url.URL) { q := u.Query(); q.Set("iss", "https://evil.example"); u.RawQuery = q.Encode() }, "unexpected identity provider"},
		{"an error from the IdP", mockidp.Tamper{}, func(u *url.URL) {
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			u.RawQuery = q.Encode()
		}, "did not sign you in (access_denied)"},
		{"an error with free text", mockidp.Tamper{}, func(u *url.URL) {
			q := u.Query()
			q.Del("code")
			q.Set("error", "<script>alert(1)</script>")
			u.RawQuery = q.Encode()
		}, "did not sign you in (unknown_error)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.NewBrowser()
			login := b.Get("/login?return_to=/projects")
			require.Equal(t, http.StatusFound, login.StatusCode)
			e.IdP.TamperNextTokens(tt.tamper)
			callback := apptest.MustURL(t, b.PickUser(alice, login).Header.Get("Location"))
			if tt.callback != nil {
				tt.callback(callback)
			}
			resp := b.Do("GET", callback.String(), nil, "")
			e.IdP.TamperNextTokens(mockidp.Tamper{}) // unused tampering must not leak into the next case

			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			doc := apptest.ParseHTML(t, resp.Body)
			assert.Equal(t, "Sign-in failed", apptest.Text(doc, "h1"))
			assert.Contains(t, apptest.Text(doc, ".message"), tt.reason)
			assert.NotContains(t, resp.Body, "<script>alert")
			assert.Equal(t, http.StatusFound, b.Get("/projects").StatusCode, "no session was created")
		})
	}
}

func TestAuthorizationCodeReplayIsRefused(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAuthorizationCodeReplayIsRefused)
}

func testAuthorizationCodeReplayIsRefused(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.NewBrowser()
	login := b.Get("/login")
	callback := b.PickUser(alice, login).Header.Get("Location")
	require.Equal(t, http.StatusSeeOther, b.Do("GET", callback, nil, "").StatusCode)

	// An attacker who saw the callback URL starts their own sign-in and
	// presents the used code with their own, valid state.
	attacker := e.NewBrowser()
	start := apptest.MustURL(t, attacker.Get("/login").Header.Get("Location"))
	replay := apptest.MustURL(t, callback)
	q := replay.Query()
	q.Set("state", start.Query().Get("state"))
	replay.RawQuery = q.Encode()
	resp := attacker.Do("GET", replay.String(), nil, "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, apptest.Text(apptest.ParseHTML(t, resp.Body), ".message"), "refused the sign-in code")
	assert.Equal(t, http.StatusFound, attacker.Get("/projects").StatusCode, "the attacker has no session")
}

func TestCancelledSignInExplains(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testCancelledSignInExplains)
}

func testCancelledSignInExplains(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.NewBrowser()
	login := b.Get("/login")
	form := apptest.MustURL(t, login.Header.Get("Location")).Query()
	form.Set("cancel", "1")
	resp := b.Do("POST", e.IdP.URL()+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	page := b.Do("GET", resp.Header.Get("Location"), nil, "")
	assert.Equal(t, http.StatusBadRequest, page.StatusCode)
	assert.Contains(t, apptest.Text(apptest.ParseHTML(t, page.Body), ".message"), "access_denied")
}

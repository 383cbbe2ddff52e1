package mockidp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

func TestPickerGroupsUsersByOrganization(t *testing.T) {
	e := start(t)
	s := newSignIn()
	page := e.openPicker(t, e.authorizeURL(s))

	assert.Equal(t, "Sign in to "+mockidp.DemoClientID+" - mock Scalekit", page.title)
	assert.Equal(t, "/oauth/authorize", page.action)
	assert.Equal(t, map[string][]string{
		"Acme Corp":  {"usr_100000000000000001", "usr_100000000000000002", "usr_100000000000000003", "usr_100000000000000004"},
		"Globex Inc": {"usr_200000000000000001", "usr_200000000000000002"},
	}, page.orgs)
	assert.True(t, page.cancel, "the page offers Cancel")
	assert.Equal(t, s.state, page.hidden.Get("state"))
	assert.Equal(t, s.nonce, page.hidden.Get("nonce"))
	assert.Equal(t, "S256", page.hidden.Get("code_challenge_method"))
	assert.Equal(t, callback, page.hidden.Get("redirect_uri"))

	t.Run("Cancel returns access_denied with the state", func(t *testing.T) {
		loc := e.submit(t, page, url.Values{"cancel": {"1"}})
		assert.Equal(t, "access_denied", loc.Query().Get("error"))
		assert.Equal(t, s.state, loc.Query().Get("state"))
		assert.Empty(t, loc.Query().Get("code"))
	})
	t.Run("picking a user returns a code, the state and the issuer", func(t *testing.T) {
		loc := e.submit(t, page, url.Values{"user_id": {erin}})
		assert.Equal(t, "127.0.0.1:18080", loc.Host)
		assert.Equal(t, "/auth/callback", loc.Path)
		assert.NotEmpty(t, loc.Query().Get("code"))
		assert.Equal(t, s.state, loc.Query().Get("state"))
		assert.Equal(t, e.idp.URL(), loc.Query().Get("iss"))
	})
	t.Run("an organization_id limits the picker to that organization", func(t *testing.T) {
		p := e.openPicker(t, e.authorizeURL(s)+"&organization_id=org_200000000000000001")
		assert.Len(t, p.orgs, 1)
		assert.Contains(t, p.orgs, "Globex Inc")
	})
}

func TestAuthorizeRefusesBadRequests(t *testing.T) {
	e := start(t)
	s := newSignIn()
	good := func() url.Values {
		u, err := url.Parse(e.authorizeURL(s))
		require.NoError(t, err)
		return u.Query()
	}

	pageTests := []struct {
		name  string
		tweak func(url.Values)
	}{
		{"an unknown client gets an error page", func(v url.Values) { v.Set("client_id", "skc_nobody") }},
		{"an unregistered redirect_uri gets an error page", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/auth/callback") }},
		{"a look-alike of a registered path gets an error page", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:8080/auth/callback/extra") }},
		{"a non-loopback host on another port gets an error page", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.2:8080/auth/callback") }},
		{"a missing redirect_uri gets an error page", func(v url.Values) { v.Del("redirect_uri") }},
	}
	for _, tt := range pageTests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.tweak(v)
			resp, err := e.browser.Get(e.idp.URL() + "/oauth/authorize?" + v.Encode())
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Location"), "never redirect to an unvalidated URI")
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		})
	}

	redirectTests := []struct {
		name  string
		tweak func(url.Values)
		want  string
	}{
		{"a missing code_challenge is refused", func(v url.Values) { v.Del("code_challenge") }, "invalid_request"},
		{"the plain PKCE method is refused", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"a missing PKCE method is refused, as it means plain", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request"},
		{"a malformed code_challenge is refused", func(v url.Values) { v.Set("code_challenge", "short") }, "invalid_request"},
		{"a scope without openid is refused", func(v url.Values) { v.Set("scope", "profile email") }, "invalid_scope"},
		{"the implicit flow is refused", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		{"a repeated parameter is refused", func(v url.Values) { v.Add("scope", "openid") }, "invalid_request"},
		{"prompt=none is refused, as the mock always asks", func(v url.Values) { v.Set("prompt", "none") }, "login_required"},
	}
	for _, tt := range redirectTests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.tweak(v)
			resp, err := e.browser.Get(e.idp.URL() + "/oauth/authorize?" + v.Encode())
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := resp.Location()
			require.NoError(t, err)
			assert.Equal(t, "/auth/callback", loc.Path)
			assert.Equal(t, tt.want, loc.Query().Get("error"))
			assert.NotEmpty(t, loc.Query().Get("error_description"))
			assert.Equal(t, s.state, loc.Query().Get("state"))
			assert.Empty(t, loc.Query().Get("code"))
		})
	}

	t.Run("the picker's POST checks the request again", func(t *testing.T) {
		v := good()
		v.Set("code_challenge_method", "plain")
		v.Set("user_id", alice)
		resp, err := e.browser.PostForm(e.idp.URL()+"/oauth/authorize", v)
		require.NoError(t, err)
		resp.Body.Close()
		loc, err := resp.Location()
		require.NoError(t, err)
		assert.Equal(t, "invalid_request", loc.Query().Get("error"))
	})
	t.Run("the picker's POST refuses an unknown user", func(t *testing.T) {
		v := good()
		v.Set("user_id", "usr_999")
		resp, err := e.browser.PostForm(e.idp.URL()+"/oauth/authorize", v)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("the picker's POST is refused cross-site", func(t *testing.T) {
		v := good()
		v.Set("user_id", alice)
		req, err := http.NewRequest(http.MethodPost, e.idp.URL()+"/oauth/authorize", strings.NewReader(v.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := e.browser.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

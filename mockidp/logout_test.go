package mockidp_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
)

func (e *env) logout(t testing.TB, params url.Values) *http.Response {
	t.Helper()
	resp, err := e.browser.Get(e.idp.URL() + "/oidc/logout?" + params.Encode())
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestLogoutRedirectsOnlyToRegisteredURIs(t *testing.T) {
	e := start(t)
	tok, _ := e.tokens(t, alice)
	hint := tok.Extra("id_token").(string)
	other := mockidptest.Start(t, mockidp.Config{Model: e.model})
	foreign, err := other.Sign(map[string]any{"iss": other.URL(), "azp": mockidp.DemoClientID})
	require.NoError(t, err)

	tests := []struct {
		name       string
		params     url.Values
		wantStatus int
		wantTo     string
	}{
		{"a registered URI gets the browser back with the state",
			url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:8080/"}, "state": {"xyz"}},
			http.StatusFound, "http://127.0.0.1:8080/?state=xyz"},
		{"a loopback URI on another port is accepted",
			url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://localhost:18080/"}},
			http.StatusFound, "http://localhost:18080/"},
		{"an unregistered URI is refused",
			url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}},
			http.StatusBadRequest, ""},
		{"a registered URI without a hint is refused, since the client is unknown",
			url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:8080/"}},
			http.StatusBadRequest, ""},
		{"a hint signed by another IdP is refused",
			url.Values{"id_token_hint": {foreign}, "post_logout_redirect_uri": {"http://127.0.0.1:8080/"}},
			http.StatusBadRequest, ""},
		{"a hint that is not a JWT is refused",
			url.Values{"id_token_hint": {"nonsense"}},
			http.StatusBadRequest, ""},
		{"no redirect URI shows the signed-out page",
			url.Values{"id_token_hint": {hint}},
			http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.logout(t, tt.params)
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantTo, resp.Header.Get("Location"))
			if tt.wantStatus != http.StatusFound {
				assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			}
		})
	}

	t.Run("the signed-out page says so", func(t *testing.T) {
		page := parsePicker(t, e.logout(t, url.Values{}).Body)
		assert.Equal(t, "Signed out - mock Scalekit", page.title)
	})
	t.Run("an expired hint is still accepted", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		resp := e.logout(t, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://localhost:8080/"}})
		assert.Equal(t, http.StatusFound, resp.StatusCode)
	})
}

func TestLogoutEndsTheSignInsRefreshTokens(t *testing.T) {
	e := start(t)
	tok, _ := e.tokens(t, alice, "openid", "offline_access")
	resp := e.logout(t, url.Values{"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {"http://localhost:8080/"}})
	require.Equal(t, http.StatusFound, resp.StatusCode)

	status, body := e.refresh(t, tok.RefreshToken)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"])
}

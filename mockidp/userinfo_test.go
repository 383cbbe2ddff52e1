package mockidp_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
)

func TestUserinfoAnswersOnlyForItsOwnAccessTokens(t *testing.T) {
	e := start(t)
	other := mockidptest.Start(t, mockidp.Config{Model: e.model})
	tok, _ := e.tokens(t, alice)
	now := e.clock.Now()

	sign := func(claims map[string]any) string {
		s, err := e.idp.Sign(claims)
		require.NoError(t, err)
		return s
	}
	mint := func(idp *mockidp.Server) string {
		s, err := idp.AccessToken(alice, mockidp.DemoClientID)
		require.NoError(t, err)
		return s
	}
	valid := map[string]any{"iss": e.idp.URL(), "sub": alice, "jti": "tkn_1", "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
	// with returns valid claims with one changed; nil removes it.
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}

	tests := []struct {
		name   string
		auth   string
		wantOK bool
	}{
		{"an access token from the code flow is accepted", "Bearer " + tok.AccessToken, true},
		{"a minted access token is accepted", "Bearer " + mint(e.idp), true},
		{"the scheme is case-insensitive", "bearer " + tok.AccessToken, true},
		{"no Authorization header is refused", "", false},
		{"a Basic header is refused", "Basic YTpi", false},
		{"an ID token is refused", "Bearer " + tok.Extra("id_token").(string), false},
		{"an expired token is refused", "Bearer " + sign(with("exp", now.Add(-time.Minute).Unix())), false},
		{"a token without exp is refused", "Bearer " + sign(with("exp", nil)), false},
		{"a token not yet valid is refused", "Bearer " + sign(with("nbf", now.Add(time.Hour).Unix())), false},
		{"a token of another issuer is refused", "Bearer " + sign(with("iss", "https://elsewhere.example")), false},
		{"a token signed by another IdP is refused", "Bearer " + mint(other), false},
		{"garbage is refused", "Bearer not.a.jwt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, e.provider.UserInfoEndpoint(), nil)
			require.NoError(t, err)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()

			if !tt.wantOK {
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
				assert.Equal(t, `Bearer error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var got map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
			u := demoUser(t, alice)
			assert.Equal(t, map[string]any{
				"sub": u.ID, "email": u.Email, "email_verified": true,
				"name": u.Name, "given_name": u.GivenName, "family_name": u.FamilyName,
			}, got)
		})
	}
}

package mockidp_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

func TestCodeFlowYieldsVerifiableTokens(t *testing.T) {
	e := start(t)
	for _, u := range mockidp.DemoUsers() {
		t.Run(u.Name+" signs in", func(t *testing.T) {
			tok, s := e.tokens(t, u.ID)
			ctx := context.Background()

			rawID, ok := tok.Extra("id_token").(string)
			require.True(t, ok, "the answer has an id_token")
			id, err := e.verifier.Verify(ctx, rawID)
			require.NoError(t, err)
			assert.Equal(t, s.nonce, id.Nonce)
			assert.NoError(t, id.VerifyAccessToken(tok.AccessToken), "at_hash binds the ID token to the access token")

			// The access token verifies the same way: RS256, issuer, audience.
			_, err = e.verifier.Verify(ctx, tok.AccessToken)
			require.NoError(t, err)

			assert.Equal(t, "Bearer", tok.TokenType)
			assert.Equal(t, int64(300), tok.ExpiresIn)
			assert.Empty(t, tok.RefreshToken, "no refresh token without offline_access")
			assert.Equal(t, "openid profile email", tok.Extra("scope"))

			at := claims(t, tok.AccessToken)
			assert.ElementsMatch(t, []string{"iss", "sub", "aud", "client_id", "exp", "iat", "nbf", "jti", "sid", "oid", "roles", "permissions"}, keys(at))
			assert.Equal(t, e.idp.URL(), at["iss"])
			assert.Equal(t, u.ID, at["sub"])
			assert.Equal(t, []string{mockidp.DemoClientID}, strs(at["aud"]))
			assert.Equal(t, mockidp.DemoClientID, at["client_id"])
			assert.Equal(t, u.OrgID, at["oid"])
			assert.Equal(t, u.Roles, strs(at["roles"]))
			assert.Equal(t, tokenPermissions(e.model, u.Roles...), strs(at["permissions"]), "the roles' permissions, Scalekit's own included")
			assert.Equal(t, 300.0, at["exp"].(float64)-at["iat"].(float64))
			assert.Equal(t, at["iat"], at["nbf"])
			assert.Regexp(t, regexp.MustCompile(`^tkn_\d{18}$`), at["jti"])
			assert.Regexp(t, regexp.MustCompile(`^ses_\d{18}$`), at["sid"])
			h := header(t, tok.AccessToken)
			assert.Equal(t, "JWT", h.ExtraHeaders["typ"])
			assert.NotEmpty(t, h.KeyID)

			it := claims(t, rawID)
			assert.ElementsMatch(t, []string{"iss", "sub", "aud", "azp", "client_id", "exp", "iat", "nonce", "at_hash",
				"email", "email_verified", "name", "given_name", "family_name", "oid", "roles", "sid"}, keys(it))
			assert.Equal(t, u.Email, it["email"])
			assert.Equal(t, true, it["email_verified"])
			assert.Equal(t, u.Name, it["name"])
			assert.Equal(t, u.GivenName, it["given_name"])
			assert.Equal(t, u.FamilyName, it["family_name"])
			assert.Equal(t, u.OrgID, it["oid"])
			assert.Equal(t, u.Roles, strs(it["roles"]))
			assert.Equal(t, mockidp.DemoClientID, it["azp"])
			assert.Equal(t, at["sid"], it["sid"], "one session for both tokens")
		})
	}
}

func TestTheTokenEndpointAcceptsOnlyClientSecretPost(t *testing.T) {
	e := start(t)
	for _, tt := range []struct {
		name  string
		style oauth2.AuthStyle
		ok    bool
	}{
		{"client_secret_post, the secret in the form, is accepted", oauth2.AuthStyleInParams, true},
		{"client_secret_basic, the secret in the Authorization header, is refused", oauth2.AuthStyleInHeader, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, s := e.login(t, alice)
			cfg := *e.oauth
			cfg.Endpoint.AuthStyle = tt.style
			tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(s.verifier))
			if tt.ok {
				require.NoError(t, err)
				assert.NotEmpty(t, tok.AccessToken)
				return
			}
			re := retrieveError(t, err)
			assert.Equal(t, http.StatusUnauthorized, re.Response.StatusCode)
			assert.Equal(t, "invalid_client", re.ErrorCode)
			assert.Contains(t, re.ErrorDescription, "client_secret_post")
		})
	}
}

func TestTokenEndpointRefusesBadExchanges(t *testing.T) {
	e := start(t)
	tests := []struct {
		name       string
		tweak      func(form url.Values)
		wantStatus int
		wantError  string
	}{
		{"a wrong code_verifier", func(f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) }, 400, "invalid_grant"},
		{"a missing code_verifier", func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_request"},
		{"another redirect_uri than at authorize", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:8080/auth/callback") }, 400, "invalid_grant"},
		{"an unknown code", func(f url.Values) { f.Set("code", "nope") }, 400, "invalid_grant"},
		{"a wrong client secret", func(f url.Values) { f.Set("client_secret", "guess") }, 401, "invalid_client"},
		{"an unknown client", func(f url.Values) { f.Set("client_id", "skc_nobody") }, 401, "invalid_client"},
		{"no client authentication", func(f url.Values) { f.Set("client_id", ""); f.Del("client_secret") }, 401, "invalid_client"},
		{"an unsupported grant type", func(f url.Values) { f.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			code, s := e.login(t, alice)
			form := url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {code},
				"redirect_uri":  {callback},
				"code_verifier": {s.verifier},
				"client_id":     {mockidp.DemoClientID},
				"client_secret": {mockidp.DemoClientSecret},
			}
			tt.tweak(form)
			status, body := e.postToken(t, form)
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantError, body["error"])
			assert.NotContains(t, body, "access_token")
		})
	}

	t.Run("an expired code is refused", func(t *testing.T) {
		code, s := e.login(t, alice)
		e.clock.Advance(61 * time.Second)
		_, err := e.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(s.verifier))
		assert.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	})
}

func TestCodeReplayIsRefusedAndRevokesItsRefreshTokens(t *testing.T) {
	e := start(t)
	code, s := e.login(t, alice, "openid", "offline_access")
	tok, err := e.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(s.verifier))
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)

	_, err = e.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(s.verifier))
	assert.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)

	status, body := e.refresh(t, tok.RefreshToken)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"], "the refresh token of a replayed code is revoked")
}

func retrieveError(t testing.TB, err error) *oauth2.RetrieveError {
	t.Helper()
	require.Error(t, err)
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	return re
}

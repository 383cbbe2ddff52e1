package mockidp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

func TestRefreshTokensRotateAndAReplayKillsTheFamily(t *testing.T) {
	e := start(t)
	tok, _ := e.tokens(t, carol, "openid", "offline_access")
	first := tok.RefreshToken
	require.NotEmpty(t, first)

	status, second := e.refresh(t, first)
	require.Equal(t, http.StatusOK, status)
	assert.NotEmpty(t, second["refresh_token"])
	assert.NotEqual(t, first, second["refresh_token"], "a new refresh token in each answer")
	assert.NotEqual(t, tok.AccessToken, second["access_token"])
	require.IsType(t, "", second["id_token"])
	_, err := e.verifier.Verify(context.Background(), second["id_token"].(string))
	assert.NoError(t, err, "the refreshed ID token verifies")
	assert.Equal(t, claims(t, tok.AccessToken)["sid"], claims(t, second["access_token"].(string))["sid"],
		"a refresh keeps the session")
	assert.NotContains(t, claims(t, second["id_token"].(string)), "nonce", "a refresh is no new authentication")
	assert.Equal(t, "openid offline_access", second["scope"])

	status, body := e.refresh(t, first)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"], "a used refresh token is refused")

	status, body = e.refresh(t, second["refresh_token"].(string))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"], "the replay revoked the newest token of the family too")
}

func TestStandardTokenSourceRefreshes(t *testing.T) {
	e := start(t)
	tok, _ := e.tokens(t, alice, "openid", "offline_access")
	tok.Expiry = time.Now().Add(-time.Minute) // make x/oauth2 think it expired

	fresh, err := e.oauth.TokenSource(context.Background(), tok).Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	assert.NotEqual(t, tok.RefreshToken, fresh.RefreshToken)
}

func TestRefreshedTokensCarryTheCurrentRoles(t *testing.T) {
	e := start(t)
	tok, _ := e.tokens(t, carol, "openid", "offline_access")
	require.Equal(t, []string{"team_member"}, strs(claims(t, tok.AccessToken)["roles"]))

	require.NoError(t, e.idp.SetUserRoles(carol, []string{"project_manager", "viewer"}))
	status, body := e.refresh(t, tok.RefreshToken)
	require.Equal(t, http.StatusOK, status)

	at := claims(t, body["access_token"].(string))
	assert.Equal(t, []string{"project_manager", "viewer"}, strs(at["roles"]))
	assert.Equal(t, permissionNames(e.model.Effective("project_manager", "viewer")), strs(at["permissions"]))
	assert.Equal(t, []string{"project_manager", "viewer"}, strs(claims(t, body["id_token"].(string))["roles"]))

	for _, u := range e.idp.Users() {
		if u.ID == carol {
			assert.Equal(t, []string{"project_manager", "viewer"}, u.Roles, "Users shows the change")
		}
	}
}

func TestSetUserRolesRefusesWhatTheModelLacks(t *testing.T) {
	e := start(t)
	tests := []struct {
		name   string
		userID string
		roles  []string
	}{
		{"an unknown user", "usr_999", []string{"viewer"}},
		{"a role the seed file does not define", carol, []string{"superuser"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			assert.Error(t, e.idp.SetUserRoles(tt.userID, tt.roles))
			assert.Equal(t, demoUser(t, carol).Roles, rolesOf(e.idp, carol), "a refused change changes nothing")
		})
	}
	t.Run("no roles at all is allowed and grants nothing", func(t *testing.T) {
		require.NoError(t, e.idp.SetUserRoles(carol, nil))
		tok, err := e.idp.AccessToken(carol, mockidp.DemoClientID)
		require.NoError(t, err)
		at := claims(t, tok)
		assert.Equal(t, []string{}, strs(at["roles"]))
		assert.Equal(t, []any{}, at["permissions"], "an empty array, not null")
	})
}

func rolesOf(idp *mockidp.Server, userID string) []string {
	for _, u := range idp.Users() {
		if u.ID == userID {
			return u.Roles
		}
	}
	return nil
}

func TestClientCredentialsYieldAManagementToken(t *testing.T) {
	e := start(t)
	cc := clientcredentials.Config{
		ClientID:     mockidp.DemoClientID,
		ClientSecret: mockidp.DemoClientSecret,
		TokenURL:     e.provider.Endpoint().TokenURL,
		AuthStyle:    oauth2.AuthStyleInParams, // as the scalekit package sends them
	}
	tok, err := cc.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 86400.0, tok.Extra("expires_in"), "a management token lives a day")
	assert.Nil(t, tok.Extra("id_token"))
	assert.Empty(t, tok.RefreshToken)

	at := claims(t, tok.AccessToken)
	assert.ElementsMatch(t, []string{"iss", "sub", "aud", "client_id", "exp", "iat", "nbf", "jti"}, keys(at))
	assert.Equal(t, mockidp.DemoClientID, at["sub"])
	assert.Equal(t, mockidp.DemoClientID, at["client_id"])
	assert.Equal(t, []string{mockidp.DemoClientID}, strs(at["aud"]))

	cc.ClientSecret = "guess"
	_, err = cc.Token(context.Background())
	assert.Equal(t, "invalid_client", retrieveError(t, err).ErrorCode)
}

func TestAccessTokenMintsWhatTheTokenEndpointWould(t *testing.T) {
	e := start(t)
	tok, err := e.idp.AccessToken(erin, mockidp.DemoClientID)
	require.NoError(t, err)
	_, err = e.verifier.Verify(context.Background(), tok)
	require.NoError(t, err)
	at := claims(t, tok)
	assert.Equal(t, erin, at["sub"])
	assert.Equal(t, "org_200000000000000001", at["oid"])
	assert.Equal(t, tokenPermissions(e.model, "admin"), strs(at["permissions"]))

	_, err = e.idp.AccessToken("usr_999", mockidp.DemoClientID)
	assert.Error(t, err, "unknown user")
	_, err = e.idp.AccessToken(erin, "skc_nobody")
	assert.Error(t, err, "unknown client")
}

func TestRefreshesAndReplaysAreCounted(t *testing.T) {
	e := start(t)
	tok, _ := e.tokens(t, carol, "openid", "offline_access")
	require.Zero(t, e.idp.Refreshes())

	status, _ := e.refresh(t, tok.RefreshToken)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, int64(1), e.idp.Refreshes(), "one token spent")
	assert.Zero(t, e.idp.RefreshReplays())

	status, _ = e.refresh(t, tok.RefreshToken)
	require.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, int64(1), e.idp.Refreshes(), "a replay spends nothing")
	assert.Equal(t, int64(1), e.idp.RefreshReplays(), "and is counted")
}

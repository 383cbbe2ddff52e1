package mockidp_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscoveryAdvertisesScalekitPaths(t *testing.T) {
	e := start(t)
	iss := e.idp.URL()

	resp, err := http.Get(iss + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))

	want := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth/authorize",
		"token_endpoint":                        iss + "/oauth/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/keys",
		"end_session_endpoint":                  iss + "/oidc/logout",
		"response_types_supported":              []any{"code"},
		"grant_types_supported":                 []any{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"code_challenge_methods_supported":      []any{"S256"},
		"scopes_supported":                      []any{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_post"},
	}
	for field, w := range want {
		assert.Equal(t, w, got[field], field)
	}
	assert.Subset(t, got["claims_supported"], []any{"sub", "oid", "roles", "permissions", "email", "sid"})
}

func TestStandardRelyingPartyDiscoversTheMock(t *testing.T) {
	e := start(t) // go-oidc's NewProvider checks that the issuer matches

	assert.Equal(t, e.idp.URL()+"/oauth/authorize", e.provider.Endpoint().AuthURL)
	assert.Equal(t, e.idp.URL()+"/oauth/token", e.provider.Endpoint().TokenURL)
	assert.Equal(t, e.idp.URL()+"/userinfo", e.provider.UserInfoEndpoint())
}

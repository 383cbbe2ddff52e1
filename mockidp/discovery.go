package mockidp

import "net/http"

// discovery is the OpenID Provider Metadata (OpenID Connect Discovery 1.0
// section 3). Relying parties take every endpoint from here, so the mock's
// paths could change without breaking them; they match Scalekit's anyway.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	AuthorizationResponseIssParameter bool     `json:"authorization_response_iss_parameter_supported"`
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, discovery{
		Issuer:                            s.issuer,
		AuthorizationEndpoint:             s.issuer + "/oauth/authorize",
		TokenEndpoint:                     s.issuer + "/oauth/token",
		UserinfoEndpoint:                  s.issuer + "/userinfo",
		JWKSURI:                           s.issuer + "/keys",
		EndSessionEndpoint:                s.issuer + "/oidc/logout",
		ResponseTypesSupported:            []string{"code"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ScopesSupported:                   supportedScopes,
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post"}, // what Scalekit documents; see authenticateClient
		ClaimsSupported: []string{
			"iss", "sub", "aud", "azp", "client_id", "exp", "iat", "nbf", "jti", "nonce", "at_hash", "sid",
			"email", "email_verified", "name", "given_name", "family_name", "oid", "roles", "permissions",
		},
		AuthorizationResponseIssParameter: true,
	})
	return nil
}

package app_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
)

// TestAccessTokenVerification sends hand-built tokens to the API: only a
// token that verifies in every respect gets through.
func TestAccessTokenVerification(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAccessTokenVerification)
}

func testAccessTokenVerification(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	bob := e.User("bob@acme.example")
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": e.IdP.URL(), "sub": bob.ID, "aud": []string{mockidp.DemoClientID}, "client_id": mockidp.DemoClientID,
			"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
			"jti": "tkn_1", "sid": "ses_1", "oid": bob.OrgID, "roles": bob.Roles,
			"permissions": e.Model.Effective(bob.Roles...),
		}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(c map[string]any) string {
		tok, err := e.IdP.Sign(c)
		require.NoError(t, err)
		return tok
	}
	valid := sign(claims(nil))

	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"a valid token is accepted", valid, http.StatusOK},
		{"aud as a plain string is accepted too", sign(claims(func(c map[string]any) { c["aud"] = mockidp.DemoClientID })), http.StatusOK},
		{"a token without nbf is accepted", sign(claims(func(c map[string]any) { delete(c, "nbf") })), http.StatusOK},
		{"alg none is refused", algNone(t, claims(nil)), http.StatusUnauthorized},
		{"HS256 keyed with the IdP's public key is refused", hs256WithPublicKey(t, e, claims(nil)), http.StatusUnauthorized},
		{"a bad signature is refused", tamperSignature(valid), http.StatusUnauthorized},
		{"a changed payload is refused", swapPayload(valid, claims(func(c map[string]any) { c["permissions"] = []string{"roles:assign"} })), http.StatusUnauthorized},
		{"a wrong issuer is refused", sign(claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), http.StatusUnauthorized},
		{"a wrong audience is refused", sign(claims(func(c map[string]any) { c["aud"] = []string{"skc_other"} })), http.StatusUnauthorized},
		{"a token minted for another client is refused", sign(claims(func(c map[string]any) { c["client_id"] = "skc_other" })), http.StatusUnauthorized},
		{"an expired token is refused", sign(claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), http.StatusUnauthorized},
		{"nbf in the future is refused", sign(claims(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })), http.StatusUnauthorized},
		{"iat in the future is refused", sign(claims(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })), http.StatusUnauthorized},
		{"a token without sub is refused", sign(claims(func(c map[string]any) { delete(c, "sub") })), http.StatusUnauthorized},
		{"a token without oid is refused: no shared empty organization", sign(claims(func(c map[string]any) { delete(c, "oid") })), http.StatusUnauthorized},
		{"an empty oid is refused", sign(claims(func(c map[string]any) { c["oid"] = "" })), http.StatusUnauthorized},
		{"a client-credentials token is not a user", sign(claims(func(c map[string]any) { c["sub"] = mockidp.DemoClientID; delete(c, "oid") })), http.StatusUnauthorized},
		{"an ID token is refused", sign(claims(func(c map[string]any) { c["nonce"] = "n" })), http.StatusUnauthorized},
		{"an ID token without nonce or at_hash is refused by its profile claims", sign(idTokenLike(claims(nil))), http.StatusUnauthorized},
		{"an ID token with only an email besides is refused", sign(claims(func(c map[string]any) { c["email"] = bob.Email })), http.StatusUnauthorized},
		{"an ID token with only auth_time besides is refused", sign(claims(func(c map[string]any) { c["auth_time"] = now.Unix() })), http.StatusUnauthorized},
		{"an ID token typed id_token+jwt is refused", signTyped(t, e, "id_token+jwt", claims(nil)), http.StatusUnauthorized},
		{"a token without iat is refused", sign(claims(func(c map[string]any) { delete(c, "iat") })), http.StatusUnauthorized},
		{"a token without client_id is refused", sign(claims(func(c map[string]any) { delete(c, "client_id") })), http.StatusUnauthorized},
		{"an azp of another client is refused", sign(claims(func(c map[string]any) { c["azp"] = "skc_other" })), http.StatusUnauthorized},
		{"an unknown kid is refused", signWithUnknownKey(t, claims(nil)), http.StatusUnauthorized},
		{"garbage is refused", "not.a.jwt", http.StatusUnauthorized},
		{"an embedded jwk header is not trusted", signWithHeader(t, claims(nil), "jwk", nil), http.StatusUnauthorized},
		{"a jku header is never fetched", signWithHeader(t, claims(nil), "jku", "http://127.0.0.1:1/keys"), http.StatusUnauthorized},
		{"an x5u header is never fetched", signWithHeader(t, claims(nil), "x5u", "http://127.0.0.1:1/cert"), http.StatusUnauthorized},
		{"a kid with a path is just an unknown kid", signWithHeader(t, claims(nil), "kid", "../../../../etc/passwd"), http.StatusUnauthorized},
		{"a 100 KB token is refused, not a 500", strings.Repeat("a", 100<<10) + "." + strings.Repeat("b", 10) + ".c", http.StatusUnauthorized},
		{"a token of the IdP's key with the attacker's claims is refused", swapPayload(valid, claims(func(c map[string]any) { c["oid"] = "org_200000000000000001" })), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.API(tt.token, "GET", "/api/me", nil)
			assert.Equal(t, tt.want, resp.StatusCode, resp.Body)
			if tt.want == http.StatusUnauthorized {
				assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`)
				body := apptest.Decode[map[string]string](t, resp)
				assert.Equal(t, "invalid_token", body["error"])
				assert.NotEmpty(t, body["error_description"], "the developer is told why")
			}
		})
	}
}

// idTokenLike turns access-token claims into what an ID token of the same
// sign-in carries, minus nonce and at_hash: what an attacker who found an
// ID token without them (or an IdP that omits them) would present.
func idTokenLike(c map[string]any) map[string]any {
	delete(c, "permissions")
	delete(c, "jti")
	delete(c, "nbf")
	c["azp"] = mockidp.DemoClientID
	c["email"], c["email_verified"], c["name"] = "bob@acme.example", true, "Bob Manager"
	return c
}

// TestAnIssuerTypingItsAccessTokensIsHeldToIt: an at+jwt access token is
// accepted; once the issuer is seen to type its access tokens so, a token
// typed JWT (an ID token) is refused even with nothing else to give it away.
func TestAnIssuerTypingItsAccessTokensIsHeldToIt(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	bob := e.User("bob@acme.example")
	now := time.Now()
	claims := map[string]any{
		"iss": e.IdP.URL(), "sub": bob.ID, "aud": []string{mockidp.DemoClientID}, "client_id": mockidp.DemoClientID,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "tkn_1", "sid": "ses_1", "oid": bob.OrgID,
		"roles": bob.Roles, "permissions": e.Model.Effective(bob.Roles...),
	}
	plain, err := e.IdP.Sign(claims)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, e.API(plain, "GET", "/api/me", nil).StatusCode, "untyped tokens work until the issuer is seen to type them")

	for _, typ := range []string{"at+jwt", "application/at+jwt", "AT+JWT"} {
		claims["jti"] = "tkn_" + typ
		assert.Equal(t, http.StatusOK, e.API(signTyped(t, e, typ, claims), "GET", "/api/me", nil).StatusCode, typ)
	}

	claims["jti"] = "tkn_2" // a new token, not one cached as verified
	stripped, err := e.IdP.Sign(claims)
	require.NoError(t, err)
	got := e.API(stripped, "GET", "/api/me", nil)
	assert.Equal(t, http.StatusUnauthorized, got.StatusCode)
	assert.Contains(t, apptest.Decode[map[string]string](t, got)["error_description"], "at+jwt")
}

// signTyped signs claims with the mock IdP's key under the JOSE typ given.
func signTyped(t *testing.T, e *apptest.Env, typ string, claims map[string]any) string {
	t.Helper()
	tok, err := e.IdP.SignWithType(typ, claims)
	require.NoError(t, err)
	return tok
}

func TestMalformedAuthorizationHeaderIsABadRequest(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testMalformedAuthorizationHeaderIsABadRequest)
}

func testMalformedAuthorizationHeaderIsABadRequest(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Bearer <script>"} {
		req, err := http.NewRequest("GET", e.URL+"/api/projects", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", h)
		resp := apptest.Send(t, http.DefaultClient, req)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, h)
		assert.Equal(t, "invalid_request", apptest.Decode[map[string]string](t, resp)["error"])
	}
}

func TestMissingTokenIs401WithAChallenge(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testMissingTokenIs401WithAChallenge)
}

func testMissingTokenIs401WithAChallenge(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	resp := e.API("", "GET", "/api/projects", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer realm="api"`, resp.Header.Get("WWW-Authenticate"))
}

func algNone(t *testing.T, claims map[string]any) string {
	t.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + payload(t, claims) + "."
}

func hs256WithPublicKey(t *testing.T, e *apptest.Env, claims map[string]any) string {
	t.Helper()
	resp := apptest.Send(t, http.DefaultClient, mustRequest(t, "GET", e.IdP.URL()+"/keys"))
	jwks := apptest.Decode[jose.JSONWebKeySet](t, resp)
	require.NotEmpty(t, jwks.Keys)
	der, err := x509.MarshalPKIXPublicKey(jwks.Keys[0].Key)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: der},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", jwks.Keys[0].KeyID))
	require.NoError(t, err)
	return signClaims(t, signer, claims)
}

// signWithHeader signs claims with an attacker's key, adding a header that
// a naive verifier would follow (jwk: the attacker's own public key).
func signWithHeader(t *testing.T, claims map[string]any, name string, value any) string {
	t.Helper()
	key := mockidptest.Key(t) // held by no IdP of this test
	opts := (&jose.SignerOptions{}).WithType("JWT")
	switch name {
	case "jwk":
		opts.EmbedJWK = true
	default:
		opts = opts.WithHeader(jose.HeaderKey(name), value)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	require.NoError(t, err)
	return signClaims(t, signer, claims)
}

func signWithUnknownKey(t *testing.T, claims map[string]any) string {
	t.Helper()
	key := mockidptest.Key(t) // held by no IdP of this test
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "attacker-key"))
	require.NoError(t, err)
	return signClaims(t, signer, claims)
}

func signClaims(t *testing.T, signer jose.Signer, claims map[string]any) string {
	t.Helper()
	obj, err := signer.Sign([]byte(payloadJSON(t, claims)))
	require.NoError(t, err)
	tok, err := obj.CompactSerialize()
	require.NoError(t, err)
	return tok
}

func tamperSignature(tok string) string {
	i := strings.LastIndex(tok, ".")
	sig := []byte(tok[i+1:])
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	return tok[:i+1] + string(sig)
}

// swapPayload keeps a valid header and signature but replaces the claims.
func swapPayload(tok string, claims map[string]any) string {
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(mustJSON(claims)))
	return strings.Join(parts, ".")
}

func payload(t *testing.T, claims map[string]any) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payloadJSON(t, claims)))
}

func payloadJSON(t *testing.T, claims map[string]any) string {
	t.Helper()
	return mustJSON(claims)
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	return req
}

func TestAManagementTokenIsNotAUser(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAManagementTokenIsNotAUser)
}

func testAManagementTokenIsNotAUser(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {mockidp.DemoClientID}, "client_secret": {mockidp.DemoClientSecret}}
	resp, err := http.PostForm(e.IdP.URL()+"/oauth/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.NotEmpty(t, tok.AccessToken)

	got := e.API(tok.AccessToken, "GET", "/api/me", nil)
	assert.Equal(t, http.StatusUnauthorized, got.StatusCode, "the app's own management token grants no user access")
	assert.Contains(t, apptest.Decode[map[string]string](t, got)["error_description"], "client credentials")
}

func TestTheMockDevTokenWorksOnTheAPI(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTheMockDevTokenWorksOnTheAPI)
}

func testTheMockDevTokenWorksOnTheAPI(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	resp, err := http.PostForm(e.IdP.URL()+"/dev/token", url.Values{"email": {"bob@acme.example"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	me := apptest.Decode[map[string]any](t, e.API(tok.AccessToken, "GET", "/api/me", nil))
	assert.Equal(t, "usr_100000000000000002", me["sub"], "README's curl recipe works")
}

// TestAnAPIOnlyUserCanBeAssignedTasks: a user who never signs in with a
// browser, only calls the API with a valid token, is a member of their
// organization after one call, as a sign-in would make them; another
// organization's caller is not.
func TestAnAPIOnlyUserCanBeAssignedTasks(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAnAPIOnlyUserCanBeAssignedTasks)
}

func testAnAPIOnlyUserCanBeAssignedTasks(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol, erin := e.User("alice@acme.example"), e.User("carol@acme.example"), e.User("erin@globex.example")
	_, taskID := e.ProjectWithTask(alice) // all by API: no sign-in, so no listing of the organization
	assign := func(who mockidp.User) apptest.Response {
		return e.API(e.Token(alice), "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": who.ID})
	}
	require.Equal(t, http.StatusBadRequest, assign(carol).StatusCode, "carol has not been seen yet")

	require.Equal(t, http.StatusOK, e.API(e.Token(carol), "GET", "/api/me", nil).StatusCode)
	require.Equal(t, http.StatusOK, e.API(e.Token(erin), "GET", "/api/me", nil).StatusCode)

	got := assign(carol)
	require.Equal(t, http.StatusOK, got.StatusCode, got.Body)
	assert.Equal(t, carol.ID, apptest.Decode[struct{ Task struct{ Assignee string } }](t, got).Task.Assignee)
	assert.Equal(t, http.StatusBadRequest, assign(erin).StatusCode, "a caller of another organization is a member there, not here")

	dave := e.User("dave@acme.example")
	require.Equal(t, http.StatusUnauthorized, e.API(tamperSignature(e.Token(dave)), "GET", "/api/me", nil).StatusCode)
	assert.Equal(t, http.StatusBadRequest, assign(dave).StatusCode, "a token that did not verify makes nobody a member")
}

// mustJSON is v as JSON, for bodies built in a table.
func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

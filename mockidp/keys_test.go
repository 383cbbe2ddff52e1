package mockidp_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

func fetchKeys(t testing.TB, e *env) (jose.JSONWebKeySet, *http.Response) {
	t.Helper()
	resp, err := http.Get(e.idp.URL() + "/keys")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	return set, resp
}

func TestKeysArePublicRS256SigningKeys(t *testing.T) {
	e := start(t)
	set, resp := fetchKeys(t, e)

	assert.Contains(t, resp.Header.Get("Cache-Control"), "max-age=")
	require.Len(t, set.Keys, 1)
	for _, k := range set.Keys {
		assert.True(t, k.IsPublic(), "no private part is published")
		assert.Equal(t, "sig", k.Use)
		assert.Equal(t, "RS256", k.Algorithm)
		assert.NotEmpty(t, k.KeyID)
		pub, ok := k.Key.(*rsa.PublicKey)
		require.True(t, ok)
		assert.Equal(t, 2048, pub.N.BitLen())
	}
}

func TestJWKSFetchesCountsKeyRequests(t *testing.T) {
	e := start(t)
	before := e.idp.JWKSFetches()
	fetchKeys(t, e)
	fetchKeys(t, e)
	assert.Equal(t, before+2, e.idp.JWKSFetches())
}

func TestRotateKeyKeepsTheOldKeyPublished(t *testing.T) {
	e := start(t)
	old, err := e.idp.AccessToken(alice, mockidp.DemoClientID)
	require.NoError(t, err)
	// The relying party caches the key set as it is before the rotation.
	_, err = e.verifier.Verify(context.Background(), old)
	require.NoError(t, err)

	require.NoError(t, e.idp.RotateKey())
	rotated, err := e.idp.AccessToken(alice, mockidp.DemoClientID)
	require.NoError(t, err)

	oldKID, newKID := header(t, old).KeyID, header(t, rotated).KeyID
	assert.NotEqual(t, oldKID, newKID, "new tokens carry the new key's kid")
	set, _ := fetchKeys(t, e)
	assert.Len(t, set.Key(newKID), 1, "the new key is published")
	assert.Len(t, set.Key(oldKID), 1, "the old key is still published")

	// go-oidc meets an unknown kid, fetches /keys again and verifies both.
	_, err = e.verifier.Verify(context.Background(), rotated)
	assert.NoError(t, err)
	_, err = e.verifier.Verify(context.Background(), old)
	assert.NoError(t, err)
}

func TestSignUsesTheCurrentKey(t *testing.T) {
	e := start(t)
	require.NoError(t, e.idp.RotateKey())
	real, err := e.idp.AccessToken(alice, mockidp.DemoClientID)
	require.NoError(t, err)

	forged, err := e.idp.Sign(map[string]any{"iss": "https://elsewhere.example", "sub": alice})
	require.NoError(t, err)

	h := header(t, forged)
	assert.Equal(t, header(t, real).KeyID, h.KeyID)
	assert.Equal(t, "JWT", h.ExtraHeaders["typ"])
	assert.Equal(t, "RS256", h.Algorithm)

	set, _ := fetchKeys(t, e)
	tok, err := jwt.ParseSigned(forged, []jose.SignatureAlgorithm{jose.RS256})
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, tok.Claims(set, &got), "the signature verifies with /keys")
	assert.Equal(t, "https://elsewhere.example", got["iss"])
}

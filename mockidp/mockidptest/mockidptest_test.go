package mockidptest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func TestTheTestKeysAreDistinct2048BitRSAKeys(t *testing.T) {
	var moduli []string
	for rest := testKeys; ; {
		block, more := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = more
		require.Equal(t, "PRIVATE KEY", block.Type)
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		require.NoError(t, err)
		k, ok := parsed.(*rsa.PrivateKey)
		require.True(t, ok, "%T", parsed)
		assert.Equal(t, 2048, k.N.BitLen())
		assert.NoError(t, k.Validate())
		assert.NotContains(t, moduli, k.N.String(), "key %d is a copy of an earlier one", len(moduli))
		moduli = append(moduli, k.N.String())
	}
	assert.GreaterOrEqual(t, len(moduli), 8, "enough that tests seldom generate one")
}

func TestKeysHeldAtOnceAreDistinctEvenBeyondTheTestKeys(t *testing.T) {
	first, _ := pem.Decode(testKeys)
	require.NotNil(t, first)
	p := &keyPool{pem: pem.EncodeToMemory(first)} // one test key: the second is generated
	var held []*rsa.PrivateKey
	t.Run("hold two", func(t *testing.T) {
		a, b := p.take(t), p.take(t)
		assert.False(t, a.Equal(b), "two keys held at once")
		assert.Equal(t, 2048, b.N.BitLen(), "the generated key is like the test keys")
		held = []*rsa.PrivateKey{a, b}
	})
	assert.ElementsMatch(t, held, p.free, "both are back once the test that held them ended")
	t.Run("take again", func(t *testing.T) {
		k := p.take(t)
		assert.True(t, slices.ContainsFunc(held, func(h *rsa.PrivateKey) bool { return h.Equal(k) }), "a returned key is lent again, not generated")
	})
}

func TestAnIdPNeverSignsWithAKeyLentElsewhere(t *testing.T) {
	model, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)
	t.Run("at once", func(t *testing.T) {
		a, b := Start(t, mockidp.Config{Model: model}), Start(t, mockidp.Config{Model: model})
		attacker := Key(t)
		pa, pb := publicKeys(t, a), publicKeys(t, b)
		require.Len(t, pa, 1)
		require.Len(t, pb, 1)
		assert.False(t, pa[0].Equal(pb[0]), "two IdPs alive at once")
		assert.False(t, pa[0].Equal(attacker.Public()), "an IdP and a key lent to the test")
		assert.False(t, pb[0].Equal(attacker.Public()))
	})

	t.Run("rotated", func(t *testing.T) {
		// Cleanups run last first: this one runs after the IdP closed.
		var rotated *rsa.PublicKey
		t.Cleanup(func() {
			assert.True(t, keysFree(rotated), "the rotated key is back once the IdP closed")
		})
		s := Start(t, mockidp.Config{Model: model})
		// And this one before the IdP closes, yet after any cleanup that
		// RotateKey might register.
		t.Cleanup(func() {
			assert.False(t, keysFree(rotated), "the IdP signs with it until it is closed")
		})
		require.NoError(t, s.RotateKey())
		pub := publicKeys(t, s)
		require.Len(t, pub, 2)
		rotated = pub[0] // newest first
		assert.False(t, keysFree(rotated), "the key rotated to is not lent to others meanwhile")
	})
}

// publicKeys are the keys that s publishes, newest first.
func publicKeys(t *testing.T, s *mockidp.Server) []*rsa.PublicKey {
	t.Helper()
	resp, err := http.Get(s.URL() + "/keys")
	require.NoError(t, err)
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	var out []*rsa.PublicKey
	for _, k := range set.Keys {
		pub, ok := k.Key.(*rsa.PublicKey)
		require.True(t, ok, "%T", k.Key)
		out = append(out, pub)
	}
	return out
}

// keysFree reports whether pub's private key is free in the pool.
func keysFree(pub *rsa.PublicKey) bool {
	keys.mu.Lock()
	defer keys.mu.Unlock()
	return slices.ContainsFunc(keys.free, func(k *rsa.PrivateKey) bool { return pub.Equal(k.Public()) })
}

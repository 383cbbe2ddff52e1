package auth_test

import (
	"context"
	"crypto/rsa"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// clock is a fake clock tests move by hand.
func startIdP(t testing.TB) *mockidp.Server {
	t.Helper()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	return mockidptest.Start(t, mockidp.Config{Model: model})
}

func newVerifier(idp *mockidp.Server, now func() time.Time) *auth.Verifier {
	keys := auth.NewKeySet(idp.URL()+"/keys", http.DefaultClient, []string{"RS256"}, now)
	return auth.NewVerifier(idp.URL(), keys, []string{"RS256"}, mockidp.DemoClientID, now)
}

func TestKeySetRefetchesForUnknownKeysAtMostOncePerInterval(t *testing.T) {
	idp := startIdP(t)
	clk := testkit.NewClock(time.Now())
	v := newVerifier(idp, clk.Now)
	bob := idp.Users()[1]
	attacker := mockidptest.Key(t)
	ctx := context.Background()

	tok, err := idp.AccessToken(bob.ID, mockidp.DemoClientID)
	require.NoError(t, err)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	require.EqualValues(t, 1, idp.JWKSFetches(), "the first verification fetches the JWKS")

	for i := range 50 {
		_, err := v.Verify(ctx, forgedWithKid(t, attacker, idp, bob, "forged-"+string(rune('a'+i%26))))
		require.Error(t, err)
	}
	assert.EqualValues(t, 1, idp.JWKSFetches(), "a flood of unknown kids within the interval fetches nothing")

	clk.Advance(11 * time.Second)
	for range 20 {
		_, _ = v.Verify(ctx, forgedWithKid(t, attacker, idp, bob, "forged-again"))
	}
	assert.EqualValues(t, 2, idp.JWKSFetches(), "one refetch per interval, however many unknown kids")
}

func TestKeySetPicksUpARotatedKey(t *testing.T) {
	idp := startIdP(t)
	clk := testkit.NewClock(time.Now())
	v := newVerifier(idp, clk.Now)
	bob := idp.Users()[1]
	old, err := idp.AccessToken(bob.ID, mockidp.DemoClientID)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), old)
	require.NoError(t, err)

	require.NoError(t, idp.RotateKey())
	clk.Advance(11 * time.Second)
	fresh, err := idp.AccessToken(bob.ID, mockidp.DemoClientID)
	require.NoError(t, err)
	p, err := v.Verify(context.Background(), fresh)
	require.NoError(t, err, "a token signed with the new key verifies after one refetch")
	assert.Equal(t, bob.ID, p.Subject)
	assert.EqualValues(t, 2, idp.JWKSFetches())

	_, err = v.Verify(context.Background(), old)
	assert.NoError(t, err, "tokens signed with the old key stay valid while it is published")
}

func TestVerifiedTokensAreCachedButFailuresAreNot(t *testing.T) {
	idp := startIdP(t)
	clk := testkit.NewClock(time.Now())
	v := newVerifier(idp, clk.Now)
	bob := idp.Users()[1]
	tok, err := idp.AccessToken(bob.ID, mockidp.DemoClientID)
	require.NoError(t, err)

	p1, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	p1.Email = "changed by a caller"
	p2, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Empty(t, p2.Email, "callers get copies")

	clk.Advance(6 * time.Minute) // past exp: the cached entry must not outlive the token
	_, err = v.Verify(context.Background(), tok)
	var te *auth.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "the access token has expired", te.Reason)
}

// forgedWithKid signs valid-looking claims with key, one the IdP never
// had (mockidptest.Key lends none that an IdP holds).
func forgedWithKid(t testing.TB, key *rsa.PrivateKey, idp *mockidp.Server, u mockidp.User, kid string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	require.NoError(t, err)
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": idp.URL(), "sub": u.ID, "aud": []string{mockidp.DemoClientID},
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).Serialize()
	require.NoError(t, err)
	return tok
}

func BenchmarkVerify(b *testing.B) {
	idp := startIdP(b)
	tok, err := idp.AccessToken(idp.Users()[1].ID, mockidp.DemoClientID)
	require.NoError(b, err)
	keys := auth.NewKeySet(idp.URL()+"/keys", http.DefaultClient, []string{"RS256"}, time.Now)
	ctx := context.Background()

	b.Run("signature checked (first sight of a token)", func(b *testing.B) {
		for b.Loop() {
			v := auth.NewVerifier(idp.URL(), keys, []string{"RS256"}, mockidp.DemoClientID, nil)
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached (same token again)", func(b *testing.B) {
		v := auth.NewVerifier(idp.URL(), keys, []string{"RS256"}, mockidp.DemoClientID, nil)
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

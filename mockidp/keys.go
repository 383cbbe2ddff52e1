package mockidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// keyring holds the server's RSA signing keys. The newest key signs; every
// key ever made stays in the published JWKS, so tokens signed before a
// rotation keep verifying, as they do at a real provider during a rollover.
type keyring struct {
	newKey  func() (*rsa.PrivateKey, error) // Config.NewKey; nil: generateKey
	mu      sync.RWMutex
	signer  jose.Signer
	private jose.JSONWebKey    // the key signer signs with
	public  jose.JSONWebKeySet // newest first
}

// newKeyring starts with priv as the signing key, or a new one when priv
// is nil. newKey makes the new keys; nil generates them.
func newKeyring(priv *rsa.PrivateKey, newKey func() (*rsa.PrivateKey, error)) (*keyring, error) {
	k := &keyring{newKey: newKey}
	if k.newKey == nil {
		k.newKey = generateKey
	}
	if priv == nil {
		return k, k.rotate()
	}
	return k, k.add(priv)
}

// generateKey makes a fresh 2048-bit key.
func generateKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// rotate makes a new key and signs with it from now on.
func (k *keyring) rotate() error {
	priv, err := k.newKey()
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	return k.add(priv)
}

// add makes priv the signing key; the keys before it stay published.
func (k *keyring) add(priv *rsa.PrivateKey) error {
	jwk := jose.JSONWebKey{Key: priv, Algorithm: string(jose.RS256), Use: "sig"}
	// The RFC 7638 thumbprint is a stable, collision-free key id.
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("key id: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	// A JSONWebKey as signing key makes go-jose put its kid in the header.
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jwk},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return fmt.Errorf("signer: %w", err)
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	k.signer, k.private = signer, jwk
	k.public.Keys = append([]jose.JSONWebKey{jwk.Public()}, k.public.Keys...)
	return nil
}

// sign serializes claims (a struct with JSON tags, or a map) as a signed JWT.
func (k *keyring) sign(claims any) (string, error) {
	k.mu.RLock()
	signer := k.signer
	k.mu.RUnlock()
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// verify checks a token's signature against the published keys and decodes
// its claims into out. Only RS256 is accepted, so a token cannot pick "none"
// or an HMAC keyed with the public key. Claims (issuer, times) are the
// caller's to check, since logout accepts expired tokens and userinfo does
// not.
func (k *keyring) verify(token string, out ...any) error {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("parse token: %w", err)
	}
	// go-jose picks the key by the header's kid and refuses an unknown one.
	if err := tok.Claims(k.jwks(), out...); err != nil {
		return fmt.Errorf("verify token: %w", err)
	}
	return nil
}

// currentKeyID is the kid new tokens carry.
func (k *keyring) currentKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.public.Keys[0].KeyID
}

// jwks returns a copy of the published key set.
func (k *keyring) jwks() jose.JSONWebKeySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), k.public.Keys...)}
}

// serveKeys answers GET /keys with the public keys.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) error {
	s.jwksFetches.Add(1)
	body, err := json.Marshal(s.keys.jwks())
	if err != nil {
		return fmt.Errorf("encode jwks: %w", err)
	}
	// Short, so that a relying party sees a rotation soon, yet long enough
	// that one which honours caching does not fetch on every request.
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(body)
	return err
}

// Sign signs arbitrary claims with the current key, kid and typ JWT in the
// header, exactly as real tokens are signed. Tests use it to build tokens
// that are well signed but wrong in some claim.
func (s *Server) Sign(claims map[string]any) (string, error) {
	return s.keys.sign(claims)
}

// SignWithType is Sign with another JOSE typ in the header, such as
// at+jwt (RFC 9068). The mock's own tokens are typed JWT, as Scalekit's
// are; tests use it to play an issuer that types its access tokens, or a
// token of some other kind signed by the same key.
func (s *Server) SignWithType(typ string, claims map[string]any) (string, error) {
	s.keys.mu.RLock()
	key := s.keys.private
	s.keys.mu.RUnlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// RotateKey makes a new RSA key and signs with it from now on. The old key
// stays in /keys, so tokens already issued still verify.
func (s *Server) RotateKey() error {
	if err := s.keys.rotate(); err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	s.log.Info("mock idp rotated its signing key", "kid", s.keys.currentKeyID())
	return nil
}

// JWKSFetches reports how many times /keys was served, so tests and
// benchmarks can show that a relying party caches the key set.
func (s *Server) JWKSFetches() int64 {
	return s.jwksFetches.Load()
}

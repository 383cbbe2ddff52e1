package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// asymmetric are the signature algorithms this app accepts from an IdP:
// never "none", never HMAC (whose key would be the public key anyone can
// fetch).
var asymmetric = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// SigningAlgorithms returns the algorithms to accept from an IdP that
// advertises these (its discovery document's
// id_token_signing_alg_values_supported): only what it advertises, and only
// asymmetric ones; RS256, the one OpenID Connect requires, when it
// advertises none.
func SigningAlgorithms(advertised []string) []string {
	algs := slices.DeleteFunc(slices.Clone(advertised), func(a string) bool { return !slices.Contains(asymmetric, a) })
	if len(algs) == 0 {
		return []string{"RS256"}
	}
	return algs
}

// jwksRefetchInterval is the least time between two fetches of the JWKS.
// A token with an unknown kid triggers a fetch (the IdP may have rotated
// its key), but a flood of forged kids must not turn the app into a
// hammer on the IdP.
const jwksRefetchInterval = 10 * time.Second

// KeySet is the IdP's JSON Web Key Set, fetched from its jwks_uri, cached,
// and fetched again when a token names a key it does not hold, at most once
// per jwksRefetchInterval. It implements go-oidc's KeySet.
type KeySet struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	now    func() time.Time

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time
	fetching  chan struct{} // closed when the fetch in flight ends
}

// NewKeySet returns a KeySet for the JWKS at url. algs are the algorithms
// the IdP advertises, already restricted to asymmetric ones.
func NewKeySet(url string, client *http.Client, algs []string, now func() time.Time) *KeySet {
	ks := &KeySet{url: url, client: client, now: now}
	for _, a := range algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(a))
	}
	return ks
}

// VerifySignature checks the JWS signature of jwt and returns its payload.
func (ks *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, ks.algs) // a JWT is the compact serialization; the JSON one is refused
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, err := ks.cached(ctx, false)
	if err != nil {
		return nil, err
	}
	if payload, known, err := verifyWith(jws, keys, kid); known {
		// A key we hold that does not verify means a bad signature;
		// fetching the JWKS again would not change that.
		return payload, err
	}
	keys, err = ks.cached(ctx, true)
	if err != nil {
		return nil, err
	}
	if payload, known, err := verifyWith(jws, keys, kid); known {
		return payload, err
	}
	return nil, fmt.Errorf("no key with id %q in the IdP's key set", kid)
}

// verifyWith verifies jws with the key named kid (or, without a kid, with
// each key). known reports whether a candidate key was found.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) (payload []byte, known bool, err error) {
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		known = true
		if payload, err = jws.Verify(k.Public()); err == nil {
			return payload, true, nil
		}
	}
	if known {
		return nil, true, errors.New("signature does not verify")
	}
	return nil, false, nil
}

// cached returns the keys, fetching them if there are none yet or if
// refresh is asked and the last fetch is old enough. Concurrent callers
// share one fetch.
func (ks *KeySet) cached(ctx context.Context, refresh bool) ([]jose.JSONWebKey, error) {
	ks.mu.Lock()
	stale := ks.fetchedAt.IsZero() || (refresh && ks.now().Sub(ks.fetchedAt) >= jwksRefetchInterval)
	if !stale {
		keys := ks.keys
		ks.mu.Unlock()
		return keys, nil
	}
	if wait := ks.fetching; wait != nil {
		ks.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return ks.current(), nil
	}
	done := make(chan struct{})
	ks.fetching = done
	ks.mu.Unlock()

	keys, err := ks.fetch(ctx)

	ks.mu.Lock()
	if err == nil {
		ks.keys = keys
	}
	// A failed fetch counts too: an unreachable IdP is not asked again on
	// every request, and the keys we had stay in use meanwhile.
	ks.fetchedAt = ks.now()
	ks.fetching = nil
	have := ks.keys
	ks.mu.Unlock()
	close(done)
	if have == nil && err != nil {
		return nil, err
	}
	return have, nil
}

func (ks *KeySet) current() []jose.JSONWebKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.keys
}

func (ks *KeySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w (%w)", ErrIdPUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: %s answered %s", ks.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	// Only public signing keys: a JWKS that somehow holds a symmetric or
	// private key must not lend it to verification.
	keys := slices.DeleteFunc(set.Keys, func(k jose.JSONWebKey) bool {
		return !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig")
	})
	return keys, nil
}

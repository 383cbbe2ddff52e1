package auth

import (
	"context"
	"errors"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// clockLeeway is the clock skew tolerated on nbf and iat. go-oidc allows
// five minutes on nbf; a token that only becomes valid minutes from now is
// more likely forged or misissued than skewed, so we are stricter.
const clockLeeway = 30 * time.Second

// Verifier checks access tokens and turns them into Principals.
//
// An access token is accepted only if its signature verifies against the
// issuer's JWKS with an algorithm the issuer advertises (go-oidc: never
// "none", never HMAC), iss is the configured issuer, aud contains our client
// id, exp is in the future, and nbf/iat are not in the future.
type Verifier struct {
	oidc     *oidc.IDTokenVerifier
	clientID string
	now      func() time.Time
	cache    *tokenCache
}

// maxCachedTokens bounds the verified-token cache (a few MB at most).
const maxCachedTokens = 10000

// NewVerifier returns a Verifier for access tokens that issuer signs with
// one of algs and the keys of keys, for clientID. now may be nil.
func NewVerifier(issuer string, keys oidc.KeySet, algs []string, clientID string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	// go-oidc's "ID token" verifier checks any JWT the OpenID way: the
	// signature with an allowed algorithm, iss, aud (string or array), exp.
	// The checks it does not make for access tokens come in verify.
	v := oidc.NewVerifier(issuer, keys, &oidc.Config{ClientID: clientID, SupportedSigningAlgs: algs, Now: now})
	return &Verifier{oidc: v, clientID: clientID, now: now, cache: newTokenCache(maxCachedTokens)}
}

// accessClaims are the claims of a Scalekit access token that this app reads.
type accessClaims struct {
	Subject     string   `json:"sub"`
	OrgID       string   `json:"oid"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	SessionID   string   `json:"sid"`
	ClientID    string   `json:"client_id"`
	AZP         string   `json:"azp"`
	IssuedAt    *float64 `json:"iat"`
	NotBefore   *float64 `json:"nbf"`
	Nonce       string   `json:"nonce"`
	AtHash      string   `json:"at_hash"`
}

// Verify checks raw and returns the principal it describes, or a
// *TokenError saying why it was refused.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	if p, ok := v.cached(raw); ok {
		return p, nil
	}
	return v.verifyNew(ctx, raw)
}

// verifyNew verifies a token not found in the cache, and caches it if it
// verifies.
func (v *Verifier) verifyNew(ctx context.Context, raw string) (*Principal, error) {
	tok, c, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	p := &Principal{
		Subject:     c.Subject,
		OrgID:       c.OrgID,
		Roles:       c.Roles,
		Permissions: c.Permissions,
		SessionID:   c.SessionID,
		ExpiresAt:   tok.Expiry,
		IssuedAt:    tok.IssuedAt,
	}
	v.cache.put(raw, *p, v.now())
	return p, nil
}

// cached returns the principal of raw if raw verified before and has not
// expired since.
func (v *Verifier) cached(raw string) (*Principal, bool) {
	return v.cache.get(raw, v.now())
}

// Claims verifies raw like Verify and returns all its claims, for display.
func (v *Verifier) Claims(ctx context.Context, raw string) (map[string]any, error) {
	tok, _, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := tok.Claims(&m); err != nil {
		return nil, &TokenError{Reason: "the access token's claims are malformed", Err: err}
	}
	return m, nil
}

func (v *Verifier) verify(ctx context.Context, raw string) (*oidc.IDToken, *accessClaims, error) {
	tok, err := v.oidc.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, nil, &TokenError{Reason: "the access token has expired", Err: err}
		}
		return nil, nil, &TokenError{Reason: "the access token did not verify: bad signature, unknown key, wrong issuer or wrong audience", Err: err}
	}
	var c accessClaims
	if err := tok.Claims(&c); err != nil {
		return nil, nil, &TokenError{Reason: "the access token's claims are malformed", Err: err}
	}
	now := v.now()
	var reason string
	switch {
	case c.Subject == "":
		reason = "the access token has no subject (sub)"
	case c.Subject == v.clientID:
		// A client-credentials token: the client acting for itself (the
		// management API), not a user. It must not pass for one.
		reason = "this is a client's own token (client credentials), not a user's"
	case c.OrgID == "":
		// Every query is scoped by oid: a token without one would make all
		// such tokens one shared organization.
		reason = "the access token names no organization (oid)"
	case c.NotBefore != nil && unix(*c.NotBefore).After(now.Add(clockLeeway)):
		reason = "the access token is not valid yet (nbf)"
	case c.IssuedAt != nil && unix(*c.IssuedAt).After(now.Add(clockLeeway)):
		reason = "the access token was issued in the future (iat)"
	// aud may hold several audiences; client_id and azp say which client the
	// token was minted for, and it must be us.
	case c.ClientID != "" && c.ClientID != v.clientID, c.AZP != "" && c.AZP != v.clientID:
		reason = "the access token was issued to another client"
	// An ID token is signed by the same keys for the same audience, but it
	// proves a sign-in to the client; it grants nothing to an API.
	case c.Nonce != "" || c.AtHash != "":
		reason = "an ID token is not an access token"
	}
	if reason != "" {
		return nil, nil, &TokenError{Reason: reason}
	}
	return tok, &c, nil
}

func unix(sec float64) time.Time { return time.Unix(int64(sec), 0) }

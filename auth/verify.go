package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// ClockLeeway is the clock skew tolerated on nbf and iat, of access tokens
// here and of ID tokens at sign-in. go-oidc allows five minutes on nbf; a
// token that only becomes valid minutes from now is more likely forged or
// misissued than skewed, so we are stricter.
const ClockLeeway = 30 * time.Second

// Verifier checks access tokens and turns them into Principals.
//
// An access token is accepted only if its signature verifies against the
// issuer's JWKS with an algorithm the issuer advertises (go-oidc: never
// "none", never HMAC), iss is the configured issuer, aud contains our client
// id, exp is in the future, iat is present and with nbf not in the future,
// client_id is ours, and it is not an ID token: typed at+jwt (and then,
// once seen, always), or typed JWT without any claim only ID tokens carry.
type Verifier struct {
	oidc     *oidc.IDTokenVerifier
	clientID string
	now      func() time.Time
	cache    *tokenCache
	// typed is set once the issuer is seen to type its access tokens
	// at+jwt (RFC 9068): from then on a token without that type is not an
	// access token, whatever its claims. Only an accepted token sets it.
	typed atomic.Bool
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

// idOnlyClaims are claims an ID token carries and an access token of
// Scalekit's (typ JWT) never does: a token holding one is an ID token,
// whether or not it still has its nonce and at_hash.
var idOnlyClaims = []string{"nonce", "at_hash", "c_hash", "s_hash", "auth_time", "email", "email_verified", "name", "given_name", "family_name"}

// accessClaims are the claims of a Scalekit access token that this app reads.
type accessClaims struct {
	Subject     string            `json:"sub"`
	OrgID       string            `json:"oid"`
	Roles       []string          `json:"roles"`
	Permissions []rbac.Permission `json:"permissions"`
	SessionID   string            `json:"sid"`
	ClientID    string            `json:"client_id"`
	AZP         string            `json:"azp"`
	IssuedAt    *float64          `json:"iat"`
	NotBefore   *float64          `json:"nbf"`
	Nonce       string            `json:"nonce"`
	AtHash      string            `json:"at_hash"`
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
	// The signature covers the header: its typ is the issuer's word.
	typ, err := joseType(raw)
	if err != nil {
		return nil, nil, &TokenError{Reason: "the access token's header is malformed", Err: err}
	}
	now := v.now()
	var reason string
	switch {
	case typ != "at+jwt" && typ != "jwt" && typ != "":
		reason = "the token's type (typ) is not an access token's"
	case typ != "at+jwt" && v.typed.Load():
		reason = "this issuer types its access tokens at+jwt, and this token is not one"
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
	case c.NotBefore != nil && unix(*c.NotBefore).After(now.Add(ClockLeeway)):
		reason = "the access token is not valid yet (nbf)"
	case c.IssuedAt == nil:
		// RFC 9068 2.2 requires iat, and role-change freshness compares it.
		reason = "the access token has no issue time (iat)"
	case unix(*c.IssuedAt).After(now.Add(ClockLeeway)):
		reason = "the access token was issued in the future (iat)"
	case c.ClientID == "":
		// Every access token names its client (RFC 9068, and Scalekit's
		// always do); an ID token need not.
		reason = "the access token names no client (client_id)"
	// aud may hold several audiences; client_id and azp say which client the
	// token was minted for, and it must be us.
	case c.ClientID != v.clientID, c.AZP != "" && c.AZP != v.clientID:
		reason = "the access token was issued to another client"
	// An ID token is signed by the same keys for the same audience, but it
	// proves a sign-in to the client; it grants nothing to an API. Typed
	// at+jwt, a token is an access token (an ID token never is); otherwise
	// any claim only an ID token carries gives it away, nonce or at_hash
	// or not.
	case c.Nonce != "" || c.AtHash != "":
		reason = "an ID token is not an access token"
	case typ != "at+jwt":
		has, err := carriesAny(tok, idOnlyClaims)
		if err != nil {
			return nil, nil, &TokenError{Reason: "the access token's claims are malformed", Err: err}
		}
		if has {
			reason = "an ID token is not an access token"
		}
	}
	if reason != "" {
		return nil, nil, &TokenError{Reason: reason}
	}
	if typ == "at+jwt" {
		v.typed.Store(true)
	}
	return tok, &c, nil
}

// joseType returns the typ of a compact JWS's protected header, lower case
// and without the optional "application/" prefix (RFC 7515 4.1.9), or ""
// when there is none. Call it only on a token whose signature verified.
func joseType(raw string) (string, error) {
	segment, _, _ := strings.Cut(raw, ".")
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return "", fmt.Errorf("decode JOSE header: %w", err)
	}
	var h struct {
		Type string `json:"typ"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return "", fmt.Errorf("decode JOSE header: %w", err)
	}
	return strings.TrimPrefix(strings.ToLower(h.Type), "application/"), nil
}

// carriesAny reports whether the token's claims include any of names.
func carriesAny(tok *oidc.IDToken, names []string) (bool, error) {
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return false, err
	}
	for _, n := range names {
		if _, ok := claims[n]; ok {
			return true, nil
		}
	}
	return false, nil
}

func unix(sec float64) time.Time { return time.Unix(int64(sec), 0) }

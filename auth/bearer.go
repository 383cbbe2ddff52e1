package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ErrMalformedAuthorization is an Authorization header that is not
// "Bearer <token>" (RFC 6750 invalid_request, answered with 400).
var ErrMalformedAuthorization = errors.New(`malformed Authorization header: want "Bearer <access token>"`)

// BearerToken extracts the token of an "Authorization: Bearer" header
// (RFC 6750). No header yields "" and no error; anything else that is not a
// single well-formed bearer credential yields ErrMalformedAuthorization.
func BearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", ErrMalformedAuthorization
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !isToken68(token) {
		return "", ErrMalformedAuthorization
	}
	return token, nil
}

// isToken68 reports whether s is an RFC 7235 token68, the syntax of a
// bearer credential (a JWT always is): letters, digits and -._~+/, then
// optional "=" padding.
func isToken68(s string) bool {
	s = strings.TrimRight(s, "=")
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.ContainsRune("-._~+/", c):
		default:
			return false
		}
	}
	return true
}

// RolesChangedFunc reports whether a user's roles changed at or after
// since, the moment a token's roles were read, making that token's roles
// and permissions stale.
type RolesChangedFunc func(ctx context.Context, orgID, userID string, since time.Time) bool

// SeenFunc is told of the principal of an API token the first time this
// process accepts the token: once per token, not once per request.
type SeenFunc func(ctx context.Context, p *Principal)

// Bearer returns middleware that authenticates API requests by their bearer
// access token. A request without one passes on with no principal (its
// route's gate answers 401); a bad one is refused through fail, and so is
// a token minted before its user's roles changed (rolesChanged may be nil).
// seen, if not nil, is told of each token's principal once, when it is
// first accepted.
func Bearer(v *Verifier, rolesChanged RolesChangedFunc, seen SeenFunc, fail ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := BearerToken(r.Header)
			if err != nil {
				fail(w, r, err)
				return
			}
			if raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			// A token that verified before is served from the cache; only a
			// new one has its signature verified (and is then cached).
			p, ok := v.cached(raw)
			if !ok {
				if p, err = v.verifyNew(r.Context(), raw); err != nil {
					fail(w, r, err)
					return
				}
			}
			if rolesChanged != nil && rolesChanged(r.Context(), p.OrgID, p.Subject, p.IssuedAt) {
				fail(w, r, &TokenError{Reason: "the user's roles changed after this token was issued; refresh it to get the current roles"})
				return
			}
			if !ok && seen != nil {
				seen(r.Context(), p)
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

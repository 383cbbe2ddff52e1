package auth

import (
	"errors"
	"strings"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// ErrUnauthenticated is returned when a gated route is called by nobody:
// no session, no bearer token.
var ErrUnauthenticated = errors.New("authentication required")

// TokenError says why an access token was refused. Reason is written for
// the developer holding the token and never contains the token itself.
type TokenError struct {
	Reason string
	Err    error // the underlying verification error, for logs
}

// Error implements error.
func (e *TokenError) Error() string { return "invalid token: " + e.Reason }

// Unwrap exposes the underlying error.
func (e *TokenError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnauthenticated) true: a refused token leaves
// the caller unauthenticated.
func (e *TokenError) Is(target error) bool { return target == ErrUnauthenticated }

// DeniedError is a gate's refusal: the caller is signed in but lacks what
// the route needs.
type DeniedError struct {
	// Permission is the permission that would have allowed the request
	// (empty when only a role would).
	Permission rbac.Permission
	// Roles are the roles that would have allowed the request.
	Roles []string
	// Have are the caller's roles, to help them ask for the right one.
	Have []string
}

// Error implements error.
func (e *DeniedError) Error() string { return "permission denied: requires " + e.Requirement() }

// Requirement describes what the gate wanted, in words.
func (e *DeniedError) Requirement() string {
	var parts []string
	for _, r := range e.Roles {
		parts = append(parts, "the "+r+" role")
	}
	if e.Permission != "" {
		parts = append(parts, "the "+string(e.Permission)+" permission")
	}
	return strings.Join(parts, " or ")
}

// ErrIdPUnreachable means the identity provider did not answer: sign-in and
// token refresh cannot proceed until it does.
var ErrIdPUnreachable = errors.New("identity provider unreachable")

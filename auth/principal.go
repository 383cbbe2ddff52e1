package auth

import (
	"context"
	"slices"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// Principal is who is calling and what they may do, read from a verified
// access token. Nothing else in the app decides authorization.
type Principal struct {
	Subject     string // "sub": the user (opaque; Scalekit writes usr_...)
	OrgID       string // "oid": the organization every query is scoped to
	Roles       []string
	Permissions []rbac.Permission
	SessionID   string    // "sid" of the IdP session
	IssuedAt    time.Time // "iat" of the access token
	ExpiresAt   time.Time // "exp" of the access token

	// From the ID token, for display only (access tokens carry no profile).
	Email string
	Name  string
}

// Can reports whether the principal's token grants the permission.
func (p *Principal) Can(perm rbac.Permission) bool {
	return p != nil && slices.Contains(p.Permissions, perm)
}

// HasRole reports whether the principal's token carries the role.
func (p *Principal) HasRole(role string) bool {
	return p != nil && slices.Contains(p.Roles, role)
}

// DisplayName is the name to greet the user with.
func (p *Principal) DisplayName() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Email != "":
		return p.Email
	}
	return p.Subject
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, or nil when nobody is
// signed in.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

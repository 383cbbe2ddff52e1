package auth

import (
	"net/http"
	"strings"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// Gate is what a route requires of its caller. Every route in the app's
// route table has one; the zero Gate is invalid so that a forgotten gate
// fails loudly instead of opening the route.
type Gate struct {
	kind  gateKind
	perm  rbac.Permission
	role  string
	gates []Gate
}

type gateKind int

const (
	gateInvalid gateKind = iota
	gatePublic
	gateSignedIn
	gatePermission
	gateRole
	gateAnyOf
)

// Public lets everyone through, signed in or not.
var Public = Gate{kind: gatePublic}

// SignedIn lets through anyone with a verified token, whatever it grants.
var SignedIn = Gate{kind: gateSignedIn}

// Need requires a permission in the access token's "permissions" claim.
func Need(p rbac.Permission) Gate { return Gate{kind: gatePermission, perm: p} }

// Role requires a role in the access token's "roles" claim.
func Role(name string) Gate { return Gate{kind: gateRole, role: name} }

// AnyOf passes when at least one of the gates passes.
func AnyOf(gates ...Gate) Gate { return Gate{kind: gateAnyOf, gates: gates} }

// Valid reports whether the gate was built by one of this package's
// constructors.
func (g Gate) Valid() bool {
	if g.kind == gateAnyOf {
		for _, c := range g.gates {
			if !c.Valid() {
				return false
			}
		}
		return len(g.gates) > 0
	}
	return g.kind != gateInvalid
}

// IsPublic reports whether the gate lets signed-out callers through.
func (g Gate) IsPublic() bool { return g.kind == gatePublic }

// Check returns nil when p may pass, ErrUnauthenticated when nobody is
// signed in, or a *DeniedError naming what is missing.
func (g Gate) Check(p *Principal) error {
	if g.kind == gatePublic {
		return nil
	}
	if p == nil {
		return ErrUnauthenticated
	}
	if g.Allows(p) {
		return nil
	}
	denied := &DeniedError{Have: p.Roles}
	g.collect(denied)
	return denied
}

// Allows reports whether the signed-in principal p passes the gate.
func (g Gate) Allows(p *Principal) bool {
	switch g.kind {
	case gatePublic:
		return true
	case gateSignedIn:
		return p != nil
	case gatePermission:
		return p.Can(g.perm)
	case gateRole:
		return p.HasRole(g.role)
	case gateAnyOf:
		for _, c := range g.gates {
			if c.Allows(p) {
				return true
			}
		}
	}
	return false
}

// collect records in d what would have let the caller through.
func (g Gate) collect(d *DeniedError) {
	switch g.kind {
	case gatePermission:
		if d.Permission == "" {
			d.Permission = g.perm
		}
	case gateRole:
		d.Roles = append(d.Roles, g.role)
	case gateAnyOf:
		for _, c := range g.gates {
			c.collect(d)
		}
	}
}

// String describes the gate, as the route table and error pages show it.
func (g Gate) String() string {
	switch g.kind {
	case gatePublic:
		return "public"
	case gateSignedIn:
		return "signed in"
	case gatePermission:
		return string(g.perm)
	case gateRole:
		return "role " + g.role
	case gateAnyOf:
		parts := make([]string, len(g.gates))
		for i, c := range g.gates {
			parts[i] = c.String()
		}
		return strings.Join(parts, " or ")
	}
	return "INVALID GATE"
}

// ErrorWriter answers a request that failed or was refused; the app's is
// the one place that maps errors to statuses.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Middleware returns the gate as middleware, for routers that attach
// checks per route. Refusals (ErrUnauthenticated, *DeniedError) go to fail.
func (g Gate) Middleware(fail ErrorWriter) func(http.Handler) http.Handler {
	if !g.Valid() {
		panic("auth: middleware from an invalid gate")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := g.Check(PrincipalFrom(r.Context())); err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Require is Need(p) as middleware: the seed documents' "check the
// permission before the action", in one line of a route definition (with
// chi; Handle adapts a handler that returns an error):
//
//	r.With(auth.Require(rbac.ProjectsCreate, fail)).Post("/api/projects", auth.Handle(h.APICreate, fail))
func Require(p rbac.Permission, fail ErrorWriter) func(http.Handler) http.Handler {
	return Need(p).Middleware(fail)
}

// Handle adapts a handler that returns an error to an http.HandlerFunc:
// the error, if any, goes to fail, the one place that answers errors.
func Handle(h func(http.ResponseWriter, *http.Request) error, fail ErrorWriter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	}
}

package app

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// home is the landing page, or the dashboard when signed in.
func (a *App) home(w http.ResponseWriter, r *http.Request) error {
	return a.render.Page(w, r, http.StatusOK, "home", "Home", nil)
}

// permissionView is one row of /me: a permission of the model, whether the
// caller's token grants it, and the routes it opens.
type permissionView struct {
	Name        rbac.Permission
	Description string
	Granted     bool
	Routes      []string
}

type mePage struct {
	Permissions  []permissionView
	AccessClaims string
	IDClaims     string
}

// me shows the decoded claims of the session's tokens and what each
// permission unlocks here: the tutorial's "aha" page.
func (a *App) me(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	claims, err := a.rp.Claims(r)
	if err != nil {
		return err
	}
	page := mePage{
		Permissions:  a.unlocks(p),
		AccessClaims: indent(claims.Access),
		IDClaims:     indent(claims.ID),
	}
	return a.render.Page(w, r, http.StatusOK, "me", "My access", page)
}

// unlocks lists every permission of the model with the routes that
// permission alone opens, read from the route table itself.
func (a *App) unlocks(p *auth.Principal) []permissionView {
	views := make([]permissionView, 0, len(a.model.Permissions))
	for _, perm := range a.model.Permissions {
		only := &auth.Principal{Permissions: []rbac.Permission{perm.Name}}
		nobody := &auth.Principal{}
		v := permissionView{Name: perm.Name, Description: perm.Description, Granted: p.Can(perm.Name)}
		for _, rt := range a.routes.All() {
			if rt.Gate.Allows(only) && !rt.Gate.Allows(nobody) {
				v.Routes = append(v.Routes, rt.Method+" "+rt.Pattern)
			}
		}
		views = append(views, v)
	}
	return views
}

// meJSON is the body of GET /api/me.
type meJSON struct {
	Subject     string            `json:"sub"`
	OrgID       string            `json:"oid"`
	Roles       []string          `json:"roles"`
	Permissions []rbac.Permission `json:"permissions"`
	ExpiresAt   time.Time         `json:"expires_at"` // RFC 3339, UTC
}

// apiMe answers the caller's principal as the API sees it.
func (a *App) apiMe(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	return a.render.JSON(w, http.StatusOK, meJSON{
		Subject:     p.Subject,
		OrgID:       p.OrgID,
		Roles:       nonNil(p.Roles),
		Permissions: nonNil(p.Permissions),
		ExpiresAt:   p.ExpiresAt.UTC(),
	})
}

func indent(m map[string]any) string {
	if m == nil {
		return "(none)"
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "(unreadable)"
	}
	return string(b)
}

// nonNil makes a nil list an empty JSON array rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

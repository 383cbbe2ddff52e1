package members

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// Handler serves the members and audit pages and role changes. Its routes
// are gated in app/routes.go: members:read to look, CanAssignRoles to change.
type Handler struct {
	idp      IdP
	model    *rbac.Model
	assigner *Assigner
	audit    AuditLog
	render   *render.Renderer
}

// NewHandler returns a Handler.
func NewHandler(idp IdP, model *rbac.Model, assigner *Assigner, audit AuditLog, r *render.Renderer) *Handler {
	return &Handler{idp: idp, model: model, assigner: assigner, audit: audit, render: r}
}

// idpDeadline bounds the IdP calls a page makes, retries included: a slow
// IdP makes a slow page, not a hung one.
const idpDeadline = 20 * time.Second

// row is one member on the members page.
type row struct {
	UserID string
	Name   string
	Email  string
	Roles  []string
	Self   bool
}

type listPage struct {
	Members   []row
	Roles     []rbac.Role // the picker's choices
	CanAssign bool
	Changed   string // the name of the member whose roles just changed
}

// List shows the organization's members as the IdP knows them and, to
// those allowed to change roles, a role picker per member.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), idpDeadline)
	defer cancel()
	users, err := h.idp.ListOrganizationUsers(ctx, p.OrgID)
	if err != nil {
		return err
	}
	// The picker offers only the roles this user may grant (rbac.CanGrant);
	// SetRoles enforces the same rule whatever the form sends.
	page := listPage{Roles: h.model.Assignable(p.Permissions, p.OrgID), CanAssign: CanAssignRoles.Allows(p)}
	for _, u := range users {
		m := row{UserID: u.ID, Name: u.Profile.Name, Email: u.Email, Roles: u.RolesIn(p.OrgID), Self: u.ID == p.Subject}
		if m.Name == "" {
			m.Name = u.Email
		}
		if u.ID == r.URL.Query().Get("changed") {
			page.Changed = m.Name
		}
		page.Members = append(page.Members, m)
	}
	slices.SortFunc(page.Members, func(a, b row) int { return strings.Compare(a.Name, b.Name) })
	return h.render.Page(w, r, http.StatusOK, "members", "Members", page)
}

// SetRole changes a member's role (one role: Scalekit supports a single
// role per user per organization today) and goes back to the list.
func (h *Handler) SetRole(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), idpDeadline)
	defer cancel()
	if err := h.assigner.SetRoles(ctx, h.change(r)); err != nil {
		return err
	}
	http.Redirect(w, r, "/members?changed="+url.QueryEscape(r.PathValue("userID")), http.StatusSeeOther)
	return nil
}

// SetRoleRefused audits a role change refused before SetRole ran: by the
// route's gate, or because it came from another site.
func (h *Handler) SetRoleRefused(r *http.Request, reason string) {
	h.assigner.RecordRefusal(r.Context(), h.change(r), reason)
}

func (h *Handler) change(r *http.Request) Change {
	c := Change{Target: r.PathValue("userID"), Source: SourceApp}
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		c.OrgID, c.Actor, c.ActorPermissions = p.OrgID, p.Subject, p.Permissions
	}
	if role := r.PostFormValue("role"); role != "" {
		c.Roles = []string{role}
	}
	return c
}

type auditPage struct {
	Entries []Entry
	Names   map[string]string // user id -> name, for the members the IdP still lists
}

// Audit shows the organization's role changes and refused attempts.
func (h *Handler) Audit(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	entries, err := h.audit.List(r.Context(), p.OrgID, 200)
	if err != nil {
		return err
	}
	page := auditPage{Entries: entries, Names: map[string]string{}}
	ctx, cancel := context.WithTimeout(r.Context(), idpDeadline)
	defer cancel()
	users, err := h.idp.ListOrganizationUsers(ctx, p.OrgID)
	if err != nil {
		return err
	}
	for _, u := range users {
		page.Names[u.ID] = cmp.Or(u.Profile.Name, u.Email)
	}
	return h.render.Page(w, r, http.StatusOK, "audit", "Audit log", page)
}

package members

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// Handler serves the members and audit pages and role changes. Its routes
// are gated in app/routes.go: members:read to look, canAssign to change.
type Handler struct {
	members   *listing
	model     *rbac.Model
	assigner  *Assigner
	audit     AuditLog
	canAssign auth.Gate // the role routes' gate: who is shown the role picker
	render    *render.Renderer
}

// NewHandler returns a Handler. The pages show the IdP's listing of the
// organization from a copy of up to listingTTL, which changed (may be nil)
// makes stale as soon as a listed member's roles change; role changes
// themselves always read the IdP afresh. canAssign is the gate of the role
// routes: the pages show the role picker to those it lets through.
func NewHandler(idp UserLister, model *rbac.Model, assigner *Assigner, audit AuditLog, changed auth.RolesChangedFunc, canAssign auth.Gate, r *render.Renderer) *Handler {
	return &Handler{
		members: newListing(idp, changed, listingTTL, time.Now),
		model:   model, assigner: assigner, audit: audit, canAssign: canAssign, render: r,
	}
}

// idpDeadline bounds the IdP calls a page makes, retries included: a slow
// IdP makes a slow page, not a hung one.
const idpDeadline = 20 * time.Second

// Page sizes: a page's size does not grow with the organization.
const (
	membersPerPage = 100
	auditPerPage   = 50
)

// row is one member on the members page.
type row struct {
	UserID string
	Name   string
	Email  string
	Roles  []string
	// Kept are the member's roles that the viewer may not grant: shown,
	// not editable, and sent back as they are, so saving the others keeps
	// them.
	Kept []string
	Self bool
}

type listPage struct {
	Members   []row
	Roles     []rbac.Role // the picker's choices
	CanAssign bool
	Changed   string // the name of the member whose roles just changed
	Total     int    // members in the organization
	Prev      int    // number of the previous page, 0 on the first
	Next      int    // number of the next page, 0 on the last
}

// List shows the organization's members as the IdP knows them, by name, a
// page at a time and, to those allowed to change roles, a role picker per
// member: a checkbox per role they may grant.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	number, err := pageNumber(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), idpDeadline)
	defer cancel()
	users, err := h.members.users(ctx, p.OrgID)
	if err != nil {
		return err
	}
	// The picker offers only the roles this user may grant (rbac.CanGrant);
	// SetRoles enforces the same rule whatever the form sends.
	page := listPage{Roles: h.model.Assignable(p.Permissions, p.OrgID), CanAssign: h.canAssign.Allows(p), Total: len(users)}
	changed := r.URL.Query().Get("changed")
	all := make([]row, 0, len(users))
	for _, u := range users {
		m := row{UserID: u.ID, Name: cmp.Or(u.Profile.Name, u.Email), Email: u.Email, Roles: u.RolesIn(p.OrgID), Self: u.ID == p.Subject}
		if u.ID == changed {
			page.Changed = m.Name
		}
		all = append(all, m)
	}
	slices.SortFunc(all, func(a, b row) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.UserID, b.UserID))
	})
	pages := max(1, (len(all)+membersPerPage-1)/membersPerPage)
	number = min(number, pages)
	page.Members = all[(number-1)*membersPerPage : min(len(all), number*membersPerPage)]
	if number > 1 {
		page.Prev = number - 1
	}
	if number < pages {
		page.Next = number + 1
	}
	grantable := make([]string, len(page.Roles))
	for i, role := range page.Roles {
		grantable[i] = role.Name
	}
	for i, m := range page.Members {
		for _, role := range m.Roles {
			if !slices.Contains(grantable, role) {
				page.Members[i].Kept = append(page.Members[i].Kept, role)
			}
		}
	}
	return h.render.Page(w, r, http.StatusOK, "members", "Members", page)
}

// pageNumber reads ?page= (from 1; absent: 1).
func pageNumber(r *http.Request) (int, error) {
	s := r.URL.Query().Get("page")
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, problem.Invalid("page", "page must be a page number from 1.")
	}
	return n, nil
}

// SetRole sets a member's roles to those the form lists (one "role" field
// per role: the page's checkboxes send every role the member is to keep,
// so changing one role leaves the others) and goes back to the list.
func (h *Handler) SetRole(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), idpDeadline)
	defer cancel()
	c := h.change(r)
	err := h.assigner.SetRoles(ctx, c)
	// Whatever came of it, the IdP may hold new roles now (a failure can
	// come after the IdP applied the change): the next view lists afresh.
	h.members.forget(c.OrgID)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/members?changed="+url.QueryEscape(c.Target), http.StatusSeeOther)
	return nil
}

// SetRoleRefused audits a role change refused before SetRole ran: by the
// route's gate, or because it came from another site.
func (h *Handler) SetRoleRefused(r *http.Request, reason string) {
	h.assigner.RecordRefusal(r.Context(), h.change(r), reason)
}

func (h *Handler) change(r *http.Request) Change {
	c := Change{Target: r.PathValue("userID"), Source: SourceApp, Roles: formValues(r, "role")}
	if r.PostFormValue("had_sent") != "" {
		// The form says what roles it showed: a change made since (by
		// another admin, the dashboard, the directory) is not overwritten.
		c.Expected = formValues(r, "had")
		if c.Expected == nil {
			c.Expected = []string{}
		}
	}
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		c.OrgID, c.Actor, c.ActorPermissions = p.OrgID, p.Subject, p.Permissions
	}
	return c
}

// formValues returns the form's fields called name, without blanks and
// repeats, in the order sent.
func formValues(r *http.Request, name string) []string {
	_ = r.PostFormValue(name) // parses the form if the gate did not (a refusal): its errors leave no roles
	var roles []string
	seen := map[string]bool{}
	for _, role := range r.PostForm[name] {
		if role != "" && !seen[role] {
			seen[role] = true
			roles = append(roles, role)
		}
	}
	return roles
}

type auditPage struct {
	Entries []Entry
	Names   map[string]string // user id on the page -> name ("" once the IdP no longer lists them)
	Paged   bool              // this is not the newest page
	Older   int64             // the cursor of the next, older page; 0 on the last
}

// Audit shows the organization's role changes and refused attempts, newest
// first, auditPerPage at a time: ?before= is the cursor of older pages.
func (h *Handler) Audit(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	var before int64
	if s := r.URL.Query().Get("before"); s != "" {
		var err error
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
			return problem.Invalid("before", "before must be the cursor of an Older link.")
		}
	}
	entries, err := h.audit.ListBefore(r.Context(), p.OrgID, before, auditPerPage+1)
	if err != nil {
		return err
	}
	page := auditPage{Entries: entries, Names: map[string]string{}, Paged: before > 0}
	if len(entries) > auditPerPage {
		page.Entries = entries[:auditPerPage]
		page.Older = page.Entries[auditPerPage-1].ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), idpDeadline)
	defer cancel()
	users, err := h.members.users(ctx, p.OrgID)
	if err != nil {
		return err
	}
	for _, e := range page.Entries {
		page.Names[e.Actor], page.Names[e.Target] = "", ""
	}
	for _, u := range users {
		if _, ok := page.Names[u.ID]; ok {
			page.Names[u.ID] = cmp.Or(u.Profile.Name, u.Email)
		}
	}
	return h.render.Page(w, r, http.StatusOK, "audit", "Audit log", page)
}

package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
	"github.com/scalekit-samples/go-rbac-projects/session"
)

// orgIDPattern is what an organization id given to the switch looks like
// (Scalekit writes org_ and digits). Anything else is refused before it
// reaches the IdP's authorize URL.
var orgIDPattern = regexp.MustCompile(`^org_[A-Za-z0-9]{1,64}$`)

// userGetter reads a user with their memberships from the IdP's
// management API (scalekit.Client.GetUser).
type userGetter interface {
	GetUser(ctx context.Context, userID string) (*scalekit.User, error)
}

// orgDirectoryTTL is how long a user's memberships are reused. The list
// only names the organizations in the header: what a user may do in one
// comes from their token, and the IdP refuses a switch into an
// organization they have left, however recent the list.
const orgDirectoryTTL = 30 * time.Second

// orgDirectoryTimeout bounds the lookup a page waits for.
const orgDirectoryTimeout = 2 * time.Second

// orgDirectoryRetry is how long a failed lookup stands: while the IdP is
// down, one page of a user's in that time waits for it, not every page.
const orgDirectoryRetry = 10 * time.Second

// maxCachedUsers bounds the cache: past it, expired entries are dropped,
// and if none were, all of them.
const maxCachedUsers = 10_000

// orgDirectory knows, per user, the organizations they belong to and
// their names, from the IdP's management API (a source the app trusts: it
// asks with its own credentials), never from a request parameter or an
// unverified claim. Tokens carry the organization's id only.
type orgDirectory struct {
	idp userGetter
	now func() time.Time
	log *slog.Logger

	mu    sync.Mutex
	cache map[string]orgEntry // by user id
}

type orgEntry struct {
	memberships []scalekit.Membership
	err         error // the last lookup failed, and there was no list before it
	expires     time.Time
}

func newOrgDirectory(idp userGetter, now func() time.Time, log *slog.Logger) *orgDirectory {
	if now == nil {
		now = time.Now
	}
	return &orgDirectory{idp: idp, now: now, log: log, cache: map[string]orgEntry{}}
}

// memberships returns the active memberships of a user, from the cache
// or the IdP.
func (d *orgDirectory) memberships(ctx context.Context, userID string) ([]scalekit.Membership, error) {
	now := d.now()
	d.mu.Lock()
	e, ok := d.cache[userID]
	d.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.memberships, e.err
	}
	lookup, cancel := context.WithTimeout(ctx, orgDirectoryTimeout)
	defer cancel()
	u, err := d.idp.GetUser(lookup, userID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // the visitor left: their failure, not the IdP's
		}
		// Keep what was known (names change rarely, and a switch is
		// checked by the IdP anyway), or remember the failure, for a
		// while: an outage must not slow down every page.
		if ok && e.err == nil {
			d.log.WarnContext(ctx, "organization names not refreshed from the IdP: showing the last ones read", "sub", userID, "err", err)
		} else {
			d.log.WarnContext(ctx, "organization names not read from the IdP", "sub", userID, "err", err)
			e = orgEntry{err: err}
		}
		e.expires = now.Add(orgDirectoryRetry)
		d.store(userID, e)
		return e.memberships, e.err
	}
	var active []scalekit.Membership
	for _, m := range u.Memberships {
		// An invitation not yet accepted is no organization to sign in to.
		if m.Status == "" || m.Status == "ACTIVE" {
			active = append(active, m)
		}
	}
	d.store(userID, orgEntry{memberships: active, expires: now.Add(orgDirectoryTTL)})
	return active, nil
}

// store caches e for the user, within maxCachedUsers.
func (d *orgDirectory) store(userID string, e orgEntry) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cache) >= maxCachedUsers {
		for id, old := range d.cache {
			if !now.Before(old.expires) {
				delete(d.cache, id)
			}
		}
		if len(d.cache) >= maxCachedUsers {
			clear(d.cache)
		}
	}
	d.cache[userID] = e
}

// forget drops a user's cached memberships, so that the next page after a
// switch reads them afresh.
func (d *orgDirectory) forget(userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.cache, userID)
}

// header is the layout's view of the viewer's organizations. The current
// one is the token's oid; the list only gives it a name. When the IdP
// cannot say, the header shows the id and no switcher: a page never fails
// for want of a name.
func (d *orgDirectory) header(r *http.Request, p *auth.Principal) render.Organizations {
	orgs := render.Organizations{Current: p.OrgID}
	ms, err := d.memberships(r.Context(), p.Subject)
	if err != nil {
		return orgs // memberships said why, once
	}
	for _, m := range ms {
		name := cmp.Or(m.DisplayName, m.Name, m.OrganizationID)
		current := m.OrganizationID == p.OrgID
		if current {
			orgs.Current = name
		}
		orgs.Choices = append(orgs.Choices, render.OrgChoice{ID: m.OrganizationID, Name: name, Current: current})
	}
	if len(orgs.Choices) < 2 {
		orgs.Choices = nil
	}
	return orgs
}

// switchOrganization is POST /switch-organization: a new sign-in at the IdP
// into the organization of the form's organization_id, landing back on
// the form's return_to. The session is replaced only by a successful
// callback, with a new id and the new organization's tokens; until then,
// and if the IdP refuses, it stays as it was, in its organization.
func (a *App) switchOrganization(orgs *orgDirectory, rp *session.RelyingParty) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := auth.PrincipalFrom(r.Context())
		target := r.PostFormValue("organization_id")
		if !orgIDPattern.MatchString(target) {
			return problem.Invalid("organization_id", "organization_id must be an organization id such as org_100000000000000001.")
		}
		// The list is a courtesy that spares a round trip: the IdP has the
		// last word, and refuses whoever is not a member whatever it says.
		if ms, err := orgs.memberships(r.Context(), p.Subject); err == nil && !isMember(ms, target) {
			return problem.Invalid("organization_id", "You are not a member of organization %s.", target)
		} else if err != nil {
			a.log.WarnContext(r.Context(), "memberships not read from the IdP; the IdP decides the switch", "sub", p.Subject, "err", err)
		}
		orgs.forget(p.Subject)
		// Back to the same page if it is one of the menu's, which every
		// organization has; a page of one item (a project) belongs to the
		// organization left behind, and would only be a 404 in the new one.
		returnTo := r.PostFormValue("return_to")
		if !slices.ContainsFunc(navigation, func(l render.Link) bool { return l.Path == returnTo }) {
			returnTo = "/projects"
		}
		a.log.InfoContext(r.Context(), "switching organization", "sub", p.Subject, "from", p.OrgID, "to", target)
		if err := rp.Authorize(w, r, session.AuthOptions{
			ReturnTo:       returnTo,
			OrganizationID: target,
			Prompt:         "select_account",
			LoginHint:      p.Email,
			Subject:        p.Subject,
		}); err != nil {
			return fmt.Errorf("switch organization: %w", err)
		}
		return nil
	}
}

func isMember(ms []scalekit.Membership, orgID string) bool {
	for _, m := range ms {
		if m.OrganizationID == orgID {
			return true
		}
	}
	return false
}

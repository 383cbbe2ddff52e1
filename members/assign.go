package members

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// IdP is the part of the identity provider's management API that role
// assignment uses (the scalekit client; the mock IdP serves the same).
type IdP interface {
	ListOrganizationUsers(ctx context.Context, orgID string) ([]scalekit.User, error)
	UpdateMemberRoles(ctx context.Context, orgID, userID string, roles []string) (*scalekit.User, error)
}

// AdminRole is the role whose holders may always change roles in their
// organization (seed document 003: "the admin role or an equivalent role
// with the necessary permissions").
const AdminRole = "admin"

// identifier is what a user or organization id may look like. Ids are
// opaque (Scalekit writes usr_... and org_...), but they travel into URL
// paths of the IdP's API, so anything beyond this is refused up front.
var identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// Assigner changes members' roles: it validates the request, applies it
// at the IdP, and then makes it take effect at once and leaves a trace.
type Assigner struct {
	// leases serialize the role changes of an organization, across all app
	// instances sharing the database, so that two admins demoting each
	// other at once cannot both pass the last-admin check.
	leases  *lease.Table
	idp     IdP
	model   *rbac.Model
	audit   AuditLog
	changes *RoleChanges
	dir     *Directory
	log     *slog.Logger
	wait    time.Duration // how long a change waits for the organization's lease: changeWait
}

// NewAssigner returns an Assigner.
func NewAssigner(idp IdP, model *rbac.Model, audit AuditLog, changes *RoleChanges, dir *Directory, leases *lease.Table, log *slog.Logger) *Assigner {
	return &Assigner{idp: idp, model: model, audit: audit, changes: changes, dir: dir, leases: leases, log: log, wait: changeWait}
}

// SetWait sets how long a change waits for the organization's lease
// before it is answered 503 with Retry-After (default changeWait, 5 s);
// d <= 0 keeps the default. Tests shorten it.
func (a *Assigner) SetWait(d time.Duration) {
	if d > 0 {
		a.wait = d
	}
}

// Role changes of one organization hold its lease from reading its members
// to recording the change. changeTTL outlasts the two IdP calls in between
// (each bounded by the IdP client's timeout). changeWait is how long a
// change waits for the one before it: a change takes well under a second
// when the IdP is well, but the lease of an instance that crashed holding
// it lapses only after changeTTL, longer than clients and load balancers
// wait; past changeWait the request is answered 503 with Retry-After.
const (
	changeTTL  = time.Minute
	changeWait = 5 * time.Second
)

// finishTimeout bounds the part of a change that runs detached from the
// request, from the IdP call to the audit entry. Added to the request's
// own deadline for what comes before, it stays within changeTTL.
const finishTimeout = 30 * time.Second

// errAbandoned is a change whose requester went away before it was sent to
// the IdP: nothing was changed.
var errAbandoned = errors.New("the request was abandoned before the change was sent")

// orgLease names the lease that serializes an organization's role changes.
func orgLease(orgID string) string { return "org-roles:" + orgID }

// errBusy is a role change that waited too long for another one, or whose
// lease another took over while it stalled: nothing was sent to the IdP.
var errBusy = errors.New("another role change of the organization is taking long")

// busyRetry is the Retry-After of a change that gave up on the lease.
const busyRetry = 5 * time.Second

// busy is the error of a change that gave up on the lease: 503 with
// Retry-After for a request (errors.Is(err, errBusy) holds).
func busy(cause error) error {
	return &problem.BusyError{
		Message:    "Another role change in this organization is taking long. Try again in a moment.",
		RetryAfter: busyRetry,
		Err:        fmt.Errorf("%w: %w", errBusy, cause),
	}
}

// Change is one role-change request.
type Change struct {
	OrgID  string
	Actor  string // who asks: a user id, or the webhook id for directory sync
	Target string
	Roles  []string
	Source string // SourceApp or SourceDirectorySync
	// ActorPermissions are the permissions in the actor's verified token:
	// nobody grants a role that brings more than they hold. Directory sync
	// is exempt: its roles come from the IdP's own group mapping.
	ActorPermissions []rbac.Permission
	// Expected, when not nil, are the target's roles as the requester saw
	// them: if the IdP holds others now, the change is refused (409) rather
	// than silently undoing a change made in between.
	Expected []string
	// OccurredAt is when the directory changed (directory sync only): a
	// change older than the last one applied to the member is skipped.
	OccurredAt time.Time
}

// SetRoles applies c, following seed document 003: verify the actor (done
// by the caller's gate, or by the webhook signature), validate the
// identifiers, update the membership at the IdP, then record. Every
// outcome, refusal included, is written to the audit log.
//
// A change is all or nothing for the requester's sake: once it is sent to
// the IdP, the rest (the role-change stamp that makes the member's old
// tokens stale, the directory, the audit entry) runs detached from ctx, so
// an admin whose browser gives up while the IdP is slow cannot leave a
// demotion applied but neither enforced nor visible.
func (a *Assigner) SetRoles(ctx context.Context, c Change) (err error) {
	var old []string
	defer func() {
		a.record(ctx, c, old, err)
		if errors.Is(err, errUnchanged) {
			err = nil
		}
	}()
	if !identifier.MatchString(c.OrgID) || !identifier.MatchString(c.Target) {
		return problem.Invalid("user", "That is not a valid user or organization id.")
	}
	if len(c.Roles) == 0 {
		return problem.Invalid("role", "Pick a role.")
	}
	for _, r := range c.Roles {
		_, global := a.model.Role(r)
		_, own := a.model.OrgRole(c.OrgID, r)
		if !global && !own {
			return problem.Invalid("role", "There is no role %q.", short(r))
		}
		if c.Source != SourceDirectorySync && !a.model.CanGrant(c.ActorPermissions, c.OrgID, r) {
			return &auth.DeniedError{Permission: firstMissing(a.model.EffectiveIn(c.OrgID, r), c.ActorPermissions)}
		}
	}
	held, err := a.leases.Acquire(ctx, orgLease(c.OrgID), changeTTL, a.wait)
	if errors.Is(err, lease.ErrBusy) {
		return busy(err)
	}
	if err != nil {
		return fmt.Errorf("role change of %s: %w", c.OrgID, err)
	}
	defer held.Release(ctx)
	if c.Source == SourceDirectorySync && !c.OccurredAt.IsZero() {
		if err := a.dir.checkSyncOrder(ctx, c.OrgID, c.Target, c.OccurredAt); err != nil {
			return err
		}
	}
	users, err := a.idp.ListOrganizationUsers(ctx, c.OrgID)
	if err != nil {
		return fmt.Errorf("list members of %s: %w", c.OrgID, err)
	}
	// The target must be a member of the actor's own organization: an
	// admin of one organization never reaches another's members.
	i := slices.IndexFunc(users, func(u scalekit.User) bool { return u.ID == c.Target })
	if i < 0 {
		return fmt.Errorf("user %s in %s: %w", c.Target, c.OrgID, problem.ErrNotFound)
	}
	old = users[i].RolesIn(c.OrgID)
	if c.Source != SourceDirectorySync {
		if err := a.checkOutranks(c.OrgID, old, c.ActorPermissions); err != nil {
			return err
		}
	}
	if c.Expected != nil && !sameRoles(old, c.Expected) {
		return errChangedMeanwhile
	}
	if slices.Contains(old, AdminRole) && !slices.Contains(c.Roles, AdminRole) && admins(users, c.OrgID) == 1 {
		return errLastAdmin
	}
	if sameRoles(old, c.Roles) {
		if c.Source == SourceDirectorySync {
			// The IdP maps directory groups to roles itself and may have
			// applied these before telling us: tokens it issued before
			// the event can still carry the old roles.
			if err := a.changes.RecordDated(ctx, c.OrgID, c.Target, c.OccurredAt); err != nil {
				return err
			}
		}
		// Nothing to do at the IdP. (A change made in the app leaves the
		// member's tokens saying the truth.)
		return errUnchanged
	}
	if ctx.Err() != nil {
		return fmt.Errorf("role change of %s: %w (%w)", c.Target, errAbandoned, context.Cause(ctx))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	// Still ours? If this instance stalled past the lease and another
	// change took it, the checks above may be out of date (two admins
	// demoting each other would both pass): send nothing.
	if _, err := held.Renew(ctx); err != nil {
		if errors.Is(err, lease.ErrLost) {
			return busy(err)
		}
		return fmt.Errorf("role change of %s: %w", c.Target, err)
	}
	updated, err := a.idp.UpdateMemberRoles(ctx, c.OrgID, c.Target, c.Roles)
	if err != nil {
		var apiErr *scalekit.APIError
		if errors.As(err, &apiErr) && errors.Is(err, scalekit.ErrInvalid) {
			return problem.Invalid("role", "The identity provider refused the change: %s", apiErr.Message)
		}
		// No answer (a timeout, a dropped connection) does not mean the
		// IdP did not apply it: ask, and record what it says.
		if !a.appliedAnyway(ctx, c) {
			return fmt.Errorf("update roles of %s: %w", c.Target, err)
		}
		a.log.WarnContext(ctx, "role change: the IdP's answer was lost, but it applied the change", "err", err, "org", c.OrgID, "target", c.Target)
	}
	// From here on the change is applied at the IdP: what follows must be
	// done even if the lease was lost meanwhile (a stamp that makes the
	// member's old tokens stale is never wrong; leaving it out would be).
	// The renewal keeps it ours if it can.
	if _, err := held.Renew(ctx); err != nil {
		a.log.WarnContext(ctx, "role change applied at the IdP after its lease was lost; recording it anyway", "err", err, "org", c.OrgID, "target", c.Target)
	}
	// Dated by the IdP's clock when it says (its answer's Date): its
	// tokens' iat is by that clock.
	var asOf time.Time
	if updated != nil {
		asOf = updated.AsOf
	}
	if err := a.changes.RecordDated(ctx, c.OrgID, c.Target, asOf); err != nil {
		return err
	}
	if err := a.dir.SetRoles(ctx, c.OrgID, c.Target, c.Roles); err != nil {
		return err
	}
	return nil
}

// appliedAnyway reports whether the IdP holds c's roles for its target.
func (a *Assigner) appliedAnyway(ctx context.Context, c Change) bool {
	users, err := a.idp.ListOrganizationUsers(ctx, c.OrgID)
	if err != nil {
		return false
	}
	i := slices.IndexFunc(users, func(u scalekit.User) bool { return u.ID == c.Target })
	return i >= 0 && sameRoles(users[i].RolesIn(c.OrgID), c.Roles)
}

// checkOutranks refuses a change of a member who holds more than the
// actor: the granting rule (rbac.CanGrant) applies to the roles a change
// takes away as much as to those it gives, or a holder of roles:assign
// with little else could demote an admin. It names the first permission
// of the member's current roles that the actor lacks.
func (a *Assigner) checkOutranks(orgID string, current []string, have []rbac.Permission) error {
	for _, r := range current {
		if a.model.CanGrant(have, orgID, r) {
			continue
		}
		brings := a.model.EffectiveIn(orgID, r)
		if _, global := a.model.Role(r); !global {
			if _, own := a.model.OrgRole(orgID, r); !own {
				// A role the app's model does not know (made in the IdP's
				// dashboard) may bring any permission: only an actor holding
				// every one of them may take it away.
				brings = allPermissions(a.model)
			}
		}
		if p := firstMissing(brings, have); p != "" {
			return &auth.DeniedError{Permission: p}
		}
	}
	return nil
}

func allPermissions(m *rbac.Model) []rbac.Permission {
	perms := make([]rbac.Permission, 0, len(m.Permissions))
	for _, d := range m.Permissions {
		perms = append(perms, d.Name)
	}
	return perms
}

// firstMissing returns the first of want that have lacks.
func firstMissing(want, have []rbac.Permission) rbac.Permission {
	for _, p := range want {
		if !slices.Contains(have, p) {
			return p
		}
	}
	return ""
}

// short cuts user input down to a length fit for messages and the log.
func short(s string) string { return plaintext.Cut(s, 64) }

// errUnchanged is not a failure: the member already has those roles.
var errUnchanged = errors.New("roles unchanged")

func sameRoles(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// errChangedMeanwhile refuses a change based on roles that are no longer
// the member's.
var errChangedMeanwhile = &problem.ConflictError{Message: "This member's roles changed since the page was loaded. Review them and save again."}

// errLastAdmin refuses to leave an organization without an admin.
var errLastAdmin = &problem.ConflictError{Message: "This is the organization's last admin. Make someone else admin first."}

func admins(users []scalekit.User, orgID string) int {
	n := 0
	for _, u := range users {
		if slices.Contains(u.RolesIn(orgID), AdminRole) {
			n++
		}
	}
	return n
}

// record writes the audit entry for c's outcome. It runs detached from
// ctx's cancellation: a requester who goes away does not erase the trace
// of what they asked.
func (a *Assigner) record(ctx context.Context, c Change, old []string, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	e := Entry{OrgID: c.OrgID, Actor: c.Actor, Target: c.Target, OldRoles: old, NewRoles: c.Roles, Source: c.Source, Outcome: OutcomeChanged}
	switch {
	case errors.Is(err, errUnchanged):
		e.Outcome = OutcomeUnchanged
	case errors.Is(err, errStale):
		e.Outcome, e.Reason = OutcomeSkipped, errStale.Error()
	case err != nil:
		e.Outcome, e.Reason = OutcomeRefused, RefusalReason(err)
	}
	if aerr := a.audit.Record(ctx, e); aerr != nil {
		a.log.ErrorContext(ctx, "audit entry lost", "err", aerr, "org", c.OrgID, "target", c.Target)
	}
}

// RecordRefusal audits an attempt refused before it reached SetRoles (by
// the route's gate or the cross-site check).
func (a *Assigner) RecordRefusal(ctx context.Context, c Change, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	e := Entry{OrgID: c.OrgID, Actor: c.Actor, Target: c.Target, NewRoles: c.Roles, Source: c.Source, Outcome: OutcomeRefused, Reason: reason}
	if err := a.audit.Record(ctx, e); err != nil {
		a.log.ErrorContext(ctx, "audit entry lost", "err", err, "org", c.OrgID, "target", c.Target)
	}
}

// RefusalReason says in a few words why err refused a change, for the
// audit log.
func RefusalReason(err error) string {
	var denied *auth.DeniedError
	var input *problem.InputError
	switch {
	case errors.As(err, &denied):
		return "not allowed: requires " + denied.Requirement()
	case errors.As(err, &input):
		return input.Message
	case errors.Is(err, errLastAdmin):
		return "the organization's last admin cannot be demoted"
	case errors.Is(err, errChangedMeanwhile):
		return "the member's roles had changed since the requester's page was loaded"
	case errors.Is(err, errBusy):
		return "another role change of the organization took too long"
	case errors.Is(err, errAbandoned), errors.Is(err, context.Canceled):
		return errAbandoned.Error()
	case errors.Is(err, auth.ErrIdPUnreachable):
		return "the identity provider was unreachable"
	case errors.Is(err, problem.ErrNotFound):
		return "not a member of the organization"
	case errors.Is(err, auth.ErrUnauthenticated):
		return "not signed in"
	}
	// Details of unexpected errors go to the log, not to the audit trail.
	return "failed: an unexpected error (see the server log)"
}

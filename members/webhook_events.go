package members

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// membershipUpdated handles a change of a member's roles made at the IdP
// (its dashboard, or its API): the member's tokens issued before it are
// stale now, and the roles recorded here follow the IdP's. The event may
// carry roles; the IdP's listing is read instead, because it is the
// current truth whatever order events arrive in.
func (h *Webhook) membershipUpdated(ctx context.Context, ev event, dated time.Time) (webhookResult, error) {
	orgID := cmp.Or(ev.Data.Organization.ID, ev.Data.OrganizationID, ev.OrganizationID)
	userID := cmp.Or(ev.Data.User.ID, ev.Data.UserID)
	if !identifier.MatchString(orgID) || !identifier.MatchString(userID) {
		return webhookResult{Status: "ignored", Reason: "the event names no valid user and organization"}, nil
	}
	// Stamp first: whatever happens next, the old tokens stop counting.
	if err := h.assigner.changes.RecordDated(ctx, orgID, userID, dated); err != nil {
		return webhookResult{}, err
	}
	users, err := h.idp.ListOrganizationUsers(ctx, orgID)
	if errors.Is(err, scalekit.ErrNotFound) {
		return webhookResult{Status: "applied", Reason: "the organization is gone at the IdP"}, nil
	}
	if err != nil {
		return webhookResult{}, fmt.Errorf("read roles of %s in %s: %w", userID, orgID, err)
	}
	i := slices.IndexFunc(users, func(u scalekit.User) bool { return u.ID == userID })
	if i < 0 {
		return webhookResult{Status: "applied", Reason: "no longer a member of the organization"}, nil
	}
	if err := h.assigner.dir.SetRoles(ctx, orgID, userID, users[i].RolesIn(orgID)); err != nil {
		return webhookResult{}, err
	}
	return webhookResult{Status: "applied"}, nil
}

// modelChanged handles a change of a role or a permission: what the roles
// grant changed, so every token of the role's organization issued before
// it is stale, or, for an environment's role or permission (no
// organization named), every token of every organization. One stamp per
// organization, or one for all: the per-request check stays three lookups.
func (h *Webhook) modelChanged(ctx context.Context, ev event, dated time.Time) (webhookResult, error) {
	orgID := cmp.Or(ev.Data.OrganizationID, ev.Data.Organization.ID, ev.OrganizationID)
	if orgID != "" && !identifier.MatchString(orgID) {
		return webhookResult{Status: "ignored", Reason: "the event names no valid organization"}, nil
	}
	if err := h.assigner.changes.RecordDated(ctx, orgID, "", dated); err != nil {
		return webhookResult{}, err
	}
	if orgID == "" {
		return webhookResult{Status: "applied", Reason: "tokens of every organization issued before it are out of date"}, nil
	}
	return webhookResult{Status: "applied", Reason: "tokens of the organization issued before it are out of date"}, nil
}

// directoryEvent applies a directory-sync event. Roles the directory maps
// are applied like a change on the members page; an event without roles
// changes no roles; a user leaving the directory is no longer a member
// here and is signed out at once, but is granted nothing.
func (h *Webhook) directoryEvent(ctx context.Context, id string, ev event, occurred, sent time.Time) (webhookResult, error) {
	orgID := cmp.Or(ev.Data.OrganizationID, ev.OrganizationID)
	userID := ev.Data.UserID
	var idpRoles []string // the member's roles at the IdP, when looked up
	if userID == "" {
		u, err := h.userByEmail(ctx, orgID, ev.Data.Email)
		if err != nil {
			return webhookResult{}, err
		}
		switch {
		case u != nil:
			userID, idpRoles = u.ID, u.RolesIn(orgID)
		case ev.Type == EventUserDeleted:
			// The IdP may have removed the member already: whoever has that
			// email here is the one to sign out.
			if userID, err = h.assigner.dir.byEmail(ctx, orgID, ev.Data.Email); err != nil {
				return webhookResult{}, err
			}
		}
		if userID == "" {
			return webhookResult{Status: "ignored", Reason: "no member of the organization has that email"}, nil
		}
	}
	if !identifier.MatchString(orgID) || !identifier.MatchString(userID) {
		return webhookResult{Status: "ignored", Reason: "the event names no valid user and organization"}, nil
	}
	var roles []string
	for _, r := range ev.Data.Roles {
		roles = append(roles, r.RoleName)
	}
	if ev.Type == EventUserDeleted || len(roles) == 0 {
		res, err := h.membershipOnly(ctx, ev, orgID, userID, idpRoles, occurred, sent)
		if err == nil {
			h.audit(ctx, id, orgID, userID, idpRoles, res)
		}
		return res, err
	}
	err := h.assigner.SetRoles(ctx, Change{OrgID: orgID, Actor: "webhook:" + id, Target: userID, Roles: roles,
		Source: SourceDirectorySync, OccurredAt: occurred})
	var input *problem.InputError
	switch {
	case errors.Is(err, errStale):
		return webhookResult{Status: "ignored", Reason: errStale.Error()}, nil
	case errors.Is(err, errBusy):
		return webhookResult{}, err // retried: see Receive
	case err == nil:
		// In the directory: assignable now, not only after a sign-in.
		if err := h.assigner.dir.Join(ctx, orgID, userID, ev.Data.Email, roles); err != nil {
			return webhookResult{}, err
		}
		return webhookResult{Status: "applied"}, nil
	case errors.As(err, &input), errors.Is(err, problem.ErrConflict), errors.Is(err, problem.ErrNotFound):
		return webhookResult{Status: "refused", Reason: RefusalReason(err)}, nil
	}
	return webhookResult{}, err
}

// membershipOnly applies a directory event that changes who is a member,
// not their roles: a join or update without mapped roles, or a departure.
// It holds the organization's lease, as a role change does, so that it
// and a role change of the same member cannot interleave, and it skips an
// event older than the last one applied to the member.
func (h *Webhook) membershipOnly(ctx context.Context, ev event, orgID, userID string, idpRoles []string, occurred, sent time.Time) (webhookResult, error) {
	a := h.assigner
	held, err := a.leases.Acquire(ctx, orgLease(orgID), changeTTL, a.wait)
	if errors.Is(err, lease.ErrBusy) {
		return webhookResult{}, busy(err)
	}
	if err != nil {
		return webhookResult{}, fmt.Errorf("directory event of %s: %w", orgID, err)
	}
	defer held.Release(ctx)
	if !occurred.IsZero() {
		if err := a.dir.checkSyncOrder(ctx, orgID, userID, occurred); errors.Is(err, errStale) {
			return webhookResult{Status: "ignored", Reason: errStale.Error()}, nil
		} else if err != nil {
			return webhookResult{}, err
		}
	}
	// Still ours? A holder that stalled past its lease must not apply an
	// event over a role change made meanwhile: the sender retries (503).
	if _, err := held.Renew(ctx); errors.Is(err, lease.ErrLost) {
		return webhookResult{}, busy(err)
	} else if err != nil {
		return webhookResult{}, fmt.Errorf("directory event of %s: %w", orgID, err)
	}
	if ev.Type != EventUserDeleted {
		// No mapped group: the member's roles stay what the IdP has (the
		// ones looked up, or else those recorded here).
		if err := a.dir.Join(ctx, orgID, userID, ev.Data.Email, idpRoles); err != nil {
			return webhookResult{}, err
		}
		return webhookResult{Status: "applied", Reason: "no roles in the event: roles unchanged"}, nil
	}
	// Gone from the directory: no longer offered as an assignee, signed
	// out of every browser session, and any token issued before the event
	// was sent refused (by the IdP's clock, as the tokens' iat).
	if err := a.dir.Forget(ctx, orgID, userID); err != nil {
		return webhookResult{}, err
	}
	if err := a.changes.RecordDated(ctx, orgID, userID, sent); err != nil {
		return webhookResult{}, err
	}
	n, err := h.sessions.EndSessions(ctx, orgID, userID)
	if err != nil {
		return webhookResult{}, err
	}
	h.log.InfoContext(ctx, "member left the directory; signed out", "org", orgID, "user", userID, "sessions", n)
	return webhookResult{Status: "applied", Reason: "left the directory: signed out, roles unchanged"}, nil
}

// audit records a directory event that changed no roles, as the role
// changes are: skipped ones, and the others as unchanged, with the reason.
func (h *Webhook) audit(ctx context.Context, id, orgID, userID string, roles []string, res webhookResult) {
	e := Entry{OrgID: orgID, Actor: "webhook:" + id, Target: userID, OldRoles: roles, NewRoles: roles,
		Source: SourceDirectorySync, Outcome: OutcomeUnchanged, Reason: res.Reason}
	if res.Status == "ignored" {
		e.Outcome = OutcomeSkipped
	}
	if err := h.assigner.audit.Record(ctx, e); err != nil {
		h.log.ErrorContext(ctx, "audit entry lost", "err", err, "org", orgID, "target", userID)
	}
}

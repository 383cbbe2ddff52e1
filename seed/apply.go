package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Summary counts what Apply did. When Apply stops at an error, Failed is
// the step that failed and NotApplied the steps after it.
type Summary struct {
	Created, Updated, Unchanged, Deleted, LeftAlone int
	Failed                                          *Step
	NotApplied                                      int
}

// Apply makes the changes of p, in order, writing one progress line per
// step to progress. A create that finds the item already there (Scalekit
// answers 400 "duplicate key not allowed", some gateways 409) compares it
// with the file and updates it if it differs: reading it back, not the
// error's wording, decides whether it is there. It stops at the first
// error; the summary then says what was applied before it.
func Apply(ctx context.Context, c *scalekit.Client, p *Plan, progress io.Writer) (Summary, error) {
	var sum Summary
	for i := range p.Steps {
		s := &p.Steps[i]
		result, err := applyStep(ctx, c, p, s)
		if err != nil {
			fmt.Fprintf(progress, "  %-13s %-34s FAILED\n", s.Kind, s.label())
			sum.Failed, sum.NotApplied = s, len(p.Steps)-i-1
			return sum, err // it names the step already: "create role editor: ..."
		}
		switch result {
		case "created":
			sum.Created++
		case "updated", "existed, updated":
			sum.Updated++
		case "deleted":
			sum.Deleted++
		case "left alone":
			sum.LeftAlone++
		default:
			sum.Unchanged++
		}
		fmt.Fprintf(progress, "  %-13s %-34s %s\n", s.Kind, s.label(), result)
	}
	return sum, nil
}

// applyStep carries out one step and says what happened.
func applyStep(ctx context.Context, c *scalekit.Client, p *Plan, s *Step) (string, error) {
	switch s.Action {
	case Unchanged:
		return "unchanged", nil
	case OnlyRemote:
		return "left alone", nil
	case Delete:
		return "deleted", deleteStep(ctx, c, p, s)
	}
	switch s.Kind {
	case KindPermission:
		if s.Action == Update {
			_, err := c.UpdatePermission(ctx, s.Name, s.perm.Description)
			return "updated", err
		}
		return createPermission(ctx, c, s.perm)
	case KindDefaults:
		return "updated", c.SetDefaultRoles(ctx, s.defaults)
	case KindRole, KindOrgRole:
		if s.Action == Update {
			return "updated", updateRole(ctx, c, s.Org, s.role, *s.remote)
		}
		return createRole(ctx, c, s.Org, s.role)
	}
	return "", fmt.Errorf("unknown step kind %q", s.Kind)
}

// createPermission creates a permission, or updates the one that turns out
// to exist already.
func createPermission(ctx context.Context, c *scalekit.Client, d rbac.PermissionDef) (string, error) {
	_, err := c.CreatePermission(ctx, string(d.Name), d.Description)
	if !mayExist(err) {
		return "created", err
	}
	// Someone registered it since the plan was made, or the 400 was about
	// something else: only reading it back tells.
	have, readErr := c.GetPermission(ctx, string(d.Name))
	if readErr != nil {
		return "", createFailed(err, readErr)
	}
	if have.Description == d.Description {
		return "existed, unchanged", nil
	}
	_, err = c.UpdatePermission(ctx, string(d.Name), d.Description)
	return "existed, updated", err
}

// createRole creates a role, or updates the one that turns out to exist
// already.
func createRole(ctx context.Context, c *scalekit.Client, org string, r rbac.Role) (string, error) {
	nr := scalekit.NewRole{Name: r.Name, DisplayName: r.DisplayName, Description: r.Description, Extends: r.Extends, Permissions: names(r.Permissions)}
	var err error
	if org == "" {
		_, err = c.CreateRole(ctx, nr)
	} else {
		_, err = c.CreateOrganizationRole(ctx, org, nr)
	}
	if !mayExist(err) {
		return "created", err
	}
	// As for a permission: read it back, then compare with what is there
	// now, and update.
	var have *scalekit.Role
	var readErr error
	if org == "" {
		have, readErr = c.GetRole(ctx, r.Name, scalekit.IncludePermissions)
	} else {
		have, readErr = c.GetOrganizationRole(ctx, org, r.Name, scalekit.IncludePermissions)
	}
	if readErr != nil {
		return "", createFailed(err, readErr)
	}
	if len(roleChanges(r, *have)) == 0 {
		return "existed, unchanged", nil
	}
	return "existed, updated", updateRole(ctx, c, org, r, *have)
}

// mayExist reports whether a failed create may have met an item that is
// already there: Scalekit answers a duplicate with a plain 400 (its SDKs
// expect a bad request), which the message alone does not reliably tell
// from other bad requests, and a 409 or ALREADY_EXISTS says so outright.
func mayExist(err error) bool {
	var apiErr *scalekit.APIError
	return errors.As(err, &apiErr) && (apiErr.Status == http.StatusBadRequest || errors.Is(apiErr, scalekit.ErrAlreadyExists))
}

// createFailed is the error of a create whose read-back did not find the
// item: the create's own error, since it says what was wrong with the
// request, and the read's if that failed for another reason.
func createFailed(createErr, readErr error) error {
	if errors.Is(readErr, scalekit.ErrNotFound) {
		return createErr
	}
	return fmt.Errorf("%w (and reading it back failed: %w)", createErr, readErr)
}

// errCannotEmpty is returned for an organization role whose permissions
// the file empties: the API has no call that takes the last ones away.
var errCannotEmpty = errors.New("the API cannot take every permission away from an organization role: remove them in the dashboard")

// updateRole makes the remote role match r. PUT sets what differs; a base
// role is removed with DELETE .../base, and the last permissions with
// DELETE .../permissions/{name}, since an empty list in a PUT changes
// nothing. A PUT's permissions replace every mapping of the role, so they
// carry the role's Scalekit-owned permissions (sk_...) too: without them an
// admin would lose Scalekit's hosted screens.
func updateRole(ctx context.Context, c *scalekit.Client, org string, r rbac.Role, have scalekit.Role) error {
	var u scalekit.RoleUpdate
	changed := false
	if r.DisplayName != have.DisplayName {
		u.DisplayName, changed = &r.DisplayName, true
	}
	if r.Description != "" && r.Description != have.Description {
		u.Description, changed = &r.Description, true
	}
	if r.Extends != "" && r.Extends != have.Extends {
		u.Extends, changed = &r.Extends, true
	}
	added, removed := setDiff(names(r.Permissions), have.EnvironmentPermissionNames())
	permsDiffer := len(added)+len(removed) > 0
	send := append(names(r.Permissions), have.ScalekitPermissionNames()...)
	if permsDiffer && len(send) > 0 {
		u.Permissions, changed = send, true
	}
	if changed {
		var err error
		if org == "" {
			_, err = c.UpdateRole(ctx, r.Name, u)
		} else {
			_, err = c.UpdateOrganizationRole(ctx, org, r.Name, u)
		}
		if err != nil {
			return err
		}
	}
	if r.Extends == "" && have.Extends != "" {
		var err error
		if org == "" {
			err = c.RemoveRoleBase(ctx, r.Name)
		} else {
			err = c.RemoveOrganizationRoleBase(ctx, org, r.Name)
		}
		if err != nil {
			return err
		}
	}
	if permsDiffer && len(send) == 0 {
		if org != "" {
			return errCannotEmpty
		}
		for _, name := range removed {
			if err := c.RemoveRolePermission(ctx, r.Name, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteStep deletes what a prune removes. Members of a deleted role get
// the file's default member role.
func deleteStep(ctx context.Context, c *scalekit.Client, p *Plan, s *Step) error {
	switch s.Kind {
	case KindPermission:
		return c.DeletePermission(ctx, s.Name)
	case KindRole:
		return c.DeleteRole(ctx, s.Name, p.reassign)
	case KindOrgRole:
		return c.DeleteOrganizationRole(ctx, s.Org, s.Name, p.reassign)
	}
	return fmt.Errorf("cannot delete a %s", s.Kind)
}

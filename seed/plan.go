package seed

import (
	"context"
	"fmt"
	"slices"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Registering a seed file is two steps: NewPlan reads the environment and
// compares it with the file, Apply makes the changes the plan lists. The
// plan is idempotent by construction: a second run finds everything
// unchanged and writes nothing.

// Action is what a plan does with one permission or role.
type Action string

// The actions of a plan.
const (
	Create     Action = "create"      // in the file, not in the environment
	Update     Action = "update"      // in both, and something differs
	Unchanged  Action = "unchanged"   // in both, the same
	OnlyRemote Action = "only-remote" // in the environment, not in the file: left alone
	Delete     Action = "delete"      // only-remote, and pruning was asked for
)

// Kind is what a step is about.
type Kind string

// The kinds of a step.
const (
	KindPermission Kind = "permission"    // an environment permission
	KindRole       Kind = "role"          // a global role
	KindDefaults   Kind = "default roles" // the default creator and member roles
	KindOrgRole    Kind = "org role"      // a role of one organization
)

// builtInRoles are the roles every Scalekit environment has; a prune never
// deletes them.
var builtInRoles = []string{"admin", "member"}

// Step is one permission, role or setting of a plan.
type Step struct {
	Kind    Kind
	Org     string // the organization of a KindOrgRole step
	Name    string
	Action  Action
	Changes []string // for Update: what differs, e.g. "permissions +tasks:assign"
	Note    string   // why an only-remote item stays, for instance

	perm     rbac.PermissionDef
	role     rbac.Role
	remote   *scalekit.Role
	defaults scalekit.DefaultRoles
}

// Plan lists, in the order Apply follows, what makes an environment match
// a seed file: permissions first, then roles with base roles before the
// roles that extend them, the default roles, organization roles, and last
// the deletions of a prune (dependent roles before their bases, roles
// before the permissions they grant).
type Plan struct {
	Steps    []Step
	reassign string // the role members of a deleted role get instead
}

// Remote is what an environment holds: its own permissions, its roles with
// their direct permissions, and the own roles of the organizations a seed
// file names.
type Remote struct {
	Permissions []scalekit.Permission
	Roles       []scalekit.Role
	OrgRoles    map[string][]scalekit.Role
}

// PlanOptions tunes a plan.
type PlanOptions struct {
	// Prune deletes permissions and roles the file does not define, except
	// the built-in roles and Scalekit's own permissions. Without it they are
	// reported and left alone.
	Prune bool
}

// Fetch reads, through c, the remote state a plan for m compares against.
func Fetch(ctx context.Context, c *scalekit.Client, m *rbac.Model) (*Remote, error) {
	perms, err := c.ListPermissions(ctx)
	if err != nil {
		return nil, err
	}
	roles, err := c.ListRoles(ctx, scalekit.IncludePermissions)
	if err != nil {
		return nil, err
	}
	// Scalekit may list organization roles here too; they are not global
	// roles, and a prune must never delete them through the global path.
	roles = slices.DeleteFunc(roles, func(r scalekit.Role) bool { return r.IsOrgRole })
	r := &Remote{Permissions: perms, Roles: roles, OrgRoles: map[string][]scalekit.Role{}}
	for _, o := range m.OrganizationRoles {
		all, err := c.ListOrganizationRoles(ctx, o.OrganizationID, scalekit.IncludePermissions)
		if err != nil {
			return nil, err
		}
		r.OrgRoles[o.OrganizationID] = slices.DeleteFunc(all, func(r scalekit.Role) bool { return !r.IsOrgRole })
	}
	return r, nil
}

// NewPlan reads the environment through c and compares it with m.
func NewPlan(ctx context.Context, c *scalekit.Client, m *rbac.Model, opts PlanOptions) (*Plan, error) {
	remote, err := Fetch(ctx, c, m)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.EnvironmentURL(), err)
	}
	return Diff(m, remote, opts), nil
}

// Diff computes the plan that turns remote into m. It does no I/O.
func Diff(m *rbac.Model, remote *Remote, opts PlanOptions) *Plan {
	p := &Plan{reassign: m.DefaultMemberRole}
	var deletions []Step

	remotePerms := map[string]scalekit.Permission{}
	for _, rp := range remote.Permissions {
		// Scalekit's own are not the environment's to change, nor a prune's
		// to delete, however they were listed.
		if !rp.IsScalekitPermission && !scalekit.IsScalekitOwned(rp.Name) {
			remotePerms[rp.Name] = rp
		}
	}
	for _, d := range m.Permissions {
		s := Step{Kind: KindPermission, Name: string(d.Name), perm: d, Action: Create}
		if rp, ok := remotePerms[string(d.Name)]; ok {
			s.Action = Unchanged
			if rp.Description != d.Description {
				s.Action, s.Changes = Update, []string{"description"}
			}
			delete(remotePerms, string(d.Name))
		}
		p.Steps = append(p.Steps, s)
	}
	for _, name := range sortedKeys(remotePerms) {
		deletions = append(deletions, onlyRemote(KindPermission, "", name, opts.Prune))
	}

	p.Steps = append(p.Steps, diffRoles(KindRole, "", m.Roles, remote.Roles)...)
	roleDeletes := remoteOnlyRoles(KindRole, "", m.Roles, remote.Roles, opts.Prune)

	if m.DefaultCreatorRole != "" || m.DefaultMemberRole != "" {
		p.Steps = append(p.Steps, diffDefaults(m, remote.Roles))
	}

	var orgDeletes []Step
	for _, o := range m.OrganizationRoles {
		p.Steps = append(p.Steps, diffRoles(KindOrgRole, o.OrganizationID, o.Roles, remote.OrgRoles[o.OrganizationID])...)
		orgDeletes = append(orgDeletes, remoteOnlyRoles(KindOrgRole, o.OrganizationID, o.Roles, remote.OrgRoles[o.OrganizationID], opts.Prune)...)
	}
	p.Steps = append(p.Steps, orgDeletes...)
	p.Steps = append(p.Steps, roleDeletes...)
	p.Steps = append(p.Steps, deletions...)
	return p
}

// diffRoles compares the file's roles of one scope with the remote ones,
// in an order where every base role comes before the roles extending it.
func diffRoles(kind Kind, org string, want []rbac.Role, have []scalekit.Role) []Step {
	remote := map[string]scalekit.Role{}
	for _, r := range have {
		remote[r.Name] = r
	}
	var steps []Step
	for _, d := range baseFirst(want) {
		s := Step{Kind: kind, Org: org, Name: d.Name, role: d, Action: Create}
		if r, ok := remote[d.Name]; ok {
			s.remote = &r
			s.Changes = roleChanges(d, r)
			s.Action = Unchanged
			if len(s.Changes) > 0 {
				s.Action = Update
			}
		}
		steps = append(steps, s)
	}
	return steps
}

// roleChanges names what differs between the file's role and the remote
// one. An empty description in the file is not a change: Scalekit cannot
// clear a description. Scalekit's own permissions on the remote role are
// not a change either: they are kept (see updateRole).
func roleChanges(want rbac.Role, have scalekit.Role) []string {
	var changes []string
	if want.DisplayName != have.DisplayName {
		changes = append(changes, "display_name")
	}
	if want.Description != "" && want.Description != have.Description {
		changes = append(changes, "description")
	}
	if want.Extends != have.Extends {
		changes = append(changes, fmt.Sprintf("extends %s -> %s", orNone(have.Extends), orNone(want.Extends)))
	}
	added, removed := setDiff(names(want.Permissions), have.EnvironmentPermissionNames())
	if len(added)+len(removed) > 0 {
		c := "permissions"
		for _, a := range added {
			c += " +" + a
		}
		for _, r := range removed {
			c += " -" + r
		}
		changes = append(changes, c)
	}
	return changes
}

// diffDefaults compares the file's default roles with the remote flags.
func diffDefaults(m *rbac.Model, have []scalekit.Role) Step {
	var creator, member string
	for _, r := range have {
		if r.DefaultCreator {
			creator = r.Name
		}
		if r.DefaultMember {
			member = r.Name
		}
	}
	s := Step{Kind: KindDefaults, Name: "creator and member", Action: Unchanged,
		defaults: scalekit.DefaultRoles{Creator: m.DefaultCreatorRole, Member: m.DefaultMemberRole}}
	if m.DefaultCreatorRole != "" && m.DefaultCreatorRole != creator {
		s.Changes = append(s.Changes, fmt.Sprintf("creator %s -> %s", orNone(creator), m.DefaultCreatorRole))
	}
	if m.DefaultMemberRole != "" && m.DefaultMemberRole != member {
		s.Changes = append(s.Changes, fmt.Sprintf("member %s -> %s", orNone(member), m.DefaultMemberRole))
	}
	if len(s.Changes) > 0 {
		s.Action = Update
	}
	return s
}

// remoteOnlyRoles lists the remote roles the file lacks, roles extending
// others first, so that a prune deletes a role before its base.
func remoteOnlyRoles(kind Kind, org string, want []rbac.Role, have []scalekit.Role, prune bool) []Step {
	var extra []rbac.Role
	for _, r := range have {
		if !slices.ContainsFunc(want, func(w rbac.Role) bool { return w.Name == r.Name }) {
			extra = append(extra, rbac.Role{Name: r.Name, Extends: r.Extends})
		}
	}
	steps := make([]Step, 0, len(extra))
	for _, r := range dependentsFirst(extra) {
		s := onlyRemote(kind, org, r.Name, prune)
		if kind == KindRole && slices.Contains(builtInRoles, r.Name) {
			s.Action, s.Note = OnlyRemote, "built in, never deleted"
		}
		steps = append(steps, s)
	}
	return steps
}

func onlyRemote(kind Kind, org, name string, prune bool) Step {
	if prune {
		return Step{Kind: kind, Org: org, Name: name, Action: Delete}
	}
	return Step{Kind: kind, Org: org, Name: name, Action: OnlyRemote, Note: "not in the file; --prune deletes it"}
}

package mockidp

import (
	"slices"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// builtInRoles are the roles every Scalekit environment starts with. The
// management API refuses to delete them, as Scalekit does.
var builtInRoles = []string{"admin", "member"}

// scalekitPermissions are a few of the permissions Scalekit owns (sk_...,
// listed with type=SCALEKIT) and the built-in roles that come with them.
// Scalekit's hosted screens (organization settings, the members widget)
// check them, so a seed that strips them from admin or member breaks those
// screens: the mock carries them so that tests see it happen. Like any
// permission of a role they are in that role's tokens.
var scalekitPermissions = []struct {
	name, description string
	roles             []string
}{
	{"sk_org_settings_manage", "Manage the organization's settings", []string{"admin"}},
	{"sk_org_users_invite", "Invite users to the organization", []string{"admin"}},
	{"sk_org_users_read", "View the organization's users", []string{"admin", "member"}},
	{"sk_org_users_role_change", "Change the roles of the organization's users", []string{"admin"}},
}

// ScalekitPermissions returns, sorted, the Scalekit-owned permissions that
// the mock's built-in roles among roles come with: what a token of a member
// with those roles carries next to the permissions of the seed file.
func ScalekitPermissions(roles ...string) []string {
	var names []string
	for _, p := range scalekitPermissions {
		if slices.ContainsFunc(p.roles, func(r string) bool { return slices.Contains(roles, r) }) {
			names = append(names, p.name)
		}
	}
	slices.Sort(names)
	return names
}

// catalog is the mock IdP's live authorization model: the permissions and
// roles the management API reads and writes, and the ones user tokens are
// minted from, so that seed -> sign in -> token shows the seed. It starts
// as Config.Model, so the app works without seeding. Server.mu guards it.
type catalog struct {
	perms    map[string]*permRecord
	roles    map[string]*roleRecord            // global roles by name
	orgRoles map[string]map[string]*roleRecord // organization ID -> name -> role
	// defaultCreator and defaultMember are the environment's default roles.
	defaultCreator, defaultMember string
}

// permRecord is a stored permission. scalekit marks Scalekit's own, which
// the environment cannot change or delete.
type permRecord struct {
	id, name, description string
	created, updated      time.Time
	scalekit              bool
}

// roleRecord is a stored role; orgID is empty for a global role.
type roleRecord struct {
	id, name, displayName, description, extends, orgID string
	permissions                                        []string // direct, sorted
}

// newCatalog loads the model's permissions, roles, organization roles and
// default roles, and gives the built-in roles Scalekit's own permissions,
// as a new Scalekit environment has them.
func newCatalog(m *rbac.Model, now time.Time) *catalog {
	c := &catalog{
		perms:          map[string]*permRecord{},
		roles:          map[string]*roleRecord{},
		orgRoles:       map[string]map[string]*roleRecord{},
		defaultCreator: m.DefaultCreatorRole,
		defaultMember:  m.DefaultMemberRole,
	}
	for _, p := range m.Permissions {
		c.perms[string(p.Name)] = &permRecord{id: newID("perm_"), name: string(p.Name), description: p.Description, created: now, updated: now}
	}
	for _, r := range m.Roles {
		c.roles[r.Name] = newRoleRecord("", r)
	}
	for _, p := range scalekitPermissions {
		c.perms[p.name] = &permRecord{id: newID("perm_"), name: p.name, description: p.description, created: now, updated: now, scalekit: true}
		for _, name := range p.roles {
			if r, ok := c.roles[name]; ok {
				r.permissions = append(r.permissions, p.name)
			}
		}
	}
	for _, r := range c.roles {
		slices.Sort(r.permissions)
		r.permissions = slices.Compact(r.permissions)
	}
	for _, o := range m.OrganizationRoles {
		c.orgRoles[o.OrganizationID] = map[string]*roleRecord{}
		for _, r := range o.Roles {
			c.orgRoles[o.OrganizationID][r.Name] = newRoleRecord(o.OrganizationID, r)
		}
	}
	return c
}

func newRoleRecord(orgID string, r rbac.Role) *roleRecord {
	perms := make([]string, len(r.Permissions))
	for i, p := range r.Permissions {
		perms[i] = string(p)
	}
	slices.Sort(perms)
	return &roleRecord{
		id: newID("role_"), name: r.Name, displayName: r.DisplayName, description: r.Description,
		extends: r.Extends, orgID: orgID, permissions: slices.Compact(perms),
	}
}

// role finds a role a member of orgID can hold: the organization's own
// first, then the global ones.
func (c *catalog) role(orgID, name string) (*roleRecord, bool) {
	if r, ok := c.orgRoles[orgID][name]; ok && orgID != "" {
		return r, true
	}
	r, ok := c.roles[name]
	return r, ok
}

// base returns the role r extends: a global role's base is global, an
// organization role's base is the organization's own or global.
func (c *catalog) base(r *roleRecord) (*roleRecord, bool) {
	if r.extends == "" {
		return nil, false
	}
	if r.orgID == "" {
		b, ok := c.roles[r.extends]
		return b, ok
	}
	return c.role(r.orgID, r.extends)
}

// effective returns the sorted effective permissions of roles held in
// orgID, as a token carries them. It never returns nil.
func (c *catalog) effective(orgID string, roles []string) []string {
	perms := []string{}
	for _, name := range roles {
		r, ok := c.role(orgID, name)
		for seen := map[*roleRecord]bool{}; ok && !seen[r]; r, ok = c.base(r) {
			seen[r] = true
			perms = append(perms, r.permissions...)
		}
	}
	slices.Sort(perms)
	return slices.Compact(perms)
}

// extendsChain reports whether base, followed through its own bases,
// reaches r: setting r.extends = base would then make a cycle.
func (c *catalog) extendsChain(r, base *roleRecord) bool {
	for cur, ok := base, true; ok; cur, ok = c.base(cur) {
		if cur == r {
			return true
		}
	}
	return false
}

// dependents returns the roles whose base is r.
func (c *catalog) dependents(r *roleRecord) []*roleRecord {
	var deps []*roleRecord
	check := func(d *roleRecord) {
		if b, ok := c.base(d); ok && b == r {
			deps = append(deps, d)
		}
	}
	for _, d := range c.roles {
		check(d)
	}
	for _, org := range c.orgRoles {
		for _, d := range org {
			check(d)
		}
	}
	return deps
}

// grantedBy returns the names of the roles that grant permission p directly.
func (c *catalog) grantedBy(p string) []string {
	var names []string
	add := func(r *roleRecord) {
		if slices.Contains(r.permissions, p) {
			names = append(names, r.name)
		}
	}
	for _, r := range c.roles {
		add(r)
	}
	for _, org := range c.orgRoles {
		for _, r := range org {
			add(r)
		}
	}
	slices.Sort(names)
	return names
}

// effectivePermissions is what a user's token carries: the live effective
// permissions of their roles in their organization.
func (s *Server) effectivePermissions(orgID string, roles []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catalog.effective(orgID, roles)
}

// roleDisplayName returns a role's display name, or its name when unknown.
func (s *Server) roleDisplayName(orgID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.catalog.role(orgID, name); ok && r.displayName != "" {
		return r.displayName
	}
	return name
}

// DefaultRoles returns the environment's current default roles: the
// creator of an organization gets creator, people who join later member.
func (s *Server) DefaultRoles() (creator, member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catalog.defaultCreator, s.catalog.defaultMember
}

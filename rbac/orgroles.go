package rbac

import (
	"slices"
	"strings"
)

// OrgRoles are the roles one organization defines for itself (seed document
// 001, "Configure organization specific roles"). Scalekit keeps them under
// the organization's roles endpoint, and only its members can hold them.
type OrgRoles struct {
	OrganizationID string `json:"organization_id"`
	Roles          []Role `json:"roles"`
}

// validateOrgRoles checks organization roles as strictly as global ones and
// resolves their inheritance. An organization role may extend a global role
// or another role of the same organization, never one of another
// organization. It runs after resolve, so global roles are known.
func (m *Model) validateOrgRoles() error {
	perms := make(map[Permission]bool, len(m.Permissions))
	for _, p := range m.Permissions {
		perms[p.Name] = true
	}
	m.orgEffective = make(map[string]map[string][]Permission, len(m.OrganizationRoles))
	for _, o := range m.OrganizationRoles {
		org := o.OrganizationID
		if strings.TrimSpace(org) == "" {
			return invalid("organization_roles: organization_id is required")
		}
		if _, dup := m.orgEffective[org]; dup {
			return invalid("organization_roles: organization %q is listed twice", org)
		}
		if len(o.Roles) == 0 {
			return invalid("organization %q: no roles defined", org)
		}
		own := make(map[string]Role, len(o.Roles))
		for _, r := range o.Roles {
			switch {
			case !roleName.MatchString(r.Name):
				return invalid("role %q of organization %q: name must match %s", r.Name, org, roleName)
			case own[r.Name].Name != "":
				return invalid("role %q of organization %q is defined twice", r.Name, org)
			case strings.TrimSpace(r.DisplayName) == "":
				return invalid("role %q of organization %q: display_name is required", r.Name, org)
			}
			// Scalekit lists global and organization roles together, so a
			// shared name would be ambiguous in a membership.
			if _, global := m.Role(r.Name); global {
				return invalid("role %q of organization %q has the name of a global role", r.Name, org)
			}
			own[r.Name] = r
		}
		for _, r := range o.Roles {
			if _, global := m.Role(r.Extends); r.Extends != "" && !global && own[r.Extends].Name == "" {
				return invalid("role %q of organization %q extends unknown role %q", r.Name, org, r.Extends)
			}
			for _, p := range r.Permissions {
				if !perms[p] {
					return invalid("role %q of organization %q grants unknown permission %q", r.Name, org, p)
				}
			}
		}
		eff, err := m.resolveOrg(org, own)
		if err != nil {
			return err
		}
		m.orgEffective[org] = eff
	}
	return nil
}

// resolveOrg computes the effective permissions of one organization's
// roles. A chain ends at a global role, whose effective set is known.
func (m *Model) resolveOrg(org string, own map[string]Role) (map[string][]Permission, error) {
	eff := make(map[string][]Permission, len(own))
	for _, r := range own {
		var perms []Permission
		seen := map[string]bool{}
		for cur := r; ; {
			if seen[cur.Name] {
				return nil, invalid("role %q of organization %q: inheritance cycle through %q", r.Name, org, cur.Name)
			}
			seen[cur.Name] = true
			perms = append(perms, cur.Permissions...)
			if cur.Extends == "" {
				break
			}
			base, ok := own[cur.Extends]
			if !ok {
				perms = append(perms, m.effective[cur.Extends]...)
				break
			}
			cur = base
		}
		slices.Sort(perms)
		eff[r.Name] = slices.Compact(perms)
	}
	return eff, nil
}

// OrgRole returns the named role of one organization's own roles.
func (m *Model) OrgRole(orgID, name string) (Role, bool) {
	for _, o := range m.OrganizationRoles {
		if o.OrganizationID != orgID {
			continue
		}
		if i := slices.IndexFunc(o.Roles, func(r Role) bool { return r.Name == name }); i >= 0 {
			return o.Roles[i], true
		}
	}
	return Role{}, false
}

// EffectiveIn is Effective for a member of organization orgID, whose roles
// may be global ones or that organization's own. Unknown names grant
// nothing.
func (m *Model) EffectiveIn(orgID string, roles ...string) []Permission {
	var perms []Permission
	for _, r := range roles {
		if own, ok := m.orgEffective[orgID][r]; ok {
			perms = append(perms, own...)
			continue
		}
		perms = append(perms, m.effective[r]...)
	}
	slices.Sort(perms)
	return slices.Compact(perms)
}

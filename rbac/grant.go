package rbac

import "slices"

// CanGrant is the rule that you cannot grant what you lack: someone whose
// token carries the permissions have may give a member of orgID the role
// only if every permission the role brings, inherited ones included, is
// among have. An admin (who holds every permission) may grant any role; a
// holder of roles:assign alone may grant only roles weaker than their own.
// An unknown role cannot be granted.
func (m *Model) CanGrant(have []Permission, orgID, role string) bool {
	if _, ok := m.Role(role); !ok {
		if _, ok := m.OrgRole(orgID, role); !ok {
			return false
		}
	}
	for _, p := range m.EffectiveIn(orgID, role) {
		if !slices.Contains(have, p) {
			return false
		}
	}
	return true
}

// Assignable returns the roles that have may grant in orgID: the choices
// of a role picker.
func (m *Model) Assignable(have []Permission, orgID string) []Role {
	var roles []Role
	for _, r := range m.Roles {
		if m.CanGrant(have, orgID, r.Name) {
			roles = append(roles, r)
		}
	}
	for _, o := range m.OrganizationRoles {
		if o.OrganizationID != orgID {
			continue
		}
		for _, r := range o.Roles {
			if m.CanGrant(have, orgID, r.Name) {
				roles = append(roles, r)
			}
		}
	}
	return roles
}

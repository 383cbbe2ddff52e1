package mockidp

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Deleting roles, inheritance, effective permissions and default roles.

// deleteRole refuses what Scalekit refuses: a built-in role, a default
// role, a role other roles extend, and a role members hold unless
// reassign_role_name names the role they get instead.
func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	reassign := r.URL.Query().Get("reassign_role_name")
	if reassign != "" && !roleNamePattern.MatchString(reassign) {
		return invalidArgument("reassign_role_name is not a valid role name.",
			fieldViolation{"reassign_role_name", fmt.Sprintf("value does not match regex pattern `%s`", roleNamePattern), "string.pattern"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.scopedRole(r)
	if err != nil {
		return err
	}
	c := s.catalog
	switch {
	case rec.orgID == "" && slices.Contains(builtInRoles, rec.name):
		return failedPrecondition("Role %q is built in and cannot be deleted.", rec.name)
	case rec.orgID == "" && (rec.name == c.defaultCreator || rec.name == c.defaultMember):
		return failedPrecondition("Role %q is a default role: set another default first.", rec.name)
	}
	if deps := c.dependents(rec); len(deps) > 0 {
		names := make([]string, len(deps))
		for i, d := range deps {
			names[i] = d.name
		}
		slices.Sort(names)
		return failedPrecondition("Role %q is the base of %s: change or delete those roles first.", rec.name, strings.Join(names, ", "))
	}
	holders := s.holders(rec)
	if len(holders) > 0 {
		if reassign == "" {
			return failedPrecondition("Role %q is held by %d members: pass reassign_role_name.", rec.name, len(holders))
		}
		to, ok := c.role(rec.orgID, reassign)
		if !ok || to == rec {
			return invalidArgument(fmt.Sprintf("Role %q to reassign members to does not exist.", reassign),
				fieldViolation{"reassign_role_name", "must name another existing role", "exists"})
		}
	}
	for _, i := range holders {
		roles := slices.DeleteFunc(s.users[i].Roles, func(n string) bool { return n == rec.name })
		if !slices.Contains(roles, reassign) {
			roles = append(roles, reassign)
		}
		s.users[i].Roles = roles
	}
	if rec.orgID == "" {
		delete(c.roles, rec.name)
	} else {
		delete(c.orgRoles[rec.orgID], rec.name)
	}
	writeManaged(w, http.StatusOK, struct{}{})
	return nil
}

// holders returns the indexes of the users who hold rec. The caller holds
// s.mu.
func (s *Server) holders(rec *roleRecord) []int {
	var idx []int
	for i, u := range s.users {
		if rec.orgID != "" && u.OrgID != rec.orgID {
			continue
		}
		if got, ok := s.catalog.role(u.OrgID, rec.name); ok && got == rec && slices.Contains(u.Roles, rec.name) {
			idx = append(idx, i)
		}
	}
	return idx
}

// deleteRoleBase ends a role's inheritance; it keeps its direct
// permissions.
func (s *Server) deleteRoleBase(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.scopedRole(r)
	if err != nil {
		return err
	}
	rec.extends = ""
	writeManaged(w, http.StatusOK, struct{}{})
	return nil
}

// removeRolePermission takes one direct permission from a global role.
func (s *Server) removeRolePermission(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.scopedRole(r)
	if err != nil {
		return err
	}
	perm := r.PathValue("permission")
	i := slices.Index(rec.permissions, perm)
	if i < 0 {
		return notFound("Role %q does not grant permission %q directly.", rec.name, perm)
	}
	rec.permissions = slices.Delete(slices.Clone(rec.permissions), i, i+1)
	writeManaged(w, http.StatusOK, struct{}{})
	return nil
}

// effectiveRolePermissions is GET /roles/{name}/permissions:all.
func (s *Server) effectiveRolePermissions(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.scopedRole(r)
	if err != nil {
		return err
	}
	perms := []permissionJSON{}
	for _, name := range s.catalog.effective(rec.orgID, []string{rec.name}) {
		if p, ok := s.catalog.perms[name]; ok {
			perms = append(perms, p.json())
		}
	}
	writeManaged(w, http.StatusOK, map[string][]permissionJSON{"permissions": perms})
	return nil
}

// setDefaultRoles is PATCH /roles:set_defaults; an absent or empty name
// leaves that default as it is.
func (s *Server) setDefaultRoles(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Creator string `json:"default_creator_role"`
		Member  string `json:"default_member_role"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	var v validator
	for field, name := range map[string]string{"default_creator_role": b.Creator, "default_member_role": b.Member} {
		if name != "" {
			v.pattern(field, name, roleNamePattern)
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.catalog
	for _, name := range []string{b.Creator, b.Member} {
		if _, ok := c.roles[name]; name != "" && !ok {
			return invalidArgument(fmt.Sprintf("Role %q does not exist.", name))
		}
	}
	c.defaultCreator = cmp.Or(b.Creator, c.defaultCreator)
	c.defaultMember = cmp.Or(b.Member, c.defaultMember)
	resp := map[string]*roleJSON{"default_creator": nil, "default_member": nil}
	if rec, ok := c.roles[c.defaultCreator]; ok {
		j := c.roleJSON(rec, "permissions")
		resp["default_creator"] = &j
	}
	if rec, ok := c.roles[c.defaultMember]; ok {
		j := c.roleJSON(rec, "permissions")
		resp["default_member"] = &j
	}
	writeManaged(w, http.StatusOK, resp)
	return nil
}

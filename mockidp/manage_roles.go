package mockidp

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// Roles, global (/api/v1/roles) and organization-specific
// (/api/v1/organizations/{org}/roles): one set of handlers, whose scope is
// the {org} path value, empty for global roles.

// roleJSON is a role as the API answers it.
type roleJSON struct {
	ID                  string               `json:"id"`
	Name                string               `json:"name"`
	DisplayName         string               `json:"display_name"`
	Description         string               `json:"description"`
	Extends             string               `json:"extends,omitempty"`
	Permissions         []rolePermissionJSON `json:"permissions,omitempty"`
	DefaultCreator      bool                 `json:"default_creator"`
	DefaultMember       bool                 `json:"default_member"`
	DependentRolesCount int                  `json:"dependent_roles_count"`
	IsOrgRole           bool                 `json:"is_org_role"`
}

// rolePermissionJSON is a permission of a role and the role it comes from.
type rolePermissionJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	RoleName    string `json:"role_name"`
}

// roleJSON renders r; include is "", "permissions" (direct ones) or
// "permissions:all" (inherited ones too).
func (c *catalog) roleJSON(r *roleRecord, include string) roleJSON {
	j := roleJSON{
		ID: r.id, Name: r.name, DisplayName: r.displayName, Description: r.description, Extends: r.extends,
		DefaultCreator:      r.orgID == "" && c.defaultCreator == r.name,
		DefaultMember:       r.orgID == "" && c.defaultMember == r.name,
		DependentRolesCount: len(c.dependents(r)),
		IsOrgRole:           r.orgID != "",
	}
	for cur, ok := r, include != ""; ok; cur, ok = c.base(cur) {
		for _, name := range cur.permissions {
			p := rolePermissionJSON{Name: name, RoleName: cur.name}
			if rec, ok := c.perms[name]; ok {
				p.ID, p.Description = rec.id, rec.description
			}
			j.Permissions = append(j.Permissions, p)
		}
		if include != "permissions:all" {
			break
		}
	}
	return j
}

// roleBody creates a role.
type roleBody struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	Extends     string   `json:"extends"`
	Permissions []string `json:"permissions"`
}

// roleUpdateBody updates the fields it sets; permissions, when not empty,
// replace the direct ones.
type roleUpdateBody struct {
	DisplayName *string  `json:"display_name"`
	Description *string  `json:"description"`
	Extends     *string  `json:"extends"`
	Permissions []string `json:"permissions"`
}

// includeParam reads ?include=.
func includeParam(r *http.Request) (string, error) {
	inc := r.URL.Query().Get("include")
	if !slices.Contains([]string{"", "permissions", "permissions:all"}, inc) {
		return "", invalidArgument("include must be permissions or permissions:all.",
			fieldViolation{"include", "value must be in list [, permissions, permissions:all]", "string.in"})
	}
	return inc, nil
}

// scope returns the organization of a roles request, "" for global roles,
// refusing an organization the mock does not know. The caller holds s.mu.
func (s *Server) scope(r *http.Request) (string, error) {
	org := r.PathValue("org")
	if org == "" {
		return "", nil
	}
	if _, ok := s.catalog.orgRoles[org]; ok {
		return org, nil
	}
	if slices.ContainsFunc(s.users, func(u User) bool { return u.OrgID == org }) {
		return org, nil
	}
	return "", notFound("Organization %q does not exist.", org)
}

// scopedRole finds the role named in the path within the request's scope:
// an organization's path reaches only that organization's own roles.
func (s *Server) scopedRole(r *http.Request) (*roleRecord, error) {
	org, err := s.scope(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	rec, ok := s.catalog.roles[name]
	if org != "" {
		rec, ok = s.catalog.orgRoles[org][name]
	}
	if !ok {
		return nil, notFound("Role %q does not exist.", name)
	}
	return rec, nil
}

// listRoles answers the global roles, or for an organization the global
// roles and its own; sorted by name.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	include, err := includeParam(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org, err := s.scope(r)
	if err != nil {
		return err
	}
	roles := []roleJSON{}
	for _, name := range slices.Sorted(maps.Keys(s.catalog.roles)) {
		roles = append(roles, s.catalog.roleJSON(s.catalog.roles[name], include))
	}
	for _, name := range slices.Sorted(maps.Keys(s.catalog.orgRoles[org])) {
		roles = append(roles, s.catalog.roleJSON(s.catalog.orgRoles[org][name], include))
	}
	writeManaged(w, http.StatusOK, map[string][]roleJSON{"roles": roles})
	return nil
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	include, err := includeParam(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.scopedRole(r)
	if err != nil {
		return err
	}
	writeManaged(w, http.StatusOK, map[string]roleJSON{"role": s.catalog.roleJSON(rec, include)})
	return nil
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	var b roleBody
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	var v validator
	v.pattern("name", b.Name, roleNamePattern)
	v.length("display_name", b.DisplayName, 1, 100)
	v.length("description", b.Description, 0, 2000)
	if b.Extends != "" {
		v.pattern("extends", b.Extends, roleNamePattern)
	}
	v.permissions("permissions", b.Permissions)
	if err := v.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org, err := s.scope(r)
	if err != nil {
		return err
	}
	// Global and organization roles share one namespace in a membership.
	if _, dup := s.catalog.role(org, b.Name); dup {
		return duplicateKey()
	}
	rec := &roleRecord{id: newID("role_"), name: b.Name, displayName: b.DisplayName, description: b.Description, orgID: org}
	if err := s.setBase(rec, b.Extends); err != nil {
		return err
	}
	if rec.permissions, err = s.knownPermissions(b.Permissions); err != nil {
		return err
	}
	if org == "" {
		s.catalog.roles[rec.name] = rec
	} else {
		if s.catalog.orgRoles[org] == nil {
			s.catalog.orgRoles[org] = map[string]*roleRecord{}
		}
		s.catalog.orgRoles[org][rec.name] = rec
	}
	writeManaged(w, http.StatusCreated, map[string]roleJSON{"role": s.catalog.roleJSON(rec, "permissions")})
	return nil
}

func (s *Server) updateRole(w http.ResponseWriter, r *http.Request) error {
	var b roleUpdateBody
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	var v validator
	if b.DisplayName != nil {
		v.length("display_name", *b.DisplayName, 1, 100)
	}
	if b.Description != nil {
		v.length("description", *b.Description, 1, 2000)
	}
	if b.Extends != nil {
		v.pattern("extends", *b.Extends, roleNamePattern)
	}
	v.permissions("permissions", b.Permissions)
	if err := v.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.scopedRole(r)
	if err != nil {
		return err
	}
	// Check everything before changing anything: a refused request changes
	// nothing.
	perms := rec.permissions
	if len(b.Permissions) > 0 {
		if perms, err = s.knownPermissions(b.Permissions); err != nil {
			return err
		}
	}
	if b.Extends != nil {
		if err := s.setBase(rec, *b.Extends); err != nil {
			return err
		}
	}
	rec.permissions = perms
	if b.DisplayName != nil {
		rec.displayName = *b.DisplayName
	}
	if b.Description != nil {
		rec.description = *b.Description
	}
	writeManaged(w, http.StatusOK, map[string]roleJSON{"role": s.catalog.roleJSON(rec, "permissions")})
	return nil
}

// setBase makes rec extend base ("" for none), refusing an unknown base and
// a cycle. The caller holds s.mu.
func (s *Server) setBase(rec *roleRecord, base string) error {
	if base == "" {
		rec.extends = ""
		return nil
	}
	b, ok := s.catalog.roles[base]
	if rec.orgID != "" {
		b, ok = s.catalog.role(rec.orgID, base)
	}
	if !ok {
		return invalidArgument(fmt.Sprintf("Base role %q does not exist.", base),
			fieldViolation{"extends", "must name an existing role", "exists"})
	}
	if b == rec || s.catalog.extendsChain(rec, b) {
		return failedPrecondition("Role %q cannot extend %q: that would make an inheritance cycle.", rec.name, base)
	}
	rec.extends = base
	return nil
}

// knownPermissions returns the sorted set of names, refusing any that is
// not a registered permission. The caller holds s.mu.
func (s *Server) knownPermissions(names []string) ([]string, error) {
	for i, p := range names {
		if _, ok := s.catalog.perms[p]; !ok {
			return nil, invalidArgument(fmt.Sprintf("Permission %q does not exist.", p),
				fieldViolation{fmt.Sprintf("permissions[%d]", i), "must name an existing permission", "exists"})
		}
	}
	set := slices.Clone(names)
	slices.Sort(set)
	return slices.Compact(set), nil
}

package scalekit

import (
	"context"
	"fmt"
	"net/url"
	"slices"
)

// Role is a role as the API returns it, global or organization-specific.
type Role struct {
	ID          string `json:"id,omitempty"` // "role_..."
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description,omitempty"`
	Extends     string `json:"extends,omitempty"` // the base role, if any
	// Permissions come only when asked for with an Include.
	Permissions         []RolePermission `json:"permissions,omitempty"`
	DefaultCreator      bool             `json:"default_creator,omitempty"`
	DefaultMember       bool             `json:"default_member,omitempty"`
	DependentRolesCount int              `json:"dependent_roles_count,omitempty"`
	IsOrgRole           bool             `json:"is_org_role,omitempty"`
}

// RolePermission is a permission of a role, with the role it comes from:
// the role itself, or a base role when IncludeAllPermissions was asked.
type RolePermission struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	RoleName    string `json:"role_name,omitempty"`
}

// PermissionNames returns the sorted names of the role's listed
// permissions.
func (r Role) PermissionNames() []string {
	names := make([]string, 0, len(r.Permissions))
	for _, p := range r.Permissions {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// EnvironmentPermissionNames returns the sorted names of the role's listed
// permissions that belong to the environment, leaving out Scalekit's own.
func (r Role) EnvironmentPermissionNames() []string {
	return slices.DeleteFunc(r.PermissionNames(), IsScalekitOwned)
}

// ScalekitPermissionNames returns the sorted names of the role's listed
// permissions that are Scalekit's own: what a role PUT must send back.
func (r Role) ScalekitPermissionNames() []string {
	return slices.DeleteFunc(r.PermissionNames(), func(n string) bool { return !IsScalekitOwned(n) })
}

// Include asks the roles endpoints for permissions in their answer.
type Include string

// The values of Include.
const (
	IncludeNone           Include = ""                // no permissions
	IncludePermissions    Include = "permissions"     // the role's direct permissions
	IncludeAllPermissions Include = "permissions:all" // direct and inherited
)

func (i Include) query() url.Values {
	if i == IncludeNone {
		return nil
	}
	return url.Values{"include": {string(i)}}
}

// NewRole is the body that creates a role. The base role named by Extends
// must exist already.
type NewRole struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Description string   `json:"description,omitempty"`
	Extends     string   `json:"extends,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// RoleUpdate holds the fields to change; nil fields stay as they are. A
// non-empty Permissions replaces all of the role's direct permission
// mappings, Scalekit's own (sk_...) included: list those again to keep
// them. An empty one changes nothing, since the API cannot tell it from an
// absent one: use RemoveRolePermission to take the last permissions away,
// and RemoveRoleBase to drop the base role.
type RoleUpdate struct {
	DisplayName *string  `json:"display_name,omitempty"`
	Description *string  `json:"description,omitempty"`
	Extends     *string  `json:"extends,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

type roleResponse struct {
	Role Role `json:"role"`
}

type rolesResponse struct {
	Roles []Role `json:"roles"`
}

type permissionsResponse struct {
	Permissions []Permission `json:"permissions"`
}

// ListRoles returns the environment's roles (the API does not page them).
func (c *Client) ListRoles(ctx context.Context, include Include) ([]Role, error) {
	var resp rolesResponse
	if err := c.do(ctx, "GET", "/api/v1/roles", include.query(), nil, &resp); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return resp.Roles, nil
}

// GetRole returns one role.
func (c *Client) GetRole(ctx context.Context, name string, include Include) (*Role, error) {
	var resp roleResponse
	if err := c.do(ctx, "GET", "/api/v1/roles/"+seg(name), include.query(), nil, &resp); err != nil {
		return nil, fmt.Errorf("get role %s: %w", name, err)
	}
	return &resp.Role, nil
}

// CreateRole registers a role. Scalekit answers a duplicate with 400
// "duplicate key not allowed" (which matches ErrAlreadyExists); read the
// role back to be sure it is there.
func (c *Client) CreateRole(ctx context.Context, r NewRole) (*Role, error) {
	var resp roleResponse
	if err := c.do(ctx, "POST", "/api/v1/roles", nil, r, &resp); err != nil {
		return nil, fmt.Errorf("create role %s: %w", r.Name, err)
	}
	return &resp.Role, nil
}

// UpdateRole changes the fields of u that are set.
func (c *Client) UpdateRole(ctx context.Context, name string, u RoleUpdate) (*Role, error) {
	var resp roleResponse
	if err := c.do(ctx, "PUT", "/api/v1/roles/"+seg(name), nil, u, &resp); err != nil {
		return nil, fmt.Errorf("update role %s: %w", name, err)
	}
	return &resp.Role, nil
}

// DeleteRole removes a role. Members who hold it get reassignTo instead;
// Scalekit requires one when the role has members. Roles that extend it
// must go first.
func (c *Client) DeleteRole(ctx context.Context, name, reassignTo string) error {
	var q url.Values
	if reassignTo != "" {
		q = url.Values{"reassign_role_name": {reassignTo}}
	}
	if err := c.do(ctx, "DELETE", "/api/v1/roles/"+seg(name), q, nil, nil); err != nil {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	return nil
}

// RemoveRoleBase ends a role's inheritance: it keeps only its direct
// permissions.
func (c *Client) RemoveRoleBase(ctx context.Context, name string) error {
	if err := c.do(ctx, "DELETE", "/api/v1/roles/"+seg(name)+"/base", nil, nil, nil); err != nil {
		return fmt.Errorf("remove base of role %s: %w", name, err)
	}
	return nil
}

// RemoveRolePermission takes one direct permission away from a role.
func (c *Client) RemoveRolePermission(ctx context.Context, role, permission string) error {
	if err := c.do(ctx, "DELETE", "/api/v1/roles/"+seg(role)+"/permissions/"+seg(permission), nil, nil, nil); err != nil {
		return fmt.Errorf("remove permission %s from role %s: %w", permission, role, err)
	}
	return nil
}

// EffectivePermissions returns a role's permissions, inherited ones
// included: what a token of a member with this role carries.
func (c *Client) EffectivePermissions(ctx context.Context, role string) ([]Permission, error) {
	var resp permissionsResponse
	if err := c.do(ctx, "GET", "/api/v1/roles/"+seg(role)+"/permissions:all", nil, nil, &resp); err != nil {
		return nil, fmt.Errorf("effective permissions of role %s: %w", role, err)
	}
	return resp.Permissions, nil
}

// DefaultRoles are the roles Scalekit gives the creator of an organization
// and the members who join it later. An empty name is left unchanged.
type DefaultRoles struct {
	Creator string `json:"default_creator_role,omitempty"`
	Member  string `json:"default_member_role,omitempty"`
}

// SetDefaultRoles changes the environment's default roles.
func (c *Client) SetDefaultRoles(ctx context.Context, d DefaultRoles) error {
	if err := c.do(ctx, "PATCH", "/api/v1/roles:set_defaults", nil, d, nil); err != nil {
		return fmt.Errorf("set default roles: %w", err)
	}
	return nil
}

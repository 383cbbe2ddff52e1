package scalekit

import (
	"context"
	"fmt"
	"net/url"
)

// orgRoles is the path of an organization's roles.
func orgRoles(orgID string) string {
	return "/api/v1/organizations/" + seg(orgID) + "/roles"
}

// ListOrganizationRoles returns the roles a member of the organization can
// hold: the environment's roles and the organization's own, which have
// IsOrgRole set.
func (c *Client) ListOrganizationRoles(ctx context.Context, orgID string, include Include) ([]Role, error) {
	var resp rolesResponse
	if err := c.do(ctx, "GET", orgRoles(orgID), include.query(), nil, &resp); err != nil {
		return nil, fmt.Errorf("list roles of organization %s: %w", orgID, err)
	}
	return resp.Roles, nil
}

// GetOrganizationRole returns one role of an organization.
func (c *Client) GetOrganizationRole(ctx context.Context, orgID, name string, include Include) (*Role, error) {
	var resp roleResponse
	if err := c.do(ctx, "GET", orgRoles(orgID)+"/"+seg(name), include.query(), nil, &resp); err != nil {
		return nil, fmt.Errorf("get role %s of organization %s: %w", name, orgID, err)
	}
	return &resp.Role, nil
}

// CreateOrganizationRole registers a role that only this organization has.
// It may extend a global role or one of the organization's own.
func (c *Client) CreateOrganizationRole(ctx context.Context, orgID string, r NewRole) (*Role, error) {
	var resp roleResponse
	if err := c.do(ctx, "POST", orgRoles(orgID), nil, r, &resp); err != nil {
		return nil, fmt.Errorf("create role %s of organization %s: %w", r.Name, orgID, err)
	}
	return &resp.Role, nil
}

// UpdateOrganizationRole changes the fields of u that are set (see
// RoleUpdate).
func (c *Client) UpdateOrganizationRole(ctx context.Context, orgID, name string, u RoleUpdate) (*Role, error) {
	var resp roleResponse
	if err := c.do(ctx, "PUT", orgRoles(orgID)+"/"+seg(name), nil, u, &resp); err != nil {
		return nil, fmt.Errorf("update role %s of organization %s: %w", name, orgID, err)
	}
	return &resp.Role, nil
}

// DeleteOrganizationRole removes an organization's role; its members get
// reassignTo, if given.
func (c *Client) DeleteOrganizationRole(ctx context.Context, orgID, name, reassignTo string) error {
	var q url.Values
	if reassignTo != "" {
		q = url.Values{"reassign_role_name": {reassignTo}}
	}
	if err := c.do(ctx, "DELETE", orgRoles(orgID)+"/"+seg(name), q, nil, nil); err != nil {
		return fmt.Errorf("delete role %s of organization %s: %w", name, orgID, err)
	}
	return nil
}

// RemoveOrganizationRoleBase ends an organization role's inheritance.
func (c *Client) RemoveOrganizationRoleBase(ctx context.Context, orgID, name string) error {
	if err := c.do(ctx, "DELETE", orgRoles(orgID)+"/"+seg(name)+"/base", nil, nil, nil); err != nil {
		return fmt.Errorf("remove base of role %s of organization %s: %w", name, orgID, err)
	}
	return nil
}

package scalekit

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// User is a user as the users endpoints return it, with their memberships.
type User struct {
	ID          string       `json:"id"` // "usr_..."
	Email       string       `json:"email"`
	ExternalID  string       `json:"external_id,omitempty"`
	Memberships []Membership `json:"memberships"`
	Profile     UserProfile  `json:"user_profile"`
	CreateTime  time.Time    `json:"create_time,omitzero"`
	UpdateTime  time.Time    `json:"update_time,omitzero"`
	// AsOf is when the IdP sent this user, by the IdP's own clock (the
	// answer's Date header, whole seconds); zero if it sent none. After a
	// change of roles, the IdP's tokens issued before AsOf may predate it:
	// unlike the app's clock, this compares with their iat whatever the
	// skew between the two machines.
	AsOf time.Time `json:"-"`
}

// UserProfile is the personal part of a user.
type UserProfile struct {
	ID         string `json:"id,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Membership is a user's place in one organization.
type Membership struct {
	OrganizationID string    `json:"organization_id"`
	Status         string    `json:"membership_status,omitempty"` // "ACTIVE", "PENDING_INVITE", ...
	Roles          []RoleRef `json:"roles"`
	Name           string    `json:"name,omitempty"`         // the organization's name
	DisplayName    string    `json:"display_name,omitempty"` // the organization's display name
	// Permissions are the member's effective permissions in the organization.
	Permissions []string  `json:"permissions,omitempty"`
	JoinTime    time.Time `json:"join_time,omitzero"`
}

// RoleRef names a role held by a member.
type RoleRef struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
}

// RolesIn returns the names of the user's roles in an organization, or
// nil when they are not a member of it.
func (u User) RolesIn(orgID string) []string {
	for _, m := range u.Memberships {
		if m.OrganizationID != orgID {
			continue
		}
		names := make([]string, len(m.Roles))
		for i, r := range m.Roles {
			names[i] = r.Name
		}
		return names
	}
	return nil
}

type userResponse struct {
	User User `json:"user"`
}

func (r *userResponse) setDate(t time.Time) { r.User.AsOf = t }

type usersPage struct {
	Users         []User `json:"users"`
	NextPageToken string `json:"next_page_token"`
	TotalSize     int    `json:"total_size"`
}

// UpdateMemberRoles replaces a member's roles in an organization (seed
// document 003: PATCH /api/v1/memberships/organizations/{org}/users/{user}).
// Their next token carries the new roles.
func (c *Client) UpdateMemberRoles(ctx context.Context, orgID, userID string, roles []string) (*User, error) {
	refs := make([]RoleRef, len(roles))
	for i, r := range roles {
		refs[i] = RoleRef{Name: r}
	}
	body := struct {
		Roles []RoleRef `json:"roles"`
	}{refs}
	var resp userResponse
	path := "/api/v1/memberships/organizations/" + seg(orgID) + "/users/" + seg(userID)
	if err := c.do(ctx, "PATCH", path, nil, body, &resp); err != nil {
		return nil, fmt.Errorf("update roles of %s in %s: %w", userID, orgID, err)
	}
	return &resp.User, nil
}

// ListMemberRoles returns the roles a member holds in an organization.
func (c *Client) ListMemberRoles(ctx context.Context, orgID, userID string) ([]RoleRef, error) {
	var resp struct {
		Roles []RoleRef `json:"roles"`
	}
	path := "/api/v1/organizations/" + seg(orgID) + "/users/" + seg(userID) + "/roles"
	if err := c.do(ctx, "GET", path, nil, nil, &resp); err != nil {
		return nil, fmt.Errorf("list roles of %s in %s: %w", userID, orgID, err)
	}
	return resp.Roles, nil
}

// ListOrganizationUsers returns every member of an organization with their
// memberships, following the pages to the end.
//
// Endpoint and shape are those of Scalekit's ListOrganizationUsers
// (users.proto in scalekit-sdk-go): GET
// /api/v1/organizations/{organization_id}/users?page_size=&page_token=
// answering {"users":[...],"next_page_token","total_size"}, where each user
// carries "memberships":[{"organization_id","roles":[{"name",...}],...}].
func (c *Client) ListOrganizationUsers(ctx context.Context, orgID string) ([]User, error) {
	users, err := collect(ctx, func(ctx context.Context, token string) ([]User, string, error) {
		q := url.Values{"page_size": {strconv.Itoa(listPageSize)}}
		if token != "" {
			q.Set("page_token", token)
		}
		var page usersPage
		err := c.do(ctx, "GET", "/api/v1/organizations/"+seg(orgID)+"/users", q, nil, &page)
		return page.Users, page.NextPageToken, err
	})
	if err != nil {
		return nil, fmt.Errorf("list users of organization %s: %w", orgID, err)
	}
	return users, nil
}

// GetUser returns a user with every membership (GET /api/v1/users/{id},
// Scalekit's GetUser): the organizations they may sign in to, each with
// its name and their roles there.
func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	var resp userResponse
	if err := c.do(ctx, "GET", "/api/v1/users/"+seg(userID), nil, nil, &resp); err != nil {
		return nil, fmt.Errorf("get user %s: %w", userID, err)
	}
	return &resp.User, nil
}

package scalekit

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Permission is an action users can be allowed, named resource:action.
type Permission struct {
	ID          string    `json:"id,omitempty"` // "perm_..."
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreateTime  time.Time `json:"create_time,omitzero"`
	UpdateTime  time.Time `json:"update_time,omitzero"`
	// IsScalekitPermission marks Scalekit's predefined permissions, which an
	// environment cannot change.
	IsScalekitPermission bool `json:"is_scalekit_permission,omitempty"`
}

// scalekitPrefix starts the names of the permissions Scalekit owns.
const scalekitPrefix = "sk_"

// IsScalekitOwned reports whether a permission name is one of Scalekit's
// own (sk_..., listed with type=SCALEKIT), such as sk_org_users_read.
// Scalekit's built-in admin and member roles come with them, and its
// hosted screens check them: a seed never counts them as differences,
// never deletes them, and sends them back in every role PUT.
func IsScalekitOwned(name string) bool {
	return strings.HasPrefix(name, scalekitPrefix)
}

// permissionBody is the body of create and update: {"name","description"}.
type permissionBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type permissionResponse struct {
	Permission Permission `json:"permission"`
}

type permissionsPage struct {
	Permissions   []Permission `json:"permissions"`
	NextPageToken string       `json:"next_page_token"`
	TotalSize     int          `json:"total_size"`
}

// listPageSize is the largest page Scalekit serves.
const listPageSize = 100

// ListPermissions returns the environment's own permissions
// (type=ENVIRONMENT, so not Scalekit's predefined ones), following the
// pages to the end.
func (c *Client) ListPermissions(ctx context.Context) ([]Permission, error) {
	perms, err := collect(ctx, func(ctx context.Context, token string) ([]Permission, string, error) {
		q := url.Values{"page_size": {strconv.Itoa(listPageSize)}, "type": {"ENVIRONMENT"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var page permissionsPage
		err := c.do(ctx, "GET", "/api/v1/permissions", q, nil, &page)
		return page.Permissions, page.NextPageToken, err
	})
	if err != nil {
		return nil, fmt.Errorf("list permissions: %w", err)
	}
	return perms, nil
}

// GetPermission returns one permission.
func (c *Client) GetPermission(ctx context.Context, name string) (*Permission, error) {
	var resp permissionResponse
	if err := c.do(ctx, "GET", "/api/v1/permissions/"+seg(name), nil, nil, &resp); err != nil {
		return nil, fmt.Errorf("get permission %s: %w", name, err)
	}
	return &resp.Permission, nil
}

// CreatePermission registers a permission. Scalekit answers a duplicate
// with 400 "duplicate key not allowed" (which matches ErrAlreadyExists);
// read the permission back to be sure it is there.
func (c *Client) CreatePermission(ctx context.Context, name, description string) (*Permission, error) {
	var resp permissionResponse
	body := permissionBody{Name: name, Description: description}
	if err := c.do(ctx, "POST", "/api/v1/permissions", nil, body, &resp); err != nil {
		return nil, fmt.Errorf("create permission %s: %w", name, err)
	}
	return &resp.Permission, nil
}

// UpdatePermission changes a permission's description; its name is
// immutable, yet the body must repeat it.
func (c *Client) UpdatePermission(ctx context.Context, name, description string) (*Permission, error) {
	var resp permissionResponse
	body := permissionBody{Name: name, Description: description}
	if err := c.do(ctx, "PUT", "/api/v1/permissions/"+seg(name), nil, body, &resp); err != nil {
		return nil, fmt.Errorf("update permission %s: %w", name, err)
	}
	return &resp.Permission, nil
}

// DeletePermission removes a permission. Remove it from every role first.
func (c *Client) DeletePermission(ctx context.Context, name string) error {
	if err := c.do(ctx, "DELETE", "/api/v1/permissions/"+seg(name), nil, nil, nil); err != nil {
		return fmt.Errorf("delete permission %s: %w", name, err)
	}
	return nil
}

// collect calls fetch with each page token, from the first page until the
// server returns no next token.
func collect[T any](ctx context.Context, fetch func(ctx context.Context, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	token := ""
	for {
		items, next, err := fetch(ctx, token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		// A server that hands out the same token twice would loop forever.
		if seen[next] {
			return nil, fmt.Errorf("paging: the server returned a page token twice after %d items", len(all))
		}
		seen[next] = true
		token = next
	}
}

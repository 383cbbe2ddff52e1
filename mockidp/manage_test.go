package mockidp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
	"github.com/scalekit-samples/go-rbac-projects/seed"
)

const (
	acme = "org_100000000000000001"
	bob  = "usr_100000000000000002"
	dave = "usr_100000000000000004"
)

// managementToken gets a client_credentials token from the token endpoint.
func (e *env) managementToken(t testing.TB) string {
	t.Helper()
	status, body := e.postToken(t, url.Values{"grant_type": {"client_credentials"}})
	require.Equal(t, http.StatusOK, status)
	return body["access_token"].(string)
}

// client is a scalekit client for the mock that never sleeps.
func (e *env) client(t testing.TB) *scalekit.Client {
	t.Helper()
	c, err := scalekit.New(scalekit.Config{EnvironmentURL: e.idp.URL(), ClientID: mockidp.DemoClientID,
		ClientSecret: mockidp.DemoClientSecret, Backoff: func(int, time.Duration) time.Duration { return 0 }})
	require.NoError(t, err)
	return c
}

func TestManagementAPIAcceptsOnlyItsManagementTokens(t *testing.T) {
	e := start(t)
	other := mockidptest.Start(t, mockidp.Config{Model: e.model})
	userToken, err := e.idp.AccessToken(bob, mockidp.DemoClientID)
	require.NoError(t, err)
	foreign, err := other.Sign(map[string]any{"iss": e.idp.URL(), "sub": mockidp.DemoClientID, "client_id": mockidp.DemoClientID,
		"exp": time.Now().Add(time.Hour).Unix(), "jti": "x"})
	require.NoError(t, err)
	valid := e.managementToken(t)

	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"its own management token", "Bearer " + valid, http.StatusOK},
		{"no token", "", http.StatusUnauthorized},
		{"a user's access token", "Bearer " + userToken, http.StatusUnauthorized},
		{"a token signed by another server", "Bearer " + foreign, http.StatusUnauthorized},
		{"garbage", "Bearer not.a.jwt", http.StatusUnauthorized},
		{"another scheme", "Basic " + valid, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.idp.URL()+"/api/v1/roles", nil)
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.want, resp.StatusCode)
			if tt.want != http.StatusUnauthorized {
				return
			}
			var body struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Details []struct {
					ErrorCode string `json:"error_code"`
				} `json:"details"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			assert.Equal(t, 16, body.Code, "gRPC UNAUTHENTICATED")
			assert.NotEmpty(t, body.Message)
			require.Len(t, body.Details, 1)
			assert.Equal(t, "UNAUTHENTICATED", body.Details[0].ErrorCode)
		})
	}

	// The client caches its token by its own clock; the server's says it
	// expired: the 401 makes the client fetch a new one and try again.
	c := e.client(t)
	_, err = c.ListRoles(context.Background(), scalekit.IncludeNone)
	require.NoError(t, err)
	e.clock.Advance(25 * time.Hour)
	before := e.idp.ManagementRequests()
	_, err = c.ListRoles(context.Background(), scalekit.IncludeNone)
	assert.NoError(t, err, "an expired management token is replaced by a new one")
	assert.Equal(t, int64(2), e.idp.ManagementRequests()-before, "one 401, one retry")
}

func TestManagementAPIKeepsScalekitsRules(t *testing.T) {
	e := start(t)
	c := e.client(t)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"a built-in role cannot be deleted", func() error { return c.DeleteRole(ctx, "member", "viewer") }, scalekit.ErrInvalid},
		{"a role others extend cannot be deleted", func() error { return c.DeleteRole(ctx, "viewer", "member") }, scalekit.ErrInvalid},
		{"a role members hold needs a reassignment", func() error { return c.DeleteRole(ctx, "team_member", "") }, scalekit.ErrInvalid},
		{"a granted permission cannot be deleted", func() error { return c.DeletePermission(ctx, "tasks:read") }, scalekit.ErrInvalid},
		{"a role without a display name is invalid", func() error {
			_, err := c.CreateRole(ctx, scalekit.NewRole{Name: "auditor"})
			return err
		}, scalekit.ErrInvalid},
		{"a base role must exist", func() error {
			_, err := c.CreateRole(ctx, scalekit.NewRole{Name: "auditor", DisplayName: "A", Extends: "ghost"})
			return err
		}, scalekit.ErrInvalid},
		{"an inheritance cycle is refused", func() error {
			ext := "project_owner"
			_, err := c.UpdateRole(ctx, "viewer", scalekit.RoleUpdate{Extends: &ext})
			return err
		}, scalekit.ErrInvalid},
		{"an unknown role is 404", func() error {
			_, err := c.GetRole(ctx, "ghost", scalekit.IncludeNone)
			return err
		}, scalekit.ErrNotFound},
		{"an unknown organization is 404", func() error {
			_, err := c.ListOrganizationUsers(ctx, "org_999")
			return err
		}, scalekit.ErrNotFound},
		{"a member of another organization is 404", func() error {
			_, err := c.UpdateMemberRoles(ctx, "org_200000000000000001", bob, []string{"viewer"})
			return err
		}, scalekit.ErrNotFound},
		{"an unknown role cannot be assigned", func() error {
			_, err := c.UpdateMemberRoles(ctx, acme, bob, []string{"superuser"})
			return err
		}, scalekit.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, tt.call(), tt.want)
		})
	}
	u, ok := userByID(e.idp, bob)
	require.True(t, ok)
	assert.Equal(t, []string{"project_manager"}, u.Roles, "refused requests changed nothing")
}

func TestADuplicateCreateIsABadRequestAsAtScalekit(t *testing.T) {
	e := start(t)
	c := e.client(t)
	ctx := context.Background()
	_, err := c.CreateOrganizationRole(ctx, acme, scalekit.NewRole{Name: "auditor", DisplayName: "Auditor"})
	require.NoError(t, err)
	tests := []struct {
		name   string
		create func() error
	}{
		{"a permission", func() error { _, err := c.CreatePermission(ctx, "tasks:read", "again"); return err }},
		{"one of Scalekit's permissions", func() error { _, err := c.CreatePermission(ctx, "sk_org_users_read", "mine"); return err }},
		{"a role", func() error {
			_, err := c.CreateRole(ctx, scalekit.NewRole{Name: "viewer", DisplayName: "V"})
			return err
		}},
		{"an organization role", func() error {
			_, err := c.CreateOrganizationRole(ctx, acme, scalekit.NewRole{Name: "auditor", DisplayName: "A"})
			return err
		}},
		{"an organization role named like a global one", func() error {
			_, err := c.CreateOrganizationRole(ctx, acme, scalekit.NewRole{Name: "viewer", DisplayName: "V"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.idp.ManagementWrites()
			var apiErr *scalekit.APIError
			require.ErrorAs(t, tt.create(), &apiErr)
			assert.Equal(t, http.StatusBadRequest, apiErr.Status, "not 409")
			assert.Equal(t, 3, apiErr.Code, "gRPC INVALID_ARGUMENT")
			assert.Equal(t, "duplicate key not allowed", apiErr.Message)
			assert.Equal(t, int64(1), e.idp.ManagementWrites()-before)
		})
	}
	p, err := c.GetPermission(ctx, "tasks:read")
	require.NoError(t, err)
	assert.NotEqual(t, "again", p.Description, "a refused duplicate changes nothing")
}

func TestTheBuiltInRolesComeWithScalekitsOwnPermissions(t *testing.T) {
	e := start(t)
	c := e.client(t)
	ctx := context.Background()
	token := e.managementToken(t)
	list := func(kind string) (names []string, scalekitFlags []bool) {
		req, err := http.NewRequest("GET", e.idp.URL()+"/api/v1/permissions?page_size=100&type="+kind, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var body struct {
			Permissions []scalekit.Permission `json:"permissions"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		for _, p := range body.Permissions {
			names, scalekitFlags = append(names, p.Name), append(scalekitFlags, p.IsScalekitPermission)
		}
		return names, scalekitFlags
	}

	skNames, skFlags := list("SCALEKIT")
	assert.Equal(t, mockidp.ScalekitPermissions("admin", "member"), skNames)
	assert.NotContains(t, skFlags, false, "each is marked is_scalekit_permission")
	envNames, envFlags := list("ENVIRONMENT")
	assert.Len(t, envNames, len(e.model.Permissions), "the seed file's permissions only")
	assert.NotContains(t, envFlags, true)
	for _, n := range envNames {
		assert.NotContains(t, n, "sk_")
	}
	all, _ := list("ALL")
	assert.Len(t, all, len(envNames)+len(skNames))

	for _, role := range []string{"admin", "member"} {
		r, err := c.GetRole(ctx, role, scalekit.IncludePermissions)
		require.NoError(t, err)
		assert.Subset(t, r.PermissionNames(), mockidp.ScalekitPermissions(role), "%s's direct permissions", role)
	}
	assert.Contains(t, mockidp.ScalekitPermissions("member"), "sk_org_users_read")
	assert.Contains(t, mockidp.ScalekitPermissions("admin"), "sk_org_users_role_change")
	assert.Empty(t, mockidp.ScalekitPermissions("viewer"), "only the built-in roles")

	// An environment cannot change or delete them; a role PUT may map them.
	_, err := c.UpdatePermission(ctx, "sk_org_users_read", "mine now")
	assert.ErrorIs(t, err, scalekit.ErrInvalid)
	assert.ErrorIs(t, c.DeletePermission(ctx, "sk_org_settings_manage"), scalekit.ErrInvalid)
	_, err = c.UpdateRole(ctx, "viewer", scalekit.RoleUpdate{Permissions: []string{"projects:read", "tasks:read", "sk_org_users_read"}})
	require.NoError(t, err)
	tok, err := e.idp.AccessToken(dave, mockidp.DemoClientID)
	require.NoError(t, err)
	assert.Equal(t, []string{"projects:read", "sk_org_users_read", "tasks:read"}, strs(claims(t, tok)["permissions"]),
		"a token carries the role's permissions, Scalekit's included")
}

func TestRoleChangesThroughTheAPIReachTheNextSignIn(t *testing.T) {
	e := start(t)
	c := e.client(t)
	ctx := context.Background()

	// The seed file gains tasks:assign for editors, then Dave becomes an
	// editor through the membership endpoint.
	m := changedModel(t, e.model, func(r *rbac.Role) {
		if r.Name == "editor" {
			r.Permissions = append(r.Permissions, "tasks:assign")
		}
	})
	plan, err := seed.NewPlan(ctx, c, m, seed.PlanOptions{})
	require.NoError(t, err)
	_, err = seed.Apply(ctx, c, plan, new(discard))
	require.NoError(t, err)
	_, err = c.UpdateMemberRoles(ctx, acme, dave, []string{"editor"})
	require.NoError(t, err)

	tok, _ := e.tokens(t, dave)
	at := claims(t, tok.AccessToken)
	assert.Equal(t, []string{"editor"}, strs(at["roles"]))
	assert.Equal(t, permissionNames(m.Effective("editor")), strs(at["permissions"]))
	assert.Contains(t, strs(at["permissions"]), "tasks:assign")

	roles, err := c.ListMemberRoles(ctx, acme, dave)
	require.NoError(t, err)
	require.Len(t, roles, 1)
	assert.Equal(t, "Editor", roles[0].DisplayName)

	users, err := c.ListOrganizationUsers(ctx, acme)
	require.NoError(t, err)
	assert.Len(t, users, 4, "Acme's four demo users")
}

func TestOrganizationRolesAreScopedToTheirOrganization(t *testing.T) {
	e := start(t)
	c := e.client(t)
	ctx := context.Background()
	_, err := c.CreateOrganizationRole(ctx, acme, scalekit.NewRole{Name: "auditor", DisplayName: "Auditor", Extends: "viewer", Permissions: []string{"members:read"}})
	require.NoError(t, err)

	roles, err := c.ListOrganizationRoles(ctx, acme, scalekit.IncludePermissions)
	require.NoError(t, err)
	var own []string
	for _, r := range roles {
		if r.IsOrgRole {
			own = append(own, r.Name)
		}
	}
	assert.Equal(t, []string{"auditor"}, own)
	_, err = c.GetRole(ctx, "auditor", scalekit.IncludeNone)
	assert.ErrorIs(t, err, scalekit.ErrNotFound, "not a global role")
	_, err = c.UpdateMemberRoles(ctx, "org_200000000000000001", "usr_200000000000000002", []string{"auditor"})
	assert.ErrorIs(t, err, scalekit.ErrInvalid, "another organization's members cannot hold it")

	_, err = c.UpdateMemberRoles(ctx, acme, dave, []string{"auditor"})
	require.NoError(t, err)
	tok, err := e.idp.AccessToken(dave, mockidp.DemoClientID)
	require.NoError(t, err)
	assert.Equal(t, []string{"members:read", "projects:read", "tasks:read"}, strs(claims(t, tok)["permissions"]))
}

// changedModel returns a copy of m with edit applied to each role.
func changedModel(t testing.TB, m *rbac.Model, edit func(*rbac.Role)) *rbac.Model {
	t.Helper()
	f := map[string]any{"permissions": m.Permissions, "default_creator_role": m.DefaultCreatorRole, "default_member_role": m.DefaultMemberRole}
	var roles []rbac.Role
	for _, r := range m.Roles {
		r.Permissions = slices.Clone(r.Permissions) // the edit must not reach m
		edit(&r)
		roles = append(roles, r)
	}
	f["roles"] = roles
	data, err := json.Marshal(f)
	require.NoError(t, err)
	changed, err := rbac.Parse(data)
	require.NoError(t, err)
	return changed
}

func userByID(s *mockidp.Server, id string) (mockidp.User, bool) {
	for _, u := range s.Users() {
		if u.ID == id {
			return u, true
		}
	}
	return mockidp.User{}, false
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

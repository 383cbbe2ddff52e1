package seed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
	"github.com/scalekit-samples/go-rbac-projects/seed"
)

// seedFile mirrors rbac.seed.json, so tests can edit a copy.
type seedFile struct {
	Permissions        []rbac.PermissionDef `json:"permissions"`
	Roles              []rbac.Role          `json:"roles"`
	DefaultCreatorRole string               `json:"default_creator_role"`
	DefaultMemberRole  string               `json:"default_member_role"`
	OrganizationRoles  []rbac.OrgRoles      `json:"organization_roles,omitempty"`
}

// seedWith returns the model of rbac.seed.json after edit.
func seedWith(t testing.TB, edit func(*seedFile)) *rbac.Model {
	t.Helper()
	data, err := os.ReadFile("../rbac.seed.json")
	require.NoError(t, err)
	var f seedFile
	require.NoError(t, json.Unmarshal(data, &f))
	edit(&f)
	data, err = json.Marshal(f)
	require.NoError(t, err)
	m, err := rbac.Parse(data)
	require.NoError(t, err)
	return m
}

// role returns a pointer to the named role of f.
func (f *seedFile) role(name string) *rbac.Role {
	i := slices.IndexFunc(f.Roles, func(r rbac.Role) bool { return r.Name == name })
	return &f.Roles[i]
}

// remoteOf is an environment that holds exactly m.
// permissionNames turns permissions into the strings the management API sends.
func permissionNames(ps []rbac.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func remoteOf(m *rbac.Model) *seed.Remote {
	r := &seed.Remote{}
	for _, p := range m.Permissions {
		r.Permissions = append(r.Permissions, scalekit.Permission{Name: string(p.Name), Description: p.Description})
	}
	for _, role := range m.Roles {
		sr := scalekit.Role{Name: role.Name, DisplayName: role.DisplayName, Description: role.Description, Extends: role.Extends,
			DefaultCreator: role.Name == m.DefaultCreatorRole, DefaultMember: role.Name == m.DefaultMemberRole}
		for _, p := range role.Permissions {
			sr.Permissions = append(sr.Permissions, scalekit.RolePermission{Name: string(p), RoleName: role.Name})
		}
		r.Roles = append(r.Roles, sr)
	}
	return r
}

// changes lists the steps of a plan that write, as strings.
func changes(p *seed.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action != seed.Unchanged {
			out = append(out, s.String())
		}
	}
	return out
}

func TestDiffListsExactlyWhatDiffers(t *testing.T) {
	file := loadModel(t)
	tests := []struct {
		name   string
		model  *rbac.Model
		remote func(*seed.Remote)
		prune  bool
		want   []string
	}{
		{"an environment that matches the file needs nothing", file, nil, false, nil},
		{"a permission added to a role updates that role only",
			seedWith(t, func(f *seedFile) { f.role("editor").Permissions = append(f.role("editor").Permissions, "tasks:assign") }), nil, false,
			[]string{"role editor: update (permissions +tasks:assign)"}},
		{"a different base role updates that role only",
			seedWith(t, func(f *seedFile) { f.role("editor").Extends = "team_member" }), nil, false,
			[]string{"role editor: update (extends viewer -> team_member)"}},
		{"a dropped base role is an update",
			seedWith(t, func(f *seedFile) { f.role("project_owner").Extends = "" }), nil, false,
			[]string{"role project_owner: update (extends editor -> (none))"}},
		{"a new role is created",
			seedWith(t, func(f *seedFile) {
				f.Roles = append([]rbac.Role{{Name: "auditor", DisplayName: "Auditor", Extends: "viewer", Permissions: []rbac.Permission{"members:read"}}}, f.Roles...)
			}), nil, false,
			[]string{"role auditor: create"}},
		{"a new permission and a changed description",
			seedWith(t, func(f *seedFile) {
				f.Permissions = append(f.Permissions, rbac.PermissionDef{Name: "tasks:delete", Description: "Delete tasks"})
				f.Permissions[0].Description = "Create projects"
			}), nil, false,
			[]string{"permission projects:create: update (description)", "permission tasks:delete: create"}},
		{"a display name changed in the dashboard is put back", file,
			func(r *seed.Remote) { r.Roles[2].DisplayName = "Proj Admin" }, false,
			[]string{"role project_admin: update (display_name)"}},
		{"another default member role is put back", file,
			func(r *seed.Remote) { r.Roles[1].DefaultMember, r.Roles[5].DefaultMember = false, true }, false,
			[]string{"default roles creator and member: update (member viewer -> member)"}},
		{"remote-only roles and permissions are reported, not deleted", file,
			func(r *seed.Remote) {
				r.Permissions = append(r.Permissions, scalekit.Permission{Name: "legacy:read"})
				r.Roles = append(r.Roles, scalekit.Role{Name: "legacy"})
			}, false,
			[]string{"role legacy: only-remote", "permission legacy:read: only-remote"}},
		{"with prune they are deleted, dependent roles first", file,
			func(r *seed.Remote) {
				r.Permissions = append(r.Permissions, scalekit.Permission{Name: "legacy:read"})
				r.Roles = append(r.Roles, scalekit.Role{Name: "legacy_base"}, scalekit.Role{Name: "legacy", Extends: "legacy_base"})
			}, true,
			[]string{"role legacy: delete", "role legacy_base: delete", "permission legacy:read: delete"}},
		{"a prune never deletes the built-in roles",
			seedWith(t, func(f *seedFile) {
				f.Roles = slices.DeleteFunc(f.Roles, func(r rbac.Role) bool { return r.Name == "admin" || r.Name == "member" })
				f.DefaultCreatorRole, f.DefaultMemberRole = "", ""
			}), nil, true,
			[]string{"role admin: only-remote", "role member: only-remote"}},
		{"Scalekit's predefined permissions are not the file's business", file,
			func(r *seed.Remote) {
				r.Permissions = append(r.Permissions, scalekit.Permission{Name: "sk:org:read", IsScalekitPermission: true})
			}, true, nil},
		{"a prune never deletes an sk_ permission, even one listed without its flag", file,
			func(r *seed.Remote) {
				r.Permissions = append(r.Permissions, scalekit.Permission{Name: "sk_org_users_read"})
			}, true, nil},
		{"Scalekit's permissions on a built-in role are no difference", file,
			func(r *seed.Remote) {
				r.Roles[0].Permissions = append(r.Roles[0].Permissions, scalekit.RolePermission{Name: "sk_org_settings_manage"}, scalekit.RolePermission{Name: "sk_org_users_role_change"})
				r.Roles[1].Permissions = append(r.Roles[1].Permissions, scalekit.RolePermission{Name: "sk_org_users_read"})
			}, true, nil},
		{"nor are they on another role, and a real change does not list them",
			seedWith(t, func(f *seedFile) { f.role("viewer").Permissions = append(f.role("viewer").Permissions, "members:read") }),
			func(r *seed.Remote) {
				r.Roles[5].Permissions = append(r.Roles[5].Permissions, scalekit.RolePermission{Name: "sk_org_users_read"})
			}, false,
			[]string{"role viewer: update (permissions +members:read)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := remoteOf(file)
			if tt.remote != nil {
				tt.remote(remote)
			}
			plan := seed.Diff(tt.model, remote, seed.PlanOptions{Prune: tt.prune})
			assert.Equal(t, tt.want, changes(plan))
		})
	}
}

func TestPlanPutsBaseRolesFirst(t *testing.T) {
	// The file lists project_owner before the roles it builds on.
	m := seedWith(t, func(f *seedFile) { slices.Reverse(f.Roles) })
	plan := seed.Diff(m, &seed.Remote{}, seed.PlanOptions{})

	var order []string
	for _, s := range plan.Steps {
		if s.Kind == seed.KindRole {
			order = append(order, s.Name)
		}
	}
	pos := func(name string) int { return slices.Index(order, name) }
	assert.Less(t, pos("viewer"), pos("editor"))
	assert.Less(t, pos("editor"), pos("project_owner"))
	assert.Equal(t, seed.KindPermission, plan.Steps[0].Kind, "permissions come first")
}

func TestACreateThatFindsTheItemThereUpdatesIt(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*env)
	}{
		{"Scalekit's 400 duplicate key", func(*env) {}},
		{"a 409, as some gateways answer", func(e *env) { e.idp.FailManagement(1, 409, "") }},
		{"a 400 that does not say why: reading back decides", func(e *env) { e.idp.FailManagement(1, 400, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t)
			ctx := context.Background()
			m := seedWith(t, func(f *seedFile) {
				f.Permissions = append(f.Permissions, rbac.PermissionDef{Name: "tasks:delete", Description: "Delete tasks"})
			})
			plan, err := seed.NewPlan(ctx, e.client, m, seed.PlanOptions{})
			require.NoError(t, err)
			require.Equal(t, []string{"permission tasks:delete: create"}, changes(plan))

			// Another seed run registers it between this run's plan and apply.
			_, err = e.client.CreatePermission(ctx, "tasks:delete", "registered meanwhile")
			require.NoError(t, err)
			tt.inject(e)

			var out bytes.Buffer
			sum, err := seed.Apply(ctx, e.client, plan, &out)
			require.NoError(t, err)
			assert.Equal(t, 1, sum.Updated)
			assert.Zero(t, sum.Created)
			assert.Contains(t, out.String(), "tasks:delete")
			assert.Contains(t, out.String(), "existed, updated")
			p, err := e.client.GetPermission(ctx, "tasks:delete")
			require.NoError(t, err)
			assert.Equal(t, "Delete tasks", p.Description, "the file wins")
		})
	}
}

func TestA400OnACreateWhoseItemIsNotThereStaysAnError(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*seedFile)
		wantErr string
		get     func(*env) error
	}{
		{"a permission, even if the message says duplicate",
			func(f *seedFile) {
				f.Permissions = append(f.Permissions, rbac.PermissionDef{Name: "tasks:delete", Description: "Delete tasks"})
			},
			"create permission tasks:delete",
			func(e *env) error { _, err := e.client.GetPermission(context.Background(), "tasks:delete"); return err }},
		{"a role",
			func(f *seedFile) {
				f.Roles = append(f.Roles, rbac.Role{Name: "auditor", DisplayName: "Auditor", Extends: "viewer"})
			},
			"create role auditor",
			func(e *env) error {
				_, err := e.client.GetRole(context.Background(), "auditor", scalekit.IncludeNone)
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t)
			ctx := context.Background()
			plan, err := seed.NewPlan(ctx, e.client, seedWith(t, tt.edit), seed.PlanOptions{})
			require.NoError(t, err)
			e.idp.FailManagement(1, 400, "duplicate key not allowed")

			sum, err := seed.Apply(ctx, e.client, plan, new(bytes.Buffer))
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.wantErr, "the create's error, not a later update's")
			assert.ErrorContains(t, err, "400 Bad Request")
			assert.NotNil(t, sum.Failed)
			assert.ErrorIs(t, tt.get(e), scalekit.ErrNotFound, "nothing was created or updated")
		})
	}
}

func TestApplyKeepsScalekitsOwnPermissionsOnTheRoles(t *testing.T) {
	tests := []struct {
		name string
		edit func(*seedFile)
		role string
	}{
		{"a permission taken from admin", func(f *seedFile) {
			f.role("admin").Permissions = slices.DeleteFunc(f.role("admin").Permissions, func(p rbac.Permission) bool { return p == "roles:assign" })
		}, "admin"},
		{"a permission added to member", func(f *seedFile) {
			f.role("member").Permissions = append(f.role("member").Permissions, "tasks:update")
		}, "member"},
		{"every file permission taken from member", func(f *seedFile) { f.role("member").Permissions = nil }, "member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t)
			ctx := context.Background()
			m := seedWith(t, tt.edit)
			plan, err := seed.NewPlan(ctx, e.client, m, seed.PlanOptions{})
			require.NoError(t, err)
			require.Len(t, changes(plan), 1, "only the edited role: %v", changes(plan))
			assert.NotContains(t, changes(plan)[0], "sk_")

			_, err = seed.Apply(ctx, e.client, plan, new(bytes.Buffer))
			require.NoError(t, err)
			r, err := e.client.GetRole(ctx, tt.role, scalekit.IncludePermissions)
			require.NoError(t, err)
			want := mockidp.ScalekitPermissions(tt.role)
			for _, p := range m.Effective(tt.role) {
				want = append(want, string(p))
			}
			assert.ElementsMatch(t, want, r.PermissionNames(), "the file's permissions and Scalekit's")

			again, err := seed.NewPlan(ctx, e.client, m, seed.PlanOptions{})
			require.NoError(t, err)
			assert.Empty(t, changes(again))
		})
	}
}

func TestARoleThatExistsIsComparedBeforeItIsUpdated(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	m := seedWith(t, func(f *seedFile) {
		f.Roles = append(f.Roles, rbac.Role{Name: "auditor", DisplayName: "Auditor", Extends: "viewer", Permissions: []rbac.Permission{"members:read"}})
	})
	plan, err := seed.NewPlan(ctx, e.client, m, seed.PlanOptions{})
	require.NoError(t, err)
	// Registered meanwhile, with a base the file does not give it.
	_, err = e.client.CreateRole(ctx, scalekit.NewRole{Name: "auditor", DisplayName: "Auditor", Extends: "editor", Permissions: []string{"members:read"}})
	require.NoError(t, err)

	_, err = seed.Apply(ctx, e.client, plan, new(bytes.Buffer))
	require.NoError(t, err)
	r, err := e.client.GetRole(ctx, "auditor", scalekit.IncludePermissions)
	require.NoError(t, err)
	assert.Equal(t, "viewer", r.Extends)
	eff, err := e.client.EffectivePermissions(ctx, "auditor")
	require.NoError(t, err)
	var names []string
	for _, p := range eff {
		names = append(names, p.Name)
	}
	assert.Equal(t, permissionNames(m.Effective("auditor")), names)
}

func TestApplyEmptiesARoleWithTheCallsTheAPIHas(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	m := seedWith(t, func(f *seedFile) {
		f.role("editor").Permissions = nil
		f.role("editor").Extends = ""
	})
	plan, err := seed.NewPlan(ctx, e.client, m, seed.PlanOptions{})
	require.NoError(t, err)
	_, err = seed.Apply(ctx, e.client, plan, new(bytes.Buffer))
	require.NoError(t, err)

	eff, err := e.client.EffectivePermissions(ctx, "editor")
	require.NoError(t, err)
	assert.Empty(t, eff, "no base and no direct permissions left")
	again, err := seed.NewPlan(ctx, e.client, m, seed.PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, changes(again))
}

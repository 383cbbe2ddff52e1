package rbac_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func TestSeedFileLoads(t *testing.T) {
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)

	for _, name := range []string{"admin", "member", "project_admin", "project_manager", "team_member", "viewer", "editor", "project_owner"} {
		_, ok := m.Role(name)
		assert.True(t, ok, "seed file lacks role %q from the seed documents", name)
	}
	assert.Equal(t, "admin", m.DefaultCreatorRole)
	assert.Equal(t, "member", m.DefaultMemberRole)
}

func TestEffectivePermissionsFollowInheritance(t *testing.T) {
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)

	tests := []struct {
		name  string
		roles []string
		want  []rbac.Permission
	}{
		{"a base role has only its own permissions", []string{"viewer"},
			[]rbac.Permission{"projects:read", "tasks:read"}},
		{"editor inherits viewer", []string{"editor"},
			[]rbac.Permission{"projects:read", "projects:update", "tasks:create", "tasks:read", "tasks:update"}},
		{"project_owner inherits editor and so viewer", []string{"project_owner"},
			[]rbac.Permission{"members:read", "projects:create", "projects:delete", "projects:read", "projects:update", "tasks:assign", "tasks:create", "tasks:read", "tasks:update"}},
		{"several roles are united without duplicates", []string{"viewer", "team_member"},
			[]rbac.Permission{"projects:read", "tasks:read", "tasks:update"}},
		{"an unknown role grants nothing", []string{"superuser"}, nil},
		{"no role grants nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, m.Effective(tt.roles...))
		})
	}
	assert.Equal(t, []string{"editor", "viewer"}, m.Inherited("project_owner"))
}

func TestParseRejectsInvalidModels(t *testing.T) {
	const perms = `"permissions":[{"name":"projects:read","description":"read"}]`
	tests := []struct {
		name    string
		json    string
		culprit string
	}{
		{"not JSON", `{`, "not valid JSON"},
		{"unknown field", `{` + perms + `,"roles":[{"name":"a","display_name":"A","extend":"b"}]}`, `unknown field "extend"`},
		{"no permissions", `{"roles":[{"name":"a","display_name":"A"}]}`, "no permissions"},
		{"no roles", `{` + perms + `}`, "no roles"},
		{"unknown permission in a role", `{` + perms + `,"roles":[{"name":"a","display_name":"A","permissions":["projects:write"]}]}`, `role "a" grants unknown permission "projects:write"`},
		{"unknown base role", `{` + perms + `,"roles":[{"name":"a","display_name":"A","extends":"ghost"}]}`, `role "a" extends unknown role "ghost"`},
		{"inheritance cycle", `{` + perms + `,"roles":[{"name":"a","display_name":"A","extends":"b"},{"name":"b","display_name":"B","extends":"a"}]}`, "inheritance cycle"},
		{"role extends itself", `{` + perms + `,"roles":[{"name":"a","display_name":"A","extends":"a"}]}`, "inheritance cycle"},
		{"duplicate permission", `{"permissions":[{"name":"p:r"},{"name":"p:r"}],"roles":[{"name":"a","display_name":"A"}]}`, `permission "p:r" is defined twice`},
		{"duplicate role", `{` + perms + `,"roles":[{"name":"a","display_name":"A"},{"name":"a","display_name":"A"}]}`, `role "a" is defined twice`},
		{"dotted permission name Scalekit rejects", `{"permissions":[{"name":"users.write"}],"roles":[{"name":"a","display_name":"A"}]}`, `permission "users.write": name must match`},
		{"a permission in Scalekit's own namespace", `{"permissions":[{"name":"sk_org_users_read"}],"roles":[{"name":"a","display_name":"A"}]}`, `permission "sk_org_users_read": names starting sk_ are Scalekit's own`},
		{"role name with a dash", `{` + perms + `,"roles":[{"name":"project-admin","display_name":"A"}]}`, `role "project-admin": name must match`},
		{"role name too long", `{` + perms + `,"roles":[{"name":"` + strings.Repeat("r", 65) + `","display_name":"A"}]}`, "name must match"},
		{"role without display name", `{` + perms + `,"roles":[{"name":"a"}]}`, `role "a": display_name is required`},
		{"unknown default role", `{` + perms + `,"roles":[{"name":"a","display_name":"A"}],"default_member_role":"b"}`, `default_member_role names unknown role "b"`},
		{"trailing data", `{` + perms + `,"roles":[{"name":"a","display_name":"A"}]} {}`, "unexpected data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := rbac.Parse([]byte(tt.json))
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, errors.Is(err, rbac.ErrInvalidModel))
			assert.Contains(t, err.Error(), tt.culprit)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"permissions":[{"name":"p:r"}],"roles":[{"name":"a","display_name":"A","extends":"b","permissions":["p:r"]},{"name":"b","display_name":"B"}]}`))
	f.Add([]byte(`{"permissions":[{"name":"p:r"}],"roles":[{"name":"a","display_name":"A","extends":"a"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := rbac.Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("a rejected file yielded a model")
			}
			return
		}
		// Invariant: every effective permission of an accepted model is defined.
		for _, r := range m.Roles {
			for _, p := range m.Effective(r.Name) {
				if m.Description(p) == "" && !defined(m, p) {
					t.Fatalf("role %q has undefined permission %q", r.Name, p)
				}
			}
		}
	})
}

func defined(m *rbac.Model, p rbac.Permission) bool {
	for _, d := range m.Permissions {
		if d.Name == p {
			return true
		}
	}
	return false
}

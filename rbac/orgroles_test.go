package rbac_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// orgSeed is a small model with one organization role chain:
// acme's auditor extends the global viewer, and lead extends auditor.
const orgSeed = `{
  "permissions": [
    {"name": "projects:read"}, {"name": "tasks:read"}, {"name": "tasks:assign"}, {"name": "members:read"}
  ],
  "roles": [
    {"name": "viewer", "display_name": "Viewer", "permissions": ["projects:read"]}
  ],
  "organization_roles": [
    {"organization_id": "org_1", "roles": [
      {"name": "auditor", "display_name": "Auditor", "extends": "viewer", "permissions": ["members:read"]},
      {"name": "lead", "display_name": "Lead", "extends": "auditor", "permissions": ["tasks:assign"]}
    ]}
  ]
}`

func TestOrganizationRolesResolveThroughGlobalRoles(t *testing.T) {
	m, err := rbac.Parse([]byte(orgSeed))
	require.NoError(t, err)

	tests := []struct {
		name  string
		org   string
		roles []string
		want  []rbac.Permission
	}{
		{"an org role inherits a global base", "org_1", []string{"auditor"},
			[]rbac.Permission{"members:read", "projects:read"}},
		{"an org role inherits another org role and its global base", "org_1", []string{"lead"},
			[]rbac.Permission{"members:read", "projects:read", "tasks:assign"}},
		{"a global role works in any organization", "org_2", []string{"viewer"},
			[]rbac.Permission{"projects:read"}},
		{"another organization's role grants nothing", "org_2", []string{"lead"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, m.EffectiveIn(tt.org, tt.roles...))
		})
	}
	assert.Nil(t, m.Effective("auditor"), "Effective knows only global roles")
	r, ok := m.OrgRole("org_1", "lead")
	require.True(t, ok)
	assert.Equal(t, "auditor", r.Extends)
}

func TestParseRejectsInvalidOrganizationRoles(t *testing.T) {
	const head = `{"permissions":[{"name":"projects:read"}],"roles":[{"name":"viewer","display_name":"V"}],"organization_roles":`
	tests := []struct {
		name    string
		orgs    string
		culprit string
	}{
		{"no organization id", `[{"roles":[{"name":"a","display_name":"A"}]}]`, "organization_id is required"},
		{"an organization listed twice", `[{"organization_id":"org_1","roles":[{"name":"a","display_name":"A"}]},{"organization_id":"org_1","roles":[{"name":"b","display_name":"B"}]}]`, `organization "org_1" is listed twice`},
		{"an organization without roles", `[{"organization_id":"org_1","roles":[]}]`, `organization "org_1": no roles defined`},
		{"a name Scalekit rejects", `[{"organization_id":"org_1","roles":[{"name":"a-b","display_name":"A"}]}]`, `role "a-b" of organization "org_1": name must match`},
		{"a duplicate role", `[{"organization_id":"org_1","roles":[{"name":"a","display_name":"A"},{"name":"a","display_name":"A"}]}]`, `role "a" of organization "org_1" is defined twice`},
		{"no display name", `[{"organization_id":"org_1","roles":[{"name":"a"}]}]`, "display_name is required"},
		{"the name of a global role", `[{"organization_id":"org_1","roles":[{"name":"viewer","display_name":"V"}]}]`, "has the name of a global role"},
		{"an unknown base role", `[{"organization_id":"org_1","roles":[{"name":"a","display_name":"A","extends":"ghost"}]}]`, `extends unknown role "ghost"`},
		{"an unknown permission", `[{"organization_id":"org_1","roles":[{"name":"a","display_name":"A","permissions":["projects:write"]}]}]`, `grants unknown permission "projects:write"`},
		{"an inheritance cycle", `[{"organization_id":"org_1","roles":[{"name":"a","display_name":"A","extends":"b"},{"name":"b","display_name":"B","extends":"a"}]}]`, "inheritance cycle"},
		{"an unknown field", `[{"organization_id":"org_1","role":[]}]`, `unknown field "role"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := rbac.Parse([]byte(head + tt.orgs + `}`))
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, errors.Is(err, rbac.ErrInvalidModel))
			assert.Contains(t, err.Error(), tt.culprit)
		})
	}
}

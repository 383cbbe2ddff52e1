package rbac_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func TestNobodyGrantsWhatTheyLack(t *testing.T) {
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	peopleOps := []rbac.Permission{"members:read", "roles:assign", "projects:read", "tasks:read"}

	tests := []struct {
		name string
		have []rbac.Permission
		role string
		want bool
	}{
		{"an admin grants admin", m.Effective("admin"), "admin", true},
		{"an admin grants any lesser role", m.Effective("admin"), "project_owner", true},
		{"roles:assign alone does not grant admin", peopleOps, "admin", false},
		{"roles:assign alone does not grant a role with more permissions", peopleOps, "project_manager", false},
		{"roles:assign grants a role within one's own permissions", peopleOps, "viewer", true},
		{"inherited permissions count: editor brings viewer's too", m.Effective("editor"), "viewer", true},
		{"a base role does not grant the role extending it", m.Effective("viewer"), "editor", false},
		{"an unknown role is never grantable", m.Effective("admin"), "superuser", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, m.CanGrant(tt.have, "org_1", tt.role))
		})
	}

	var names []string
	for _, r := range m.Assignable(peopleOps, "org_1") {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"member", "viewer"}, names, "the picker offers only what may be granted")
}

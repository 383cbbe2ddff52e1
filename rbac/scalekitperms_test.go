package rbac_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// Scalekit puts its own permissions (sk_...) of the built-in roles into
// access tokens next to the seed file's. The model does not know them, and
// they must neither break a decision nor widen one.
func TestScalekitsOwnPermissionsInATokenChangeNoDecision(t *testing.T) {
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	sk := []rbac.Permission{"sk_org_settings_manage", "sk_org_users_read", "sk_org_users_role_change"}
	admin := append(m.Effective("admin"), sk...)
	viewer := append(m.Effective("viewer"), sk...)

	for _, r := range m.Roles {
		assert.True(t, m.CanGrant(admin, "org_1", r.Name), "an admin's token with sk_ permissions still grants %s", r.Name)
	}
	assert.False(t, m.CanGrant(viewer, "org_1", "editor"), "sk_ permissions grant nothing of the app's")
	assert.Equal(t, len(m.Assignable(m.Effective("viewer"), "org_1")), len(m.Assignable(viewer, "org_1")))
}

package members

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// fakeIdP is the membership part of the IdP, in memory.
type fakeIdP struct {
	mu    sync.Mutex
	roles map[string][]string // user id -> roles, all in org_1
}

func (f *fakeIdP) ListOrganizationUsers(_ context.Context, orgID string) ([]scalekit.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var users []scalekit.User
	for id, roles := range f.roles {
		if orgID != "org_1" {
			continue
		}
		var refs []scalekit.RoleRef
		for _, r := range roles {
			refs = append(refs, scalekit.RoleRef{Name: r})
		}
		users = append(users, scalekit.User{ID: id, Memberships: []scalekit.Membership{{OrganizationID: orgID, Roles: refs}}})
	}
	return users, nil
}

func (f *fakeIdP) UpdateMemberRoles(_ context.Context, _, userID string, roles []string) (*scalekit.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[userID] = slices.Clone(roles)
	return &scalekit.User{ID: userID}, nil
}

func newAssigner(t *testing.T, e database.Engine, roles map[string][]string) (*Assigner, *fakeIdP, *Audit) {
	t.Helper()
	idp := &fakeIdP{roles: roles}
	a, audit := newInstance(t, databasetest.New(t, e), idp)
	return a, idp, audit
}

// newInstance returns the Assigner of an app instance, with a connection
// pool of its own to the database cfg names (shared by instances) and
// whose IdP is idp.
func newInstance(t *testing.T, cfg database.Config, idp IdP) (*Assigner, *Audit) {
	t.Helper()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	db, d := databasetest.Open(t, cfg)
	log := slog.New(slog.DiscardHandler)
	audit := NewAudit(db)
	changes, err := NewRoleChanges(context.Background(), db, log)
	require.NoError(t, err)
	return NewAssigner(idp, model, audit, changes, NewDirectory(db, d), lease.New(db), log), audit
}

func TestSetRolesRefusesEscalationAndKeepsAnAdmin(t *testing.T) {
	databasetest.Run(t, testSetRolesRefusesEscalationAndKeepsAnAdmin)
}

func testSetRolesRefusesEscalationAndKeepsAnAdmin(t *testing.T, e database.Engine) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	admin := model.Effective("admin")
	peopleOps := []rbac.Permission{"members:read", "roles:assign", "projects:read", "tasks:read"}

	tests := []struct {
		name    string
		actor   []rbac.Permission
		target  string
		roles   []string
		source  string
		wantErr error
	}{
		{"an admin demotes a manager", admin, "usr_bob", []string{"team_member"}, SourceApp, nil},
		{"roles:assign alone cannot make anyone admin", peopleOps, "usr_carol", []string{"admin"}, SourceApp, &auth.DeniedError{}},
		{"roles:assign alone cannot grant more than it holds", peopleOps, "usr_carol", []string{"project_manager"}, SourceApp, &auth.DeniedError{}},
		{"roles:assign grants a role within its holder's permissions", peopleOps, "usr_carol", []string{"viewer"}, SourceApp, nil},
		{"directory sync applies the IdP's mapping as it is", nil, "usr_carol", []string{"project_manager"}, SourceDirectorySync, nil},
		{"the last admin cannot be demoted", admin, "usr_alice", []string{"viewer"}, SourceApp, problem.ErrConflict},
		{"a user outside the organization is not found", admin, "usr_erin", []string{"viewer"}, SourceApp, problem.ErrNotFound},
		{"an unknown role is invalid", admin, "usr_bob", []string{"superuser"}, SourceApp, problem.ErrInvalid},
		{"no role is invalid", admin, "usr_bob", nil, SourceApp, problem.ErrInvalid},
		{"a malformed id is invalid", admin, "usr bob", []string{"viewer"}, SourceApp, problem.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, idp, audit := newAssigner(t, e, map[string][]string{
				"usr_alice": {"admin"}, "usr_bob": {"project_manager"}, "usr_carol": {"team_member"},
			})
			before := map[string][]string{}
			for k, v := range idp.roles {
				before[k] = slices.Clone(v)
			}
			err := a.SetRoles(context.Background(), Change{
				OrgID: "org_1", Actor: "usr_actor", Target: tt.target, Roles: tt.roles, Source: tt.source, ActorPermissions: tt.actor,
			})
			entries, lerr := audit.List(context.Background(), "org_1", 10)
			require.NoError(t, lerr)
			require.Len(t, entries, 1, "every attempt is audited")

			var denied *auth.DeniedError
			switch {
			case tt.wantErr == nil:
				require.NoError(t, err)
				assert.Equal(t, tt.roles, idp.roles[tt.target])
				assert.Equal(t, OutcomeChanged, entries[0].Outcome)
			case errors.As(tt.wantErr, &denied):
				assert.ErrorAs(t, err, &denied)
			default:
				assert.ErrorIs(t, err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assert.Equal(t, before, idp.roles, "a refused change changes nothing")
				assert.Equal(t, OutcomeRefused, entries[0].Outcome)
			}
		})
	}
}

func TestTwoAdminsDemotingEachOtherLeaveOneAdmin(t *testing.T) {
	databasetest.Run(t, testTwoAdminsDemotingEachOtherLeaveOneAdmin)
}

func testTwoAdminsDemotingEachOtherLeaveOneAdmin(t *testing.T, e database.Engine) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	tests := []struct {
		name      string
		instances int
	}{
		{"one app instance", 1},
		// Behind a load balancer the two requests land on different
		// instances that share the database.
		{"two app instances", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 10 {
				idp := &fakeIdP{roles: map[string][]string{"usr_alice": {"admin"}, "usr_bob": {"admin"}}}
				cfg := databasetest.New(t, e)
				var instances []*Assigner
				for range tt.instances {
					a, _ := newInstance(t, cfg, idp)
					instances = append(instances, a)
				}
				var wg sync.WaitGroup
				for i, pair := range [][2]string{{"usr_alice", "usr_bob"}, {"usr_bob", "usr_alice"}} {
					a := instances[i%len(instances)]
					wg.Go(func() {
						_ = a.SetRoles(context.Background(), Change{OrgID: "org_1", Actor: pair[0], Target: pair[1],
							Roles: []string{"viewer"}, Source: SourceApp, ActorPermissions: model.Effective("admin")})
					})
				}
				wg.Wait()
				admins := 0
				for _, roles := range idp.roles {
					if slices.Contains(roles, "admin") {
						admins++
					}
				}
				require.Equal(t, 1, admins, "exactly one demotion went through")
			}
		})
	}
}

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
	// update, if set, plays the IdP receiving an update: it may apply it
	// or not, and its error is the answer the caller gets.
	update func(apply func()) error
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
	apply := func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.roles[userID] = slices.Clone(roles)
	}
	if f.update != nil {
		if err := f.update(apply); err != nil {
			return nil, err
		}
		return &scalekit.User{ID: userID}, nil
	}
	apply()
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
	changes, err := NewRoleChanges(context.Background(), db, d, log)
	require.NoError(t, err)
	return NewAssigner(idp, model, audit, changes, NewDirectory(db, d), lease.New(db, d), log), audit
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
		{"roles:assign grants a role within its holder's permissions", peopleOps, "usr_dan", []string{"member"}, SourceApp, nil},
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
				"usr_alice": {"admin"}, "usr_bob": {"project_manager"}, "usr_carol": {"team_member"}, "usr_dan": {"viewer"},
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
			require.Len(t, entries, 1, "every attempt that reaches SetRoles is audited")

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
	rounds := 10 // the race is lost in some rounds only, when it is
	if testing.Short() {
		rounds = 3
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range rounds {
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

func TestNobodyChangesTheRolesOfAMemberWhoHoldsMore(t *testing.T) {
	databasetest.Run(t, testNobodyChangesTheRolesOfAMemberWhoHoldsMore)
}

func testNobodyChangesTheRolesOfAMemberWhoHoldsMore(t *testing.T, e database.Engine) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	admin := model.Effective(AdminRole)
	require.ElementsMatch(t, allPermissions(model), admin, "the seed's admin holds every permission, so admins pass the rule")
	// What a custom role that was delegated roles:assign might hold.
	peopleOps := []rbac.Permission{"members:read", "roles:assign", "projects:read", "tasks:read"}

	tests := []struct {
		name        string
		actor       []rbac.Permission
		current     []string
		roles       []string
		source      string
		wantMissing rbac.Permission // "": the change goes through
	}{
		{"roles:assign alone cannot demote an admin", peopleOps, []string{"admin"}, []string{"viewer"}, SourceApp, "projects:create"},
		{"roles:assign alone cannot demote a member with a permission it lacks", peopleOps, []string{"team_member"}, []string{"viewer"}, SourceApp, "tasks:update"},
		{"every current role counts, not only the first", peopleOps, []string{"viewer", "project_manager"}, []string{"viewer"}, SourceApp, "projects:create"},
		{"roles:assign changes a member who holds no more than it does", peopleOps, []string{"viewer"}, []string{"member"}, SourceApp, ""},
		{"an admin demotes another admin", admin, []string{"admin"}, []string{"viewer"}, SourceApp, ""},
		{"a role the app does not know may bring anything: roles:assign alone cannot take it", peopleOps, []string{"made_in_dashboard"}, []string{"viewer"}, SourceApp, "projects:create"},
		{"an admin holds everything a role the app does not know may bring", admin, []string{"made_in_dashboard"}, []string{"viewer"}, SourceApp, ""},
		{"directory sync applies the IdP's mapping as it is", nil, []string{"admin"}, []string{"viewer"}, SourceDirectorySync, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, idp, audit := newAssigner(t, e, map[string][]string{"usr_alice": {"admin"}, "usr_target": tt.current})
			err := a.SetRoles(context.Background(), Change{
				OrgID: "org_1", Actor: "usr_actor", Target: "usr_target", Roles: tt.roles, Source: tt.source, ActorPermissions: tt.actor,
			})
			entries, lerr := audit.List(context.Background(), "org_1", 10)
			require.NoError(t, lerr)
			require.Len(t, entries, 1, "every attempt that reaches SetRoles is audited")
			if tt.wantMissing == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.roles, idp.roles["usr_target"])
				assert.Equal(t, OutcomeChanged, entries[0].Outcome)
				return
			}
			var denied *auth.DeniedError
			require.ErrorAs(t, err, &denied, "a 403")
			assert.Equal(t, tt.wantMissing, denied.Permission, "naming a permission the actor lacks")
			assert.Equal(t, tt.current, idp.roles["usr_target"], "a refused change changes nothing")
			assert.Equal(t, OutcomeRefused, entries[0].Outcome)
			assert.Equal(t, "not allowed: requires the "+string(tt.wantMissing)+" permission", entries[0].Reason)
			assert.Equal(t, tt.current, entries[0].OldRoles)
		})
	}
}

func TestARoleChangeIsAllOrNothingWhateverTheRequesterDoes(t *testing.T) {
	databasetest.Run(t, testARoleChangeIsAllOrNothingWhateverTheRequesterDoes)
}

func testARoleChangeIsAllOrNothingWhateverTheRequesterDoes(t *testing.T, e database.Engine) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	lost := errors.New("read tcp 127.0.0.1: connection reset by peer")

	tests := []struct {
		name        string
		leaveFirst  bool // the requester is gone before the change is sent
		idp         func(apply func(), leave context.CancelFunc) error
		wantApplied bool
	}{
		{
			name: "the requester leaves while the IdP applies the change",
			idp: func(apply func(), leave context.CancelFunc) error {
				leave()
				apply()
				return nil
			},
			wantApplied: true,
		},
		{
			name:        "the IdP applies the change but its answer is lost",
			idp:         func(apply func(), _ context.CancelFunc) error { apply(); return lost },
			wantApplied: true,
		},
		{
			name:        "the IdP's answer is lost and it did not apply the change",
			idp:         func(func(), context.CancelFunc) error { return lost },
			wantApplied: false,
		},
		{
			name:        "the requester left before the change was sent",
			leaveFirst:  true,
			wantApplied: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, idp, audit := newAssigner(t, e, map[string][]string{"usr_alice": {"admin"}, "usr_bob": {"admin"}})
			ctx, leave := context.WithCancel(context.Background())
			defer leave()
			if tt.leaveFirst {
				leave()
			}
			if tt.idp != nil {
				idp.update = func(apply func()) error { return tt.idp(apply, leave) }
			}
			before, err := a.leases.Now(context.Background()) // a session asked for its token then, by the database's clock
			require.NoError(t, err)

			err = a.SetRoles(ctx, Change{OrgID: "org_1", Actor: "usr_alice", Target: "usr_bob",
				Roles: []string{"viewer"}, Source: SourceApp, ActorPermissions: model.Effective(AdminRole)})

			entries, lerr := audit.List(context.Background(), "org_1", 10)
			require.NoError(t, lerr)
			require.Len(t, entries, 1, "the attempt is audited, even when its requester left")
			stamped := a.changes.ChangedAfter(context.Background(), "org_1", "usr_bob", before)
			if tt.wantApplied {
				require.NoError(t, err)
				assert.Equal(t, []string{"viewer"}, idp.roles["usr_bob"])
				assert.True(t, stamped, "the demoted member's old tokens stop counting")
				assert.Equal(t, OutcomeChanged, entries[0].Outcome)
				return
			}
			assert.Error(t, err)
			assert.Equal(t, []string{"admin"}, idp.roles["usr_bob"])
			assert.False(t, stamped)
			assert.Equal(t, OutcomeRefused, entries[0].Outcome)
			if tt.leaveFirst {
				assert.Equal(t, errAbandoned.Error(), entries[0].Reason)
			}
		})
	}
}

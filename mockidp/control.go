package mockidp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// The control plane's state and its Go API. Each exported method here has
// an HTTP twin under /_mock/ (control_http.go), so that a test in any
// language can do what a Go test does in-process.

// ErrNoUser is returned by the control methods for a user ID the mock does
// not know; the control plane answers it with 404.
var ErrNoUser = errors.New("no such user")

// ErrNotMember is returned for an organization the user does not belong
// to, or one the mock does not know; the control plane answers 404.
var ErrNotMember = errors.New("not a member of the organization")

// FieldError is a control request refused for one field, which it names;
// nothing was changed. The control plane answers it with 400.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// control holds what the control plane adds to a Server. Its own mutex
// guards faults and the request log; tamperLeft is guarded by Server.mu
// with the tamper it counts. Lock order: Server.mu before control.mu.
type control struct {
	model     *rbac.Model
	seedUsers []User // as configured (normalized), for Reset

	mu       sync.Mutex
	faults   []*faultState
	requests []LoggedRequest // newest last, at most maxLogged

	tamperLeft int // answers the pending tamper still applies to (Server.mu)
	hooks      *webhooks
}

func newControl(cfg Config) (*control, error) {
	hooks, err := newWebhooks(cfg.Webhook, cfg.Logger, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("mock idp: %w", err)
	}
	return &control{model: cfg.Model, hooks: hooks}, nil
}

// TamperTokens alters the next n authorization-code or refresh answers
// with t; TamperNextTokens is TamperTokens(1, t). n <= 0 clears it.
func (s *Server) TamperTokens(n int, t Tamper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper, s.ctl.tamperLeft = &t, n
	if n <= 0 {
		s.tamper = nil
	}
}

// UserUpdate changes the fields of a user that are not nil.
type UserUpdate struct {
	Email      *string
	Name       *string
	GivenName  *string
	FamilyName *string
	Roles      []string // nil: unchanged; empty: no role at all
	// OrgID names the membership whose Roles change; it may be empty for
	// a member of one organization only.
	OrgID string
}

// CreateUser adds a user, as a directory provisioning one would; an empty
// ID gets a new usr_ ID and an empty organization name the name the
// organization has already. The user holds either OrgID and Roles or
// Memberships. It returns the user as stored.
func (s *Server) CreateUser(u User) (User, error) {
	u, _, err := s.createUser(u)
	return u, err
}

// createUser is CreateUser; done closes once its webhook is delivered.
func (s *Server) createUser(u User) (User, <-chan struct{}, error) {
	u = u.clone()
	if err := u.normalize(); err != nil {
		return User{}, nil, err
	}
	s.mu.Lock()
	if u.ID == "" {
		u.ID = newID("usr_")
	}
	err := s.checkNewUser(&u)
	if err == nil {
		s.users = append(s.users, u)
	}
	s.mu.Unlock()
	if err != nil {
		return User{}, nil, err
	}
	s.log.Info("mock idp created a user", "user", u.ID, "orgs", u.orgIDs())
	done := s.ctl.hooks.enqueue(directoryEvents(EventDirectoryUserCreated, u)...)
	return u.clone(), done, nil
}

// checkNewUser validates u against the users there are; s.mu is held.
func (s *Server) checkNewUser(u *User) error {
	switch {
	case !strings.HasPrefix(u.ID, "usr_"):
		return &FieldError{"id", "must start with usr_, as Scalekit's user IDs do"}
	case len(u.Memberships) == 0:
		return &FieldError{"organization_id", "is required"}
	case !strings.Contains(u.Email, "@"):
		return &FieldError{"email", "must be an email address"}
	}
	for _, o := range s.users {
		if o.ID == u.ID {
			return &FieldError{"id", fmt.Sprintf("user %q exists already", u.ID)}
		}
		if strings.EqualFold(o.Email, u.Email) {
			return &FieldError{"email", fmt.Sprintf("%q is taken by %s: login_hint could not tell them apart", u.Email, o.ID)}
		}
	}
	for i := range u.Memberships {
		m := &u.Memberships[i]
		// A user of one organization keeps the field names of that form.
		nameField, rolesField := "organization_name", "roles"
		if len(u.Memberships) > 1 {
			nameField, rolesField = fmt.Sprintf("memberships[%d].organization_name", i), fmt.Sprintf("memberships[%d].roles", i)
		}
		if m.OrgName == "" {
			m.OrgName = s.orgName(m.OrgID)
		}
		if m.OrgName == "" {
			return &FieldError{nameField, "is required for a new organization"}
		}
		if err := s.checkRoles(m.OrgID, m.Roles); err != nil {
			return &FieldError{rolesField, err.Error()}
		}
	}
	u.mirror()
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	return nil
}

// orgName is the name of an organization some user belongs to, or "" for
// an organization the mock does not know. The caller holds s.mu.
func (s *Server) orgName(orgID string) string {
	for _, u := range s.users {
		if j := u.memberIndex(orgID); j >= 0 {
			return u.Memberships[j].OrgName
		}
	}
	return ""
}

// UpdateUser changes a user's profile or roles, as a change in the
// organization's directory does: it sends the directory's user_updated
// event and, when the roles changed, the membership update. Roles change
// in the membership of up.OrgID, which a member of several organizations
// must name; a change of roles alone is told to that organization only.
func (s *Server) UpdateUser(id string, up UserUpdate) (User, error) {
	u, _, err := s.updateUser(id, up)
	return u, err
}

// updateUser is UpdateUser; done closes once its webhooks are delivered.
func (s *Server) updateUser(id string, up UserUpdate) (User, <-chan struct{}, error) {
	if up.OrgID != "" && up.Roles == nil {
		return User{}, nil, &FieldError{"organization_id", "names the membership whose roles change: send roles with it"}
	}
	s.mu.Lock()
	i, j, err := s.membership(id, up.OrgID)
	if errors.Is(err, ErrNoUser) || err != nil && up.Roles != nil {
		s.mu.Unlock()
		return User{}, nil, fmt.Errorf("update user: %w", err)
	}
	if err != nil {
		// A profile change needs no organization: find the user alone.
		i, j = slices.IndexFunc(s.users, func(u User) bool { return u.ID == id }), 0
	}
	u := s.users[i].clone()
	before := u.clone()
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.Email, up.Email)
	set(&u.Name, up.Name)
	set(&u.GivenName, up.GivenName)
	set(&u.FamilyName, up.FamilyName)
	if up.Roles != nil {
		u.Memberships[j].Roles = slices.Clone(up.Roles)
		u.mirror()
	}
	err = s.checkUpdate(i, u)
	if err == nil {
		s.users[i] = u
	}
	s.mu.Unlock()
	if err != nil {
		return User{}, nil, err
	}
	var events []event
	if up.Email == nil && up.Name == nil && up.GivenName == nil && up.FamilyName == nil && up.Roles != nil {
		// Nothing but one organization's roles: the other directories
		// have nothing to hear.
		events = append(events, directoryEvent(EventDirectoryUserUpdated, u, u.Memberships[j]))
	} else {
		events = directoryEvents(EventDirectoryUserUpdated, u)
	}
	if up.Roles != nil && !slices.Equal(before.Memberships[j].Roles, u.Memberships[j].Roles) {
		events = append(events, membershipEvent(u, u.Memberships[j].OrgID))
	}
	return u.clone(), s.ctl.hooks.enqueue(events...), nil
}

// checkUpdate validates the new version u of user i; s.mu is held.
func (s *Server) checkUpdate(i int, u User) error {
	if !strings.Contains(u.Email, "@") {
		return &FieldError{"email", "must be an email address"}
	}
	for j, o := range s.users {
		if j != i && strings.EqualFold(o.Email, u.Email) {
			return &FieldError{"email", fmt.Sprintf("%q is taken by %s", u.Email, o.ID)}
		}
	}
	for _, m := range u.Memberships {
		if err := s.checkRoles(m.OrgID, m.Roles); err != nil {
			return &FieldError{"roles", err.Error()}
		}
	}
	return nil
}

// DeleteUser removes a user and revokes their sign-ins, as removing them
// from the directory does; it sends the directory's user_deleted event.
func (s *Server) DeleteUser(id string) error {
	_, err := s.deleteUser(id)
	return err
}

// deleteUser is DeleteUser; done closes once its webhook is delivered.
func (s *Server) deleteUser(id string) (<-chan struct{}, error) {
	s.mu.Lock()
	i := slices.IndexFunc(s.users, func(u User) bool { return u.ID == id })
	if i < 0 {
		s.mu.Unlock()
		return nil, fmt.Errorf("delete user %q: %w", id, ErrNoUser)
	}
	u := s.users[i]
	s.users = slices.Delete(s.users, i, i+1)
	s.revokeUserLocked(id)
	s.mu.Unlock()
	s.log.Info("mock idp deleted a user", "user", id)
	return s.ctl.hooks.enqueue(directoryEvents(EventDirectoryUserDeleted, u)...), nil
}

// RevokeUser revokes every refresh token and unused authorization code of
// a user, as "sign out everywhere" at the IdP does; tokens already issued
// stay valid until they expire, as at any provider. It returns how many
// sign-ins it ended.
func (s *Server) RevokeUser(id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.users, func(u User) bool { return u.ID == id }) {
		return 0, fmt.Errorf("revoke user %q: %w", id, ErrNoUser)
	}
	return s.revokeUserLocked(id), nil
}

// revokeUserLocked revokes a user's families and codes; s.mu is held.
func (s *Server) revokeUserLocked(id string) int {
	return s.revokeLocked(func(userID, _ string) bool { return userID == id })
}

// revokeLocked revokes the families and unused codes whose user and
// organization match, and returns how many sign-ins it ended; s.mu is
// held.
func (s *Server) revokeLocked(match func(userID, orgID string) bool) int {
	ended := map[*family]bool{}
	for _, rt := range s.grants.refresh {
		if match(rt.family.userID, rt.family.orgID) && !rt.family.revoked {
			rt.family.revoked = true
			ended[rt.family] = true
		}
	}
	for k, c := range s.grants.codes {
		if match(c.userID, c.orgID) && !c.used {
			delete(s.grants.codes, k)
		}
	}
	return len(ended)
}

// RetireKey removes a key from the published JWKS: tokens it signed stop
// verifying, as after a provider ends a rollover. The current signing key
// cannot be retired (rotate first).
func (s *Server) RetireKey(kid string) error {
	return s.keys.retire(kid)
}

// Reset brings the mock back to its configured state: the users and roles
// it started with, the rbac model's catalog, no codes or refresh tokens,
// no tamper, fault or injected management failure, an empty request log
// and webhook delivery list. The signing keys and the webhook target stay,
// so a relying party's cached JWKS stays good across tests.
func (s *Server) Reset() {
	s.mu.Lock()
	s.users = s.users[:0]
	for _, u := range s.ctl.seedUsers {
		s.users = append(s.users, u.clone())
	}
	s.catalog = newCatalog(s.ctl.model, s.now())
	s.grants = newGrants()
	s.tamper, s.ctl.tamperLeft = nil, 0
	s.mgmt.failLeft = 0
	s.mu.Unlock()
	s.ctl.mu.Lock()
	s.ctl.faults, s.ctl.requests = nil, nil
	s.ctl.mu.Unlock()
	s.ctl.hooks.clearDeliveries()
	s.log.Info("mock idp reset to its configured state")
}

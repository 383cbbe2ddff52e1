package mockidp

import (
	"errors"
	"fmt"
	"slices"
)

// Memberships: a user may belong to several organizations, with roles in
// each. These are the control plane's verbs for them; role changes within
// a membership are SetMembershipRoles (server.go).

// Errors of the membership verbs; the control plane answers ErrNoOrganization
// with 404 and the other two with 409.
var (
	ErrNoOrganization = errors.New("no such organization")
	ErrAlreadyMember  = errors.New("already a member of the organization")
	ErrLastMembership = errors.New("the user's only organization")
)

// AddMembership makes a user a member of one more organization, one the
// mock knows, with m.Roles there; nil roles mean the default member role,
// as for someone who accepts an invitation. Tokens for the user's other
// organizations do not change. A configured webhook gets
// user.organization_membership_created.
func (s *Server) AddMembership(userID string, m Membership) (User, error) {
	u, done, err := s.addMembership(userID, m)
	if err == nil {
		<-done
	}
	return u, err
}

// addMembership is AddMembership; done closes once its webhook is delivered.
func (s *Server) addMembership(userID string, m Membership) (User, <-chan struct{}, error) {
	m.Roles = slices.Clone(m.Roles)
	if m.Roles == nil {
		_, member := s.DefaultRoles()
		m.Roles = []string{member}
	}
	if m.OrgID == "" {
		return User{}, nil, &FieldError{"organization_id", "is required"}
	}
	s.mu.Lock()
	i := slices.IndexFunc(s.users, func(u User) bool { return u.ID == userID })
	var err error
	switch name := s.orgName(m.OrgID); {
	case i < 0:
		err = fmt.Errorf("add membership: user %q: %w", userID, ErrNoUser)
	case name == "":
		err = fmt.Errorf("add membership: organization %q: %w", m.OrgID, ErrNoOrganization)
	case s.users[i].memberIndex(m.OrgID) >= 0:
		err = fmt.Errorf("add membership: %s in %s: %w", userID, m.OrgID, ErrAlreadyMember)
	default:
		m.OrgName = name // the organization's, whatever the caller wrote
		if cerr := s.checkRoles(m.OrgID, m.Roles); cerr != nil {
			err = &FieldError{"roles", cerr.Error()}
		}
	}
	if err != nil {
		s.mu.Unlock()
		return User{}, nil, err
	}
	s.users[i].Memberships = append(s.users[i].Memberships, m)
	u := s.users[i].clone()
	s.mu.Unlock()
	s.log.Info("mock idp added a membership", "user", userID, "org", m.OrgID, "roles", m.Roles)
	return u, s.ctl.hooks.enqueue(membershipEventOf(EventMembershipCreated, u, m.OrgID)), nil
}

// RemoveMembership takes a user out of one organization and revokes their
// sign-ins to it (refresh tokens and unused codes); sign-ins to their other
// organizations go on. A user's only membership cannot be removed: delete
// the user instead. A configured webhook gets
// user.organization_membership_deleted.
func (s *Server) RemoveMembership(userID, orgID string) (User, error) {
	u, done, err := s.removeMembership(userID, orgID)
	if err == nil {
		<-done
	}
	return u, err
}

// removeMembership is RemoveMembership; done closes once its webhook is
// delivered.
func (s *Server) removeMembership(userID, orgID string) (User, <-chan struct{}, error) {
	s.mu.Lock()
	i, j, err := s.membership(userID, orgID)
	if err == nil && len(s.users[i].Memberships) == 1 {
		err = fmt.Errorf("remove membership: %s in %s: %w", userID, orgID, ErrLastMembership)
	}
	if err != nil {
		s.mu.Unlock()
		return User{}, nil, err
	}
	s.users[i].Memberships = slices.Delete(s.users[i].Memberships, j, j+1)
	s.users[i].mirror()
	u := s.users[i].clone()
	ended := s.revokeLocked(func(uid, org string) bool { return uid == userID && org == orgID })
	s.mu.Unlock()
	s.log.Info("mock idp removed a membership", "user", userID, "org", orgID, "revoked_sessions", ended)
	return u, s.ctl.hooks.enqueue(membershipEventOf(EventMembershipDeleted, u, orgID)), nil
}

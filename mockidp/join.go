package mockidp

import (
	"errors"
	"fmt"
	"strings"
)

// Join adds a new user to an existing organization, as when someone accepts
// an invitation. Like Scalekit, the mock gives them the default member role
// (rbac.seed.json's default_member_role, or whatever the seed command set).
func (s *Server) Join(orgID string) (User, error) {
	_, member := s.DefaultRoles()
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.orgName(orgID)
	if name == "" {
		return User{}, fmt.Errorf("mock idp: organization %q: %w", orgID, ErrNoOrganization)
	}
	u := s.newUser(orgID, name, member)
	s.users = append(s.users, u)
	return u.clone(), nil
}

// CreateOrganization adds a new organization whose creator, a new user, gets
// the default creator role (admin, as on Scalekit).
func (s *Server) CreateOrganization(name string) (User, error) {
	if strings.TrimSpace(name) == "" {
		return User{}, errors.New("mock idp: an organization needs a name")
	}
	creator, _ := s.DefaultRoles()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.newUser(newID("org_"), name, creator)
	s.users = append(s.users, u)
	return u.clone(), nil
}

// newUser makes a user numbered after those already there; s.mu is held.
func (s *Server) newUser(orgID, orgName, role string) User {
	n := len(s.users) + 1
	u := User{
		ID:          newID("usr_"),
		Email:       fmt.Sprintf("newcomer%d@example.com", n),
		Name:        fmt.Sprintf("Newcomer %d", n),
		GivenName:   "Newcomer",
		FamilyName:  fmt.Sprint(n),
		Memberships: []Membership{{OrgID: orgID, OrgName: orgName, Roles: []string{role}}},
	}
	u.mirror()
	return u
}

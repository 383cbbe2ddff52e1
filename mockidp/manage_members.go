package mockidp

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Organization members and their roles (seed document 003).

// userJSON is a user as the users endpoints answer it.
type userJSON struct {
	ID          string           `json:"id"`
	Email       string           `json:"email"`
	Memberships []membershipJSON `json:"memberships"`
	UserProfile userProfileJSON  `json:"user_profile"`
}

type userProfileJSON struct {
	ID         string `json:"id"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	Name       string `json:"name"`
}

type membershipJSON struct {
	OrganizationID   string        `json:"organization_id"`
	MembershipStatus string        `json:"membership_status"`
	Roles            []roleRefJSON `json:"roles"`
	Name             string        `json:"name"`
	DisplayName      string        `json:"display_name"`
	Permissions      []string      `json:"permissions"`
}

type roleRefJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// roleRefs names the roles of a member of orgID with their IDs. The
// caller holds s.mu.
func (s *Server) roleRefs(orgID string, roles []string) []roleRefJSON {
	refs := []roleRefJSON{}
	for _, name := range roles {
		ref := roleRefJSON{Name: name}
		if rec, ok := s.catalog.role(orgID, name); ok {
			ref.ID, ref.DisplayName = rec.id, rec.displayName
		}
		refs = append(refs, ref)
	}
	return refs
}

// userJSON renders u with every membership, as Scalekit's user object
// does: a reader picks the organization it asked about. The caller holds
// s.mu.
func (s *Server) userJSON(u User) userJSON {
	ms := make([]membershipJSON, 0, len(u.Memberships))
	for _, m := range u.Memberships {
		ms = append(ms, membershipJSON{
			OrganizationID:   m.OrgID,
			MembershipStatus: "ACTIVE",
			Roles:            s.roleRefs(m.OrgID, m.Roles),
			Name:             m.OrgName,
			DisplayName:      m.OrgName,
			Permissions:      s.catalog.effective(m.OrgID, m.Roles),
		})
	}
	return userJSON{
		ID:          u.ID,
		Email:       u.Email,
		Memberships: ms,
		UserProfile: userProfileJSON{ID: "usp_" + strings.TrimPrefix(u.ID, "usr_"), GivenName: u.GivenName, FamilyName: u.FamilyName, Name: u.Name},
	}
}

// member returns the indexes of a user (i) and of their membership of org
// (j), or a not-found error. The caller holds s.mu.
func (s *Server) member(org, userID string) (i, j int, err error) {
	i, j, err = s.membership(userID, org)
	if err != nil || org == "" {
		return 0, 0, notFound("User %q is not a member of organization %q.", userID, org)
	}
	return i, j, nil
}

// getUser is GET /users/{user}: the user with every membership, which is
// how a relying party learns the organizations a person may switch to and
// their names.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("user")
	for _, u := range s.users {
		if u.ID == id {
			writeManaged(w, http.StatusOK, map[string]userJSON{"user": s.userJSON(u)})
			return nil
		}
	}
	return notFound("User %q not found.", id)
}

// listOrgUsers is GET /organizations/{org}/users, paged, in the order the
// users were configured.
func (s *Server) listOrgUsers(w http.ResponseWriter, r *http.Request) error {
	size, offset, err := pageParams(r.URL.Query().Get("page_size"), r.URL.Query().Get("page_token"), 10)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org, err := s.scope(r)
	if err != nil {
		return err
	}
	var all []userJSON
	for _, u := range s.users {
		if u.memberIndex(org) >= 0 {
			all = append(all, s.userJSON(u))
		}
	}
	page, next := paginate(all, size, offset)
	writeManaged(w, http.StatusOK, struct {
		Users         []userJSON `json:"users"`
		NextPageToken string     `json:"next_page_token"`
		PrevPageToken string     `json:"prev_page_token"`
		TotalSize     int        `json:"total_size"`
	}{page, next, "", len(all)})
	return nil
}

// listMemberRoles is GET /organizations/{org}/users/{user}/roles.
func (s *Server) listMemberRoles(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, j, err := s.member(r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		return err
	}
	m := s.users[i].Memberships[j]
	writeManaged(w, http.StatusOK, map[string][]roleRefJSON{"roles": s.roleRefs(m.OrgID, m.Roles)})
	return nil
}

// updateMembership is PATCH /memberships/organizations/{org}/users/{user}
// with {"roles":[{"name":...}]}: it replaces the member's roles in that
// organization only, as SetMembershipRoles does, so their next token for
// it carries the new ones and their tokens for other organizations keep
// theirs.
func (s *Server) updateMembership(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Roles []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"display_name"`
		} `json:"roles"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	var v validator
	if len(b.Roles) == 0 {
		v = append(v, fieldViolation{"roles", "value must contain at least 1 item(s)", "repeated.min_items"})
	}
	names := make([]string, 0, len(b.Roles))
	for i, role := range b.Roles {
		v.pattern(fmt.Sprintf("roles[%d].name", i), role.Name, roleNamePattern)
		if !slices.Contains(names, role.Name) {
			names = append(names, role.Name)
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, j, err := s.member(r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		return err
	}
	org := s.users[i].Memberships[j].OrgID
	for k, name := range names {
		if _, ok := s.catalog.role(org, name); !ok {
			return invalidArgument(fmt.Sprintf("Role %q does not exist in this organization.", name),
				fieldViolation{fmt.Sprintf("roles[%d].name", k), "must name an existing role", "exists"})
		}
	}
	s.users[i].Memberships[j].Roles = names
	s.users[i].mirror()
	s.log.Info("mock idp changed a member's roles", "user", s.users[i].ID, "org", org, "roles", names)
	// As at Scalekit, a role change made anywhere sends the membership
	// update: notifying (webhooks.go) sends it once the lock is released.
	writeManaged(w, http.StatusOK, map[string]userJSON{"user": s.userJSON(s.users[i])})
	return nil
}

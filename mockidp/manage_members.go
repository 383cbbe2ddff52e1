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

// roleRefs names u's roles with their IDs. The caller holds s.mu.
func (s *Server) roleRefs(u User) []roleRefJSON {
	refs := []roleRefJSON{}
	for _, name := range u.Roles {
		ref := roleRefJSON{Name: name}
		if rec, ok := s.catalog.role(u.OrgID, name); ok {
			ref.ID, ref.DisplayName = rec.id, rec.displayName
		}
		refs = append(refs, ref)
	}
	return refs
}

// userJSON renders u as a member of their organization. The caller holds
// s.mu.
func (s *Server) userJSON(u User) userJSON {
	return userJSON{
		ID:    u.ID,
		Email: u.Email,
		Memberships: []membershipJSON{{
			OrganizationID:   u.OrgID,
			MembershipStatus: "ACTIVE",
			Roles:            s.roleRefs(u),
			Name:             u.OrgName,
			DisplayName:      u.OrgName,
			Permissions:      s.catalog.effective(u.OrgID, u.Roles),
		}},
		UserProfile: userProfileJSON{ID: "usp_" + strings.TrimPrefix(u.ID, "usr_"), GivenName: u.GivenName, FamilyName: u.FamilyName, Name: u.Name},
	}
}

// member returns the index of a member of org, or a not-found error. The
// caller holds s.mu.
func (s *Server) member(org, userID string) (int, error) {
	i := slices.IndexFunc(s.users, func(u User) bool { return u.ID == userID && u.OrgID == org })
	if i < 0 {
		return 0, notFound("User %q is not a member of organization %q.", userID, org)
	}
	return i, nil
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
		if u.OrgID == org {
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
	i, err := s.member(r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		return err
	}
	writeManaged(w, http.StatusOK, map[string][]roleRefJSON{"roles": s.roleRefs(s.users[i])})
	return nil
}

// updateMembership is PATCH /memberships/organizations/{org}/users/{user}
// with {"roles":[{"name":...}]}: it replaces the member's roles, as
// SetUserRoles does, so their next token carries the new ones.
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
	i, err := s.member(r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		return err
	}
	for j, name := range names {
		if _, ok := s.catalog.role(s.users[i].OrgID, name); !ok {
			return invalidArgument(fmt.Sprintf("Role %q does not exist in this organization.", name),
				fieldViolation{fmt.Sprintf("roles[%d].name", j), "must name an existing role", "exists"})
		}
	}
	s.users[i].Roles = names
	s.log.Info("mock idp changed a member's roles", "user", s.users[i].ID, "org", s.users[i].OrgID, "roles", names)
	// As at Scalekit, a role change made anywhere sends the membership
	// update: notifying (webhooks.go) sends it once the lock is released.
	writeManaged(w, http.StatusOK, map[string]userJSON{"user": s.userJSON(s.users[i])})
	return nil
}

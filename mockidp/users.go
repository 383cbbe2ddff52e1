package mockidp

import (
	"fmt"
	"slices"
)

// User is a person who can sign in at the mock IdP, with their memberships:
// the organizations they belong to and their roles in each. A sign-in
// names one membership, and its tokens carry that organization's ID,
// roles and permissions only.
type User struct {
	ID         string // "usr_..."
	Email      string
	Name       string
	GivenName  string
	FamilyName string

	// OrgID, OrgName and Roles are the first membership, so that code
	// written for users of one organization keeps working. On input
	// (Config.Users, CreateUser) they make the only membership when
	// Memberships is empty; on output they mirror Memberships[0].
	OrgID   string // "org_..."
	OrgName string
	Roles   []string // role names from rbac.seed.json

	// Memberships lists every organization the user belongs to, in the
	// order the chooser shows them; the mock keeps at least one.
	Memberships []Membership
}

// Membership is a user's place in one organization: the roles they hold
// there, and nowhere else.
type Membership struct {
	OrgID   string
	OrgName string
	Roles   []string
}

// Membership returns the user's membership of orgID, if any.
func (u User) Membership(orgID string) (Membership, bool) {
	i := u.memberIndex(orgID)
	if i < 0 {
		return Membership{}, false
	}
	m := u.Memberships[i]
	m.Roles = slices.Clone(m.Roles)
	return m, true
}

// memberIndex is the index of orgID in u.Memberships, or -1.
func (u User) memberIndex(orgID string) int {
	return slices.IndexFunc(u.Memberships, func(m Membership) bool { return m.OrgID == orgID })
}

// orgIDs lists the organizations of u's memberships.
func (u User) orgIDs() []string {
	ids := make([]string, len(u.Memberships))
	for i, m := range u.Memberships {
		ids[i] = m.OrgID
	}
	return ids
}

// normalize turns the one-organization form (OrgID, Roles) into
// Memberships, and refuses a user whose two forms disagree, so that
// "which organization did you mean" never has two answers.
func (u *User) normalize() error {
	if len(u.Memberships) == 0 {
		if u.OrgID != "" {
			u.Memberships = []Membership{{OrgID: u.OrgID, OrgName: u.OrgName, Roles: u.Roles}}
		}
	} else if u.OrgID != "" && u.OrgID != u.Memberships[0].OrgID || u.Roles != nil && !slices.Equal(u.Roles, u.Memberships[0].Roles) {
		return &FieldError{"memberships", "give either organization_id and roles, or memberships, not both"}
	}
	seen := map[string]bool{}
	for i := range u.Memberships {
		m := &u.Memberships[i]
		switch {
		case m.OrgID == "":
			return &FieldError{fmt.Sprintf("memberships[%d].organization_id", i), "is required"}
		case seen[m.OrgID]:
			return &FieldError{fmt.Sprintf("memberships[%d].organization_id", i), fmt.Sprintf("%q is listed twice", m.OrgID)}
		}
		seen[m.OrgID] = true
		if m.Roles == nil {
			m.Roles = []string{}
		}
	}
	u.mirror()
	return nil
}

// mirror copies the first membership into OrgID, OrgName and Roles; every
// change of Memberships ends with it.
func (u *User) mirror() {
	if len(u.Memberships) == 0 {
		u.OrgID, u.OrgName, u.Roles = "", "", nil
		return
	}
	first := u.Memberships[0]
	u.OrgID, u.OrgName, u.Roles = first.OrgID, first.OrgName, slices.Clone(first.Roles)
}

// Client is an OAuth client (an application) registered at the mock IdP.
type Client struct {
	ID, Secret             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
}

// The demo client's credentials, the defaults of SCALEKIT_CLIENT_ID and
// SCALEKIT_CLIENT_SECRET when no IdP is configured. They are public on
// purpose: the mock IdP only ever runs on a developer's machine.
const (
	DemoClientID     = "skc_demo_client"
	DemoClientSecret = "demo-secret-not-for-production"
)

// The demo organizations.
const (
	demoAcme, demoAcmeName     = "org_100000000000000001", "Acme Corp"
	demoGlobex, demoGlobexName = "org_200000000000000001", "Globex Inc"
)

// DemoUsers returns the demo organizations' members, each in one
// organization; it is the default of Config.Users. The IDs are fixed so
// that the README, the tests and a developer's bookmarks stay valid across
// restarts.
func DemoUsers() []User {
	return []User{
		// Alice created Acme, so she got the default creator role.
		{ID: "usr_100000000000000001", Email: "alice@acme.example", Name: "Alice Admin", GivenName: "Alice", FamilyName: "Admin",
			OrgID: demoAcme, OrgName: demoAcmeName, Roles: []string{"admin"}},
		{ID: "usr_100000000000000002", Email: "bob@acme.example", Name: "Bob Manager", GivenName: "Bob", FamilyName: "Manager",
			OrgID: demoAcme, OrgName: demoAcmeName, Roles: []string{"project_manager"}},
		{ID: "usr_100000000000000003", Email: "carol@acme.example", Name: "Carol Member", GivenName: "Carol", FamilyName: "Member",
			OrgID: demoAcme, OrgName: demoAcmeName, Roles: []string{"team_member"}},
		{ID: "usr_100000000000000004", Email: "dave@acme.example", Name: "Dave Viewer", GivenName: "Dave", FamilyName: "Viewer",
			OrgID: demoAcme, OrgName: demoAcmeName, Roles: []string{"viewer"}},
		{ID: "usr_200000000000000001", Email: "erin@globex.example", Name: "Erin Admin", GivenName: "Erin", FamilyName: "Admin",
			OrgID: demoGlobex, OrgName: demoGlobexName, Roles: []string{"admin"}},
		// Grace joined Globex later, so she has the default member role.
		{ID: "usr_200000000000000002", Email: "grace@globex.example", Name: "Grace Newcomer", GivenName: "Grace", FamilyName: "Newcomer",
			OrgID: demoGlobex, OrgName: demoGlobexName, Roles: []string{"member"}},
	}
}

// DemoConsultant returns Casey, the demo's member of two organizations: a
// project manager at Acme and a viewer at Globex. Signing in as Casey asks
// which organization, and each token carries that organization's roles
// only.
func DemoConsultant() User {
	u := User{ID: "usr_300000000000000001", Email: "casey@consulting.example", Name: "Casey Consultant", GivenName: "Casey", FamilyName: "Consultant",
		Memberships: []Membership{
			{OrgID: demoAcme, OrgName: demoAcmeName, Roles: []string{"project_manager"}},
			{OrgID: demoGlobex, OrgName: demoGlobexName, Roles: []string{"viewer"}},
		}}
	u.mirror()
	return u
}

// DemoCast returns the whole demo cast, DemoUsers and DemoConsultant: what
// cmd/server and cmd/mockidp sign in by default. Config.Users defaults to
// DemoUsers alone, so that a suite written for one organization per user
// meets no organization chooser.
func DemoCast() []User {
	return append(DemoUsers(), DemoConsultant())
}

// DemoClient returns the client the app uses when it runs against the mock
// IdP on its default address.
func DemoClient() Client {
	return Client{
		ID:     DemoClientID,
		Secret: DemoClientSecret,
		RedirectURIs: []string{
			"http://localhost:8080/auth/callback",
			"http://127.0.0.1:8080/auth/callback",
		},
		PostLogoutRedirectURIs: []string{
			"http://localhost:8080/",
			"http://127.0.0.1:8080/",
		},
	}
}

// clone returns a copy of u that shares no slice with it, so callers of
// Server.Users cannot change the server's state behind its mutex.
func (u User) clone() User {
	u.Roles = slices.Clone(u.Roles)
	u.Memberships = slices.Clone(u.Memberships)
	for i := range u.Memberships {
		u.Memberships[i].Roles = slices.Clone(u.Memberships[i].Roles)
	}
	return u
}

package mockidp

import "slices"

// User is a person who can sign in at the mock IdP. The fields are the ones
// Scalekit puts into tokens for a member of one organization.
type User struct {
	ID         string // "usr_..."
	Email      string
	Name       string
	GivenName  string
	FamilyName string
	OrgID      string // "org_..."
	OrgName    string
	Roles      []string // role names from rbac.seed.json
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

// DemoUsers returns the demo organizations' members. The IDs are fixed so
// that the README, the tests and a developer's bookmarks stay valid across
// restarts.
func DemoUsers() []User {
	const (
		acme, acmeName     = "org_100000000000000001", "Acme Corp"
		globex, globexName = "org_200000000000000001", "Globex Inc"
	)
	return []User{
		// Alice created Acme, so she got the default creator role.
		{ID: "usr_100000000000000001", Email: "alice@acme.example", Name: "Alice Admin", GivenName: "Alice", FamilyName: "Admin",
			OrgID: acme, OrgName: acmeName, Roles: []string{"admin"}},
		{ID: "usr_100000000000000002", Email: "bob@acme.example", Name: "Bob Manager", GivenName: "Bob", FamilyName: "Manager",
			OrgID: acme, OrgName: acmeName, Roles: []string{"project_manager"}},
		{ID: "usr_100000000000000003", Email: "carol@acme.example", Name: "Carol Member", GivenName: "Carol", FamilyName: "Member",
			OrgID: acme, OrgName: acmeName, Roles: []string{"team_member"}},
		{ID: "usr_100000000000000004", Email: "dave@acme.example", Name: "Dave Viewer", GivenName: "Dave", FamilyName: "Viewer",
			OrgID: acme, OrgName: acmeName, Roles: []string{"viewer"}},
		{ID: "usr_200000000000000001", Email: "erin@globex.example", Name: "Erin Admin", GivenName: "Erin", FamilyName: "Admin",
			OrgID: globex, OrgName: globexName, Roles: []string{"admin"}},
		// Grace joined Globex later, so she has the default member role.
		{ID: "usr_200000000000000002", Email: "grace@globex.example", Name: "Grace Newcomer", GivenName: "Grace", FamilyName: "Newcomer",
			OrgID: globex, OrgName: globexName, Roles: []string{"member"}},
	}
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
	return u
}

package app

import (
	"net/http"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/projects"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/session"
	"github.com/scalekit-samples/go-rbac-projects/tasks"
)

// Route is one line of the route table: a method and path, the gate a
// caller must pass, and the handler.
type Route struct {
	Method  string
	Pattern string
	Gate    auth.Gate
	Handle  func(http.ResponseWriter, *http.Request) error
	// Refused, if not nil, is told of each refusal of a signed-in caller
	// (by the gate or the cross-site check), with the reason in words.
	Refused func(r *http.Request, reason string)
}

// Routes is the app's whole authorization policy, one line per route, in
// groups that differ in how a caller proves who they are and in how
// errors are answered. Browser pages and the JSON API share the gates.
type Routes struct {
	Pages  []Route // the session cookie; forms must come from this site; errors are pages
	SignIn []Route // signing in and out: the session is read by the handlers themselves
	API    []Route // Authorization: Bearer <access token>; errors are JSON
	Signed []Route // server to server: the sender signs each request; errors are JSON
}

// All returns every route of every group.
func (t Routes) All() []Route {
	var all []Route
	for _, g := range [][]Route{t.Pages, t.SignIn, t.API, t.Signed} {
		all = append(all, g...)
	}
	return all
}

// The gates that more than one line or page uses, named once. The pages
// use them to hide what a viewer cannot do; these lines are what the
// server enforces.
var (
	// canAssignRoles is the rule of seed document 003, in names Scalekit
	// accepts: the admin role, or the roles:assign permission.
	canAssignRoles  = auth.AnyOf(auth.Role(members.AdminRole), auth.Need(rbac.RolesAssign))
	canReadProjects = auth.Need(rbac.ProjectsRead)
	canReadMembers  = auth.Need(rbac.MembersRead)
)

// navigation is the layout's menu: each link is shown to the viewers its
// gate lets through, the same gate as the page it leads to.
var navigation = []render.Link{
	{Label: "Projects", Path: "/projects", Gate: canReadProjects},
	{Label: "Members", Path: "/members", Gate: canReadMembers},
	{Label: "Audit", Path: "/audit", Gate: canAssignRoles},
	{Label: "My access", Path: "/me", Gate: auth.SignedIn},
}

// routeTable lists the routes. Handlers scope their data to the caller's
// organization (in the SQL): another organization's id is not found.
func (a *App) routeTable(rp *session.RelyingParty, orgs *orgDirectory, ph *projects.Handler, th *tasks.Handler, mh *members.Handler, wh *members.Webhook) Routes {
	return Routes{
		Pages: []Route{
			{"GET", "/", auth.Public, a.home, nil},
			{"GET", "/me", auth.SignedIn, a.me, nil},
			{"GET", "/projects", canReadProjects, ph.List, nil},
			{"POST", "/projects", auth.Need(rbac.ProjectsCreate), ph.Create, nil},
			{"GET", "/projects/{id}", canReadProjects, ph.Show, nil},
			{"POST", "/projects/{id}", auth.Need(rbac.ProjectsUpdate), ph.Update, nil},
			{"POST", "/projects/{id}/delete", auth.Need(rbac.ProjectsDelete), ph.Delete, nil},
			{"POST", "/projects/{id}/tasks", auth.Need(rbac.TasksCreate), ph.CreateTask, nil},
			{"POST", "/tasks/{id}/assign", auth.Need(rbac.TasksAssign), th.Assign, nil},
			{"POST", "/tasks/{id}/done", auth.Need(rbac.TasksUpdate), th.Done, nil},
			{"GET", "/members", canReadMembers, mh.List, nil},
			// Refused role changes reach the audit log like granted ones.
			{"POST", "/members/{userID}/role", canAssignRoles, mh.SetRole, mh.SetRoleRefused},
			{"GET", "/audit", canAssignRoles, mh.Audit, nil},
			{"GET", "/healthz", auth.Public, health, nil},
			// A new sign-in into another of the user's organizations; the
			// session is replaced only when the IdP grants it.
			{"POST", "/switch-organization", auth.SignedIn, a.switchOrganization(orgs, rp), nil},
		},
		SignIn: []Route{
			{"GET", "/login", auth.Public, rp.Login, nil},
			{"GET", "/auth/callback", auth.Public, rp.Callback, nil},
			// Signing out needs no principal, and must not wait on a token
			// refresh that a down IdP would fail.
			{"POST", "/logout", auth.Public, rp.Logout, nil},
		},
		API: []Route{
			{"GET", "/api/me", auth.SignedIn, a.apiMe, nil},
			{"GET", "/api/projects", canReadProjects, ph.APIList, nil},
			{"POST", "/api/projects", auth.Need(rbac.ProjectsCreate), ph.APICreate, nil},
			{"GET", "/api/projects/{id}", canReadProjects, ph.APIGet, nil},
			{"PATCH", "/api/projects/{id}", auth.Need(rbac.ProjectsUpdate), ph.APIUpdate, nil},
			{"DELETE", "/api/projects/{id}", auth.Need(rbac.ProjectsDelete), ph.APIDelete, nil},
			{"GET", "/api/projects/{id}/tasks", auth.Need(rbac.TasksRead), th.APIList, nil},
			{"POST", "/api/projects/{id}/tasks", auth.Need(rbac.TasksCreate), th.APICreate, nil},
			{"POST", "/api/tasks/{id}/assign", auth.Need(rbac.TasksAssign), th.APIAssign, nil},
			{"PATCH", "/api/tasks/{id}", auth.Need(rbac.TasksUpdate), th.APIUpdate, nil},
		},
		Signed: []Route{
			// Directory sync: the Standard Webhooks signature is checked by
			// the handler; an unsigned delivery is refused with 401.
			{"POST", "/webhooks/scalekit", auth.Public, wh.Receive, nil},
		},
	}
}

// health answers liveness probes; it is also the baseline of the benchmarks.
func health(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok\n"))
	return err
}

package app

import (
	"net/http"
	"strings"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/projects"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/tasks"
)

// Route is one line of the route table: a method and path, the gate a
// caller must pass, and the handler.
type Route struct {
	Method  string
	Pattern string
	Gate    auth.Gate
	Handle  func(http.ResponseWriter, *http.Request) error
}

// API reports whether the route belongs to the bearer-token JSON API.
func (rt Route) API() bool { return strings.HasPrefix(rt.Pattern, "/api/") }

// Webhook reports whether the route receives server-to-server webhooks,
// authenticated by their signature rather than a session or token.
func (rt Route) Webhook() bool { return strings.HasPrefix(rt.Pattern, "/webhooks/") }

// routeTable is the app's whole authorization policy, one line per route.
// Browser pages and the JSON API share the gates. Handlers scope their
// data to the caller's organization; the UI may hide buttons, but these
// gates are what the server enforces.
func (a *App) routeTable(ph *projects.Handler, th *tasks.Handler, mh *members.Handler, wh *members.Webhook) []Route {
	return []Route{
		// Browser: session cookie; POSTs are protected against cross-site requests.
		{"GET", "/", auth.Public, a.home},
		{"GET", "/login", auth.Public, a.rp.Login},
		{"GET", "/auth/callback", auth.Public, a.rp.Callback},
		{"POST", "/logout", auth.Public, a.rp.Logout},
		{"GET", "/me", auth.SignedIn, a.me},

		{"GET", "/projects", auth.Need(rbac.ProjectsRead), ph.List},
		{"POST", "/projects", auth.Need(rbac.ProjectsCreate), ph.Create},
		{"GET", "/projects/{id}", auth.Need(rbac.ProjectsRead), ph.Show},
		{"POST", "/projects/{id}", auth.Need(rbac.ProjectsUpdate), ph.Update},
		{"POST", "/projects/{id}/delete", auth.Need(rbac.ProjectsDelete), ph.Delete},
		{"POST", "/projects/{id}/tasks", auth.Need(rbac.TasksCreate), ph.CreateTask},
		{"POST", "/tasks/{id}/assign", auth.Need(rbac.TasksAssign), th.Assign},
		{"POST", "/tasks/{id}/done", auth.Need(rbac.TasksUpdate), th.Done},
		{"GET", "/members", auth.Need(rbac.MembersRead), mh.List},
		{"POST", "/members/{userID}/role", members.CanAssignRoles, mh.SetRole},
		{"GET", "/audit", members.CanAssignRoles, mh.Audit},

		// JSON API: Authorization: Bearer <access token>.
		{"GET", "/api/me", auth.SignedIn, a.apiMe},
		{"GET", "/api/projects", auth.Need(rbac.ProjectsRead), ph.APIList},
		{"POST", "/api/projects", auth.Need(rbac.ProjectsCreate), ph.APICreate},
		{"GET", "/api/projects/{id}", auth.Need(rbac.ProjectsRead), ph.APIGet},
		{"PATCH", "/api/projects/{id}", auth.Need(rbac.ProjectsUpdate), ph.APIUpdate},
		{"DELETE", "/api/projects/{id}", auth.Need(rbac.ProjectsDelete), ph.APIDelete},
		{"GET", "/api/projects/{id}/tasks", auth.Need(rbac.TasksRead), ph.APIListTasks},
		{"POST", "/api/projects/{id}/tasks", auth.Need(rbac.TasksCreate), ph.APICreateTask},
		{"POST", "/api/tasks/{id}/assign", auth.Need(rbac.TasksAssign), th.APIAssign},
		{"PATCH", "/api/tasks/{id}", auth.Need(rbac.TasksUpdate), th.APIUpdate},

		// Directory sync: authenticated by the Standard Webhooks signature.
		{"POST", "/webhooks/scalekit", auth.Public, wh.Receive},

		{"GET", "/healthz", auth.Public, health},
	}
}

// refusalHooks are told of every refused request to their route ("METHOD
// pattern"): refused role changes reach the audit log like granted ones.
func refusalHooks(mh *members.Handler) map[string]func(r *http.Request, reason string) {
	return map[string]func(*http.Request, string){
		"POST /members/{userID}/role": mh.SetRoleRefused,
	}
}

// health answers liveness probes; it is also the baseline of the benchmarks.
func health(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok\n"))
	return err
}

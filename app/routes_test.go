package app_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// TestRouteTableMatchesTheDesign pins the policy to the public contract in
// DESIGN.md. The matrix test proves the server enforces each gate; this
// proves the gates are the documented ones, so loosening one is a visible
// change to this table too.
func TestRouteTableMatchesTheDesign(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testRouteTableMatchesTheDesign)
}

func testRouteTableMatchesTheDesign(t *testing.T, engine database.Engine) {
	want := map[string]string{
		"GET /":                         "public",
		"GET /login":                    "public",
		"GET /auth/callback":            "public",
		"POST /logout":                  "public",
		"GET /me":                       "signed in",
		"POST /switch-organization":     "signed in", // a new sign-in into another of the user's organizations
		"GET /projects":                 "projects:read",
		"POST /projects":                "projects:create",
		"GET /projects/{id}":            "projects:read",
		"POST /projects/{id}":           "projects:update",
		"POST /projects/{id}/delete":    "projects:delete",
		"POST /projects/{id}/tasks":     "tasks:create",
		"POST /tasks/{id}/assign":       "tasks:assign",
		"POST /tasks/{id}/done":         "tasks:update",
		"GET /members":                  "members:read",
		"POST /members/{userID}/role":   "role admin or roles:assign",
		"GET /audit":                    "role admin or roles:assign",
		"POST /webhooks/scalekit":       "public",
		"GET /api/me":                   "signed in",
		"GET /api/projects":             "projects:read",
		"POST /api/projects":            "projects:create",
		"GET /api/projects/{id}":        "projects:read",
		"PATCH /api/projects/{id}":      "projects:update",
		"DELETE /api/projects/{id}":     "projects:delete",
		"GET /api/projects/{id}/tasks":  "tasks:read",
		"POST /api/projects/{id}/tasks": "tasks:create",
		"POST /api/tasks/{id}/assign":   "tasks:assign",
		"PATCH /api/tasks/{id}":         "tasks:update",
		"GET /healthz":                  "public",
	}
	e := apptest.Start(t, apptest.Options{Engine: engine})
	got := map[string]string{}
	for _, rt := range e.App.Routes().All() {
		got[rt.Method+" "+rt.Pattern] = rt.Gate.String()
	}
	assert.Equal(t, want, got)
}

// TestEveryGateCanBePassed: each gate of the route table that asks for
// something lets through some role of rbac.seed.json, so a permission
// misspelt in the table ("projects:creat") fails here instead of quietly
// closing its route to everybody. Nobody passes any of them.
func TestEveryGateCanBePassed(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	var roles []string
	for _, r := range e.Model.Roles {
		roles = append(roles, r.Name)
	}
	for _, rt := range tableOf(e.App) {
		if rt.Gate.IsPublic() {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			assert.False(t, rt.Gate.Allows(nil), "nobody passes %s", rt.Gate)
			var passed []string
			for _, role := range roles {
				p := &auth.Principal{Subject: "usr_1", OrgID: "org_1", Roles: []string{role}, Permissions: e.Model.Effective(role)}
				if rt.Gate.Allows(p) {
					passed = append(passed, role)
				}
			}
			assert.NotEmpty(t, passed, "no role of rbac.seed.json passes %s: is a permission misspelt?", rt.Gate)
		})
	}
}

// TestStaticServesFilesOnly: the stylesheet is served (GET and HEAD), but
// no directory of /static/ lists what is in it.
func TestStaticServesFilesOnly(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"a file", "GET", "/static/app.css", http.StatusOK},
		{"a file by HEAD", "HEAD", "/static/app.css", http.StatusOK},
		{"the directory", "GET", "/static/", http.StatusNotFound},
		{"the directory by HEAD", "HEAD", "/static/", http.StatusNotFound},
		{"the directory without its slash", "GET", "/static", http.StatusNotFound},
		{"a file as a directory", "GET", "/static/app.css/", http.StatusNotFound},
		{"a missing file", "GET", "/static/nope.css", http.StatusNotFound},
		{"a way out", "GET", "/static/../app.go", http.StatusNotFound},
		{"an encoded way out", "GET", "/static/%2e%2e/app.go", http.StatusNotFound},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.URL+tt.path, nil)
			require.NoError(t, err)
			req.URL.Opaque = tt.path // sent as written, not cleaned by the client
			got := apptest.Send(t, client, req)
			assert.Equal(t, tt.want, got.StatusCode)
			assert.NotContains(t, got.Body, `href="app.css"`, "no listing")
			if tt.want == http.StatusOK {
				assert.Contains(t, got.Header.Get("Content-Type"), "text/css")
			}
		})
	}
}

func TestHealthzAnswersHead(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	req, err := http.NewRequest("HEAD", e.URL+"/healthz", nil)
	require.NoError(t, err)
	got := apptest.Send(t, http.DefaultClient, req)
	assert.Equal(t, http.StatusOK, got.StatusCode)
	assert.Empty(t, got.Body)
}

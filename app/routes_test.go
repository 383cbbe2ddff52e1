package app_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// TestRouteTableMatchesTheDesign pins the policy to the public contract in
// DESIGN.md. The matrix test proves the server enforces each gate; this
// proves the gates are the documented ones, so loosening one is a visible
// change to this table too.
func TestRouteTableMatchesTheDesign(t *testing.T) { eachEngine(t, testRouteTableMatchesTheDesign) }

func testRouteTableMatchesTheDesign(t *testing.T, engine database.Engine) {
	want := map[string]string{
		"GET /":                         "public",
		"GET /login":                    "public",
		"GET /auth/callback":            "public",
		"POST /logout":                  "public",
		"GET /me":                       "signed in",
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
	e := startEnv(t, envOptions{engine: engine})
	got := map[string]string{}
	for _, rt := range e.App.Routes() {
		got[rt.Method+" "+rt.Pattern] = rt.Gate.String()
	}
	assert.Equal(t, want, got)
}

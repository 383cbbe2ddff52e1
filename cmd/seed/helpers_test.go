package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// seedFile mirrors rbac.seed.json, so tests can write edited copies.
type seedFile struct {
	Permissions        []rbac.PermissionDef `json:"permissions"`
	Roles              []rbac.Role          `json:"roles"`
	DefaultCreatorRole string               `json:"default_creator_role"`
	DefaultMemberRole  string               `json:"default_member_role"`
	OrganizationRoles  []rbac.OrgRoles      `json:"organization_roles,omitempty"`
}

// role returns a pointer to the named role of f.
func (f *seedFile) role(name string) *rbac.Role {
	i := slices.IndexFunc(f.Roles, func(r rbac.Role) bool { return r.Name == name })
	return &f.Roles[i]
}

// writeSeed writes rbac.seed.json after edit to a temporary file, and
// returns its path and model.
func writeSeed(t testing.TB, edit func(*seedFile)) (string, *rbac.Model) {
	t.Helper()
	data, err := os.ReadFile("../../rbac.seed.json")
	require.NoError(t, err)
	var f seedFile
	require.NoError(t, json.Unmarshal(data, &f))
	edit(&f)
	data, err = json.MarshalIndent(f, "", "  ")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "rbac.seed.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	m, err := rbac.Parse(data)
	require.NoError(t, err)
	return path, m
}

// freshModel is what a new Scalekit environment holds: the built-in admin
// and member roles, and a permission from before. freshUsers are the demo
// users who hold only those roles.
func freshModel(t testing.TB) *rbac.Model {
	t.Helper()
	m, err := rbac.Parse([]byte(`{
		"permissions": [{"name": "legacy:read", "description": "from before"}],
		"roles": [
			{"name": "admin", "display_name": "Admin", "permissions": ["legacy:read"]},
			{"name": "member", "display_name": "Member"}
		],
		"default_creator_role": "admin",
		"default_member_role": "member"
	}`))
	require.NoError(t, err)
	return m
}

func freshUsers() []mockidp.User {
	return slices.DeleteFunc(mockidp.DemoUsers(), func(u mockidp.User) bool {
		return !slices.Contains([]string{"admin", "member"}, u.Roles[0])
	})
}

// env is a running mock IdP and the variables that point the seed at it.
type env struct {
	idp  *mockidp.Server
	vars map[string]string
}

// start runs a mock IdP holding model, with the demo users, or with users
// when given.
func start(t testing.TB, model *rbac.Model, users ...mockidp.User) *env {
	t.Helper()
	idp := mockidptest.Start(t, mockidp.Config{Model: model, Users: users})
	return &env{idp: idp, vars: map[string]string{
		"SCALEKIT_ENVIRONMENT_URL": idp.URL(),
		"SCALEKIT_CLIENT_ID":       mockidp.DemoClientID,
		"SCALEKIT_CLIENT_SECRET":   mockidp.DemoClientSecret,
	}}
}

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
	writes         int64 // management write requests during the run
}

func (e *env) run(t testing.TB, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	before := e.idp.ManagementWrites()
	code := run(context.Background(), args, func(k string) string { return e.vars[k] }, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String(), e.idp.ManagementWrites() - before}
}

// client is a management client for the mock, to check its state.
func (e *env) client(t testing.TB) *scalekit.Client {
	t.Helper()
	c, err := scalekit.New(scalekit.Config{EnvironmentURL: e.idp.URL(), ClientID: mockidp.DemoClientID, ClientSecret: mockidp.DemoClientSecret})
	require.NoError(t, err)
	return c
}

// effective returns a role's effective permission names at the mock.
func (e *env) effective(t testing.TB, role string) []string {
	t.Helper()
	perms, err := e.client(t).EffectivePermissions(context.Background(), role)
	require.NoError(t, err)
	names := []string{}
	for _, p := range perms {
		names = append(names, p.Name)
	}
	return names
}

// names turns permissions into the strings tokens and the management API carry.
func names(ps []rbac.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

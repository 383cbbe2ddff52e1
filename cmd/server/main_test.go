package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
)

// TestRunWithNoConfiguration is README's first command as a test: with no
// SCALEKIT_* variables the server starts the mock IdP, prints the demo
// users and serves.
// On PostgreSQL it needs DATABASE_URL and SESSION_SECRET besides.
func TestRunWithNoConfiguration(t *testing.T) {
	databasetest.Run(t, testRunWithNoConfiguration)
}

func testRunWithNoConfiguration(t *testing.T, e database.Engine) {
	db := databasetest.Empty(t, e) // migrated at start-up
	env := map[string]string{
		"ADDR":           "127.0.0.1:0",
		"MOCK_IDP_ADDR":  "127.0.0.1:0",
		"DATABASE_PATH":  db.Path,
		"DATABASE_URL":   db.URL,
		"RBAC_SEED_FILE": "../../rbac.seed.json",
	}
	if db.URL != "" {
		env["SESSION_SECRET"] = strings.Repeat("s", 32)
	}
	base, stdout, _ := startServer(t, env)
	assert.Contains(t, stdout.String(), "alice@acme.example")
	assert.Contains(t, stdout.String(), "project_manager")

	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.Get(base + "/login")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Location"), "/oauth/authorize?")
}

// TestTheMockIdPServesOthersOnlyWhenAskedTo: MOCK_IDP_ALLOW_NONLOCAL=1 is
// the one way to run the mock IdP for a public base URL, and it says so.
func TestTheMockIdPServesOthersOnlyWhenAskedTo(t *testing.T) {
	base, _, stderr := startServer(t, map[string]string{
		"APP_BASE_URL":            "https://demo.example.com",
		"MOCK_IDP_ALLOW_NONLOCAL": "1",
		"ADDR":                    "127.0.0.1:0",
		"MOCK_IDP_ADDR":           "127.0.0.1:0",
		"DATABASE_PATH":           t.TempDir() + "/app.db",
		"RBAC_SEED_FILE":          "../../rbac.seed.json",
	})
	assert.Equal(t, "https://demo.example.com", base)
	assert.Contains(t, stderr.String(), "MOCK_IDP_ALLOW_NONLOCAL=1: the mock IdP", "the opt-in is loud")
}

// startServer runs the server with env until the test ends and returns its
// base URL and what it printed.
func startServer(t *testing.T, env map[string]string) (base string, stdout, stderr *testkit.Buffer) {
	t.Helper()
	stdout, stderr = &testkit.Buffer{}, &testkit.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, stdout, stderr, ready) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start within 10 s")
	}
	return base, stdout, stderr
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0") // another program (or a copy of the app) holds it
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, down.Close()) // nothing listens there: a database server that is down
	downURL := "postgres://app@" + down.Addr().String() + "/app?sslmode=disable"
	secret := strings.Repeat("s", 32)
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"client id without an environment", map[string]string{"SCALEKIT_CLIENT_ID": "skc_1"}, "SCALEKIT_ENVIRONMENT_URL is not set"},
		{"environment without a secret", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "https://x.scalekit.dev", "SCALEKIT_CLIENT_ID": "skc_1"}, "SCALEKIT_CLIENT_SECRET is not set"},
		{"environment over plain http", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "http://x.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b"}, "SCALEKIT_ENVIRONMENT_URL="},
		{"external IdP without a session secret", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "https://x.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b"}, "SESSION_SECRET is not set"},
		{"a short session secret", map[string]string{"SESSION_SECRET": "short"}, "SESSION_SECRET is 5 characters"},
		{"a base URL with a path", map[string]string{"APP_BASE_URL": "http://localhost:8080/app"}, "APP_BASE_URL="},
		{"a malformed address", map[string]string{"ADDR": "8080"}, "ADDR="},
		{"the app's port is taken", map[string]string{"ADDR": taken.Addr().String()}, "is the app already running? stop it, or choose another port: ADDR="},
		{"the mock IdP's port is taken", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": taken.Addr().String(), "RBAC_SEED_FILE": "../../rbac.seed.json"}, "choose another port: MOCK_IDP_ADDR="},
		{"a broken seed file", map[string]string{"ADDR": "127.0.0.1:0", "RBAC_SEED_FILE": "testdata/does-not-exist.json"}, "RBAC_SEED_FILE"},
		{"the mock IdP behind https, even on this machine", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": "127.0.0.1:0", "APP_BASE_URL": "https://localhost:8443"}, "MOCK_IDP_ALLOW_NONLOCAL=1"},
		{"the mock IdP for a public https URL", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": "127.0.0.1:0", "APP_BASE_URL": "https://app.example.com"}, "MOCK_IDP_ALLOW_NONLOCAL=1"},
		{"the mock IdP for another machine's address", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": "127.0.0.1:0", "APP_BASE_URL": "http://192.168.1.10:8080"}, "SCALEKIT_ENVIRONMENT_URL is not set"},
		{"the mock IdP on every interface", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": ":8081"}, `MOCK_IDP_ADDR=":8081" listens beyond this machine`},
		{"the mock IdP on a public address", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": "0.0.0.0:8081"}, "MOCK_IDP_ALLOW_NONLOCAL=1"},
		{"an opt-in that is not 1", map[string]string{"APP_BASE_URL": "https://app.example.com", "MOCK_IDP_ALLOW_NONLOCAL": "yes"}, "MOCK_IDP_ALLOW_NONLOCAL="},
		{"a shared database without a session secret", map[string]string{"DATABASE_URL": "postgres://app@db/app"}, "SESSION_SECRET is not set: it is required with DATABASE_URL"},
		{"a typo in the database URL", map[string]string{"DATABASE_URL": "postgres://app@db:54x2/app", "SESSION_SECRET": secret}, "DATABASE_URL is not a valid URL"},
		{"a database URL of another engine", map[string]string{"DATABASE_URL": "mysql://app@db/app", "SESSION_SECRET": secret}, "DATABASE_URL: want a postgres:// URL"},
		{"both databases", map[string]string{"DATABASE_URL": "postgres://app@db/app", "DATABASE_PATH": "data/app.db", "SESSION_SECRET": secret}, "DATABASE_URL and DATABASE_PATH are both set"},
		{"a pool size that is no number", map[string]string{"DATABASE_MAX_CONNS": "eight"}, "DATABASE_MAX_CONNS="},
		{"a database server that stays down", map[string]string{"ADDR": "127.0.0.1:0", "MOCK_IDP_ADDR": "127.0.0.1:0", "RBAC_SEED_FILE": "../../rbac.seed.json",
			"DATABASE_URL": downURL, "SESSION_SECRET": secret}, "DATABASE_URL: database server app@127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A configuration wrongly accepted would serve until ctx ends;
			// start-up retries a database server that is down as long.
			wait := 2 * time.Second
			if testing.Short() && tt.env["DATABASE_URL"] == downURL {
				// Past the first retry (250 ms) the answer is the same one,
				// however long start-up waits.
				wait = 400 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			err := run(ctx, func(k string) string { return tt.env[k] }, io.Discard, io.Discard, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

// TestTheServerDoesNotLinkPackageTesting: the mock IdP's test helpers live
// in mockidptest, so that the binary serving real users carries none of
// them.
func TestTheServerDoesNotLinkPackageTesting(t *testing.T) {
	for _, pkg := range []string{".", "../mockidp"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.NotContains(t, strings.Split(string(out), "\n"), "testing", "go list -deps %s", pkg)
	}
}

// Package apptest runs the real app against the mock IdP for end-to-end
// tests: each on a random loopback port, on a fresh database of either
// engine. It signs users in through the real redirects (Browser), mints
// access tokens as the IdP's token endpoint would (Env.Token), calls the
// JSON API (Env.API), delivers signed webhooks (Env.Deliver) and runs
// several instances behind a proxy (StartCluster).
//
// Every instance is started by app.Start, as cmd/server starts it.
package apptest

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// SeedFile is the repository's rbac.seed.json, found from this file's
// place so that a test of any package reads the same one.
var SeedFile = func() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "rbac.seed.json")
}()

// Env is the real app and the mock IdP, each on a random loopback port.
type Env struct {
	t      testing.TB
	URL    string          // where browsers reach the app: an instance, or a cluster's proxy
	App    *app.App        // the first instance's
	IdP    *mockidp.Server // the mock IdP, seeded from rbac.seed.json
	Model  *rbac.Model     // rbac.seed.json
	Logs   *testkit.Buffer // every instance's log lines; printed when the test fails
	Config app.Config      // what every instance starts with
	log    *slog.Logger    // the first instance's
}

// Options change an Env from its defaults: SQLite, the demo users, the
// IdP's default token lifetime, both clocks real.
type Options struct {
	Engine          database.Engine // the database's; empty: SQLite
	AccessTokenTTL  time.Duration
	Quiet           bool // discard logs (benchmarks)
	NoWebhookSecret bool
	IdPNow          func() time.Time // the mock IdP's clock; nil: time.Now
	AppNow          func() time.Time // the app's clock; nil: time.Now
	RoleChangeWait  time.Duration    // app.Config.RoleChangeWait; 0: the app's 5 s
	IdPWebhooks     bool             // the mock IdP reports role changes to the app's webhook
	EmptyDatabase   bool             // not migrated: the instances migrate it as they start
	Database        *database.Config // a database of the test's own (a throwaway server); nil: a fresh one of engine
	Users           []mockidp.User   // the mock IdP's users; nil: mockidp.DemoUsers (mockidp.DemoCast adds Casey, in two organizations)
}

// Start starts the mock IdP and one instance of the app for the test; both
// stop when it ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := newEnv(t, opts, "http://"+ln.Addr().String())
	e.App = e.StartInstance(ln, e.log).App
	return e
}

// newEnv is the configuration every instance of a test's app shares: one
// mock IdP, one database, one SESSION_SECRET, and base, the URL browsers
// reach the app at (an instance's, or a load balancer's: StartCluster).
// It starts no instance.
func newEnv(t testing.TB, opts Options, base string) *Env {
	t.Helper()
	model, err := rbac.Load(SeedFile)
	require.NoError(t, err)
	idp := mockidptest.Start(t, mockidp.Config{Model: model, AccessTokenTTL: opts.AccessTokenTTL, Now: opts.IdPNow, Users: opts.Users})

	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Quiet {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := app.Config{
		Issuer:        idp.URL(),
		ClientID:      mockidp.DemoClientID,
		ClientSecret:  mockidp.DemoClientSecret,
		BaseURL:       base,
		Addr:          strings.TrimPrefix(base, "http://"),
		SessionSecret: bytes.Repeat([]byte("k"), 32),
		SeedFile:      SeedFile,
		WebhookSecret: testkit.WebhookSecret,
		Now:           opts.AppNow,

		RoleChangeWait: opts.RoleChangeWait,
	}
	var db database.Config
	if opts.Database != nil {
		db = *opts.Database
	} else if opts.EmptyDatabase {
		db = databasetest.Empty(t, cmp.Or(opts.Engine, database.SQLite))
	} else {
		db = databasetest.New(t, cmp.Or(opts.Engine, database.SQLite))
	}
	cfg.DatabaseURL, cfg.DatabasePath = db.URL, db.Path
	if opts.NoWebhookSecret {
		cfg.WebhookSecret = ""
	}
	t.Cleanup(func() { // registered before any instance's: runs after they stopped
		if t.Failed() {
			t.Logf("app logs:\n%s", logs.String())
		}
	})
	if opts.IdPWebhooks {
		require.NoError(t, idp.SetWebhook(mockidp.WebhookTarget{URL: base + "/webhooks/scalekit", Secret: testkit.WebhookSecret}))
	}
	return &Env{t: t, URL: base, IdP: idp, Model: model, Logs: logs, Config: cfg, log: log}
}

// User returns the IdP's user with the given email.
func (e *Env) User(email string) mockidp.User {
	e.t.Helper()
	for _, u := range e.IdP.Users() {
		if u.Email == email {
			return u
		}
	}
	e.t.Fatalf("no demo user %s", email)
	return mockidp.User{}
}

// Token mints an access token for u in u.OrgID, as the IdP's token
// endpoint would.
func (e *Env) Token(u mockidp.User) string {
	e.t.Helper()
	tok, err := e.IdP.OrgAccessToken(u.ID, u.OrgID, mockidp.DemoClientID)
	require.NoError(e.t, err)
	return tok
}

// IdPRoles returns the user's roles as the IdP has them now.
func (e *Env) IdPRoles(userID string) []string {
	e.t.Helper()
	for _, u := range e.IdP.Users() {
		if u.ID == userID {
			return u.Roles
		}
	}
	e.t.Fatalf("no user %s at the IdP", userID)
	return nil
}

// ProjectWithTask creates a project with one task in the admin's organization.
func (e *Env) ProjectWithTask(admin mockidp.User) (projectID, taskID int64) {
	e.t.Helper()
	tok := e.Token(admin)
	resp := e.API(tok, "POST", "/api/projects", map[string]string{"name": "Fixture"})
	require.Equal(e.t, http.StatusCreated, resp.StatusCode, resp.Body)
	projectID = Decode[struct{ Project struct{ ID int64 } }](e.t, resp).Project.ID
	resp = e.API(tok, "POST", fmt.Sprintf("/api/projects/%d/tasks", projectID), map[string]string{"title": "Fixture task"})
	require.Equal(e.t, http.StatusCreated, resp.StatusCode, resp.Body)
	taskID = Decode[struct{ Task struct{ ID int64 } }](e.t, resp).Task.ID
	return projectID, taskID
}

package app_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func TestSignedInUsersKeepWorkingWhileTheIdPIsDown(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testSignedInUsersKeepWorkingWhileTheIdPIsDown)
}

func testSignedInUsersKeepWorkingWhileTheIdPIsDown(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	token := e.Token(alice)
	require.Equal(t, http.StatusOK, e.API(token, "GET", "/api/projects", nil).StatusCode)

	require.NoError(t, e.IdP.Close())

	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode, "the session's token is still valid and its key cached")
	assert.Equal(t, http.StatusOK, b.Get("/projects").StatusCode)
	assert.Equal(t, 1, strings.Count(e.Logs.String(), "organization names not read from the IdP"),
		"the header asked the IdP for its names once, not on every page (each ask may wait 2 s)")
	assert.Equal(t, http.StatusOK, e.API(token, "GET", "/api/projects", nil).StatusCode, "bearer tokens too")

	resp := e.NewBrowser().Get("/login")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "sign-in explains instead of redirecting to a dead host")
	assert.Equal(t, "Identity provider unreachable", apptest.Text(apptest.ParseHTML(t, resp.Body), "h1"))
}

func TestStartUpWaitsForTheIdPWithBackoff(t *testing.T) {
	t.Parallel()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	// Reserve a port for the IdP, then leave it closed for a while.
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	idpAddr := hold.Addr().String()
	require.NoError(t, hold.Close())

	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	cfg := app.Config{
		Issuer: "http://" + idpAddr, ClientID: mockidp.DemoClientID, ClientSecret: mockidp.DemoClientSecret,
		BaseURL: "http://127.0.0.1:1", SessionSecret: make([]byte, 32),
		DatabasePath: t.TempDir() + "/app.db", SeedFile: "../rbac.seed.json",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	started := make(chan error, 1)
	go func() {
		a, err := app.New(ctx, cfg, log)
		if err == nil {
			a.Close()
		}
		started <- err
	}()

	// The app is retrying meanwhile, and backs off: wait for its second
	// attempt, which waits twice as long as the first.
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "retry_in=250ms") && strings.Contains(logs.String(), "retry_in=500ms")
	}, 10*time.Second, 10*time.Millisecond, "two attempts, the second backing off longer: %s", logs)
	select {
	case err := <-started:
		t.Fatalf("app.New returned before the IdP was up: %v", err)
	default:
	}
	idp, err := mockidp.Start(mockidp.Config{Model: model, Addr: idpAddr, SigningKey: mockidptest.Key(t)})
	require.NoError(t, err)
	defer idp.Close()

	require.NoError(t, <-started, "start-up completes once the IdP answers")
	assert.Contains(t, logs.String(), "identity provider not reachable yet", "and says why it waited")
}

func TestStartUpGivesUpWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	cfg := app.Config{
		Issuer: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", BaseURL: "http://127.0.0.1:2",
		SessionSecret: make([]byte, 32), DatabasePath: t.TempDir() + "/app.db", SeedFile: "../rbac.seed.json",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	_, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "discover OpenID provider http://127.0.0.1:1")
}

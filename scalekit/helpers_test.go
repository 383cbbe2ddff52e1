package scalekit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Demo identities the tests use.
const (
	acme = "org_100000000000000001"
	bob  = "usr_100000000000000002" // project_manager at Acme
)

// waits records the backoffs a client asked for, and never sleeps.
type waits struct {
	mu          sync.Mutex
	retryAfters []time.Duration
}

func (w *waits) backoff(_ int, retryAfter time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.retryAfters = append(w.retryAfters, retryAfter)
	return 0
}

func (w *waits) got() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.retryAfters...)
}

// env is a mock IdP loaded with rbac.seed.json and a client for it.
type env struct {
	idp    *mockidp.Server
	model  *rbac.Model
	client *scalekit.Client
	waits  *waits
}

func loadModel(t testing.TB) *rbac.Model {
	t.Helper()
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	return m
}

func start(t testing.TB, users ...mockidp.User) *env {
	t.Helper()
	e := &env{model: loadModel(t), waits: &waits{}}
	cfg := mockidp.Config{Model: e.model}
	if len(users) > 0 {
		cfg.Users = users
	}
	e.idp = mockidptest.Start(t, cfg)
	e.client = newClient(t, e.idp.URL(), mockidp.DemoClientSecret, e.waits)
	return e
}

func newClient(t testing.TB, url, secret string, w *waits) *scalekit.Client {
	t.Helper()
	c, err := scalekit.New(scalekit.Config{
		EnvironmentURL: url,
		ClientID:       mockidp.DemoClientID,
		ClientSecret:   secret,
		Timeout:        5 * time.Second,
		Backoff:        w.backoff,
	})
	require.NoError(t, err)
	return c
}

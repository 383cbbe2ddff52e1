package seed_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// env is a mock IdP loaded with rbac.seed.json and a management client for it.
type env struct {
	idp    *mockidp.Server
	model  *rbac.Model
	client *scalekit.Client
}

func loadModel(t testing.TB) *rbac.Model {
	t.Helper()
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	return m
}

func start(t testing.TB) *env {
	t.Helper()
	e := &env{model: loadModel(t)}
	e.idp = mockidptest.Start(t, mockidp.Config{Model: e.model})
	c, err := scalekit.New(scalekit.Config{
		EnvironmentURL: e.idp.URL(),
		ClientID:       mockidp.DemoClientID,
		ClientSecret:   mockidp.DemoClientSecret,
		Timeout:        5 * time.Second,
		Backoff:        func(int, time.Duration) time.Duration { return 0 }, // retries do not sleep
	})
	require.NoError(t, err)
	e.client = c
	return e
}

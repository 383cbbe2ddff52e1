// Package mockidptest starts the mock IdP for Go tests. It lives apart
// from package mockidp so that binaries serving the mock (cmd/server,
// cmd/mockidp) do not link package testing.
package mockidptest

import (
	"testing"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// Start starts a mock IdP on a random port of 127.0.0.1 for one test and
// closes it when the test ends.
func Start(t testing.TB, cfg mockidp.Config) *mockidp.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := mockidp.Start(cfg)
	if err != nil {
		t.Fatalf("start mock idp: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close mock idp: %v", err)
		}
	})
	return s
}

// Package mockidptest starts the mock IdP for Go tests. It lives apart
// from package mockidp so that binaries serving the mock (cmd/server,
// cmd/mockidp) do not link package testing.
package mockidptest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// Start starts a mock IdP on a random port of 127.0.0.1 for one test and
// closes it when the test ends. Unless cfg names a SigningKey, it signs
// with a key that no other test holds while this one runs (see keys).
func Start(t testing.TB, cfg mockidp.Config) *mockidp.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.SigningKey == nil {
		cfg.SigningKey = keys.take(t)
	}
	s, err := mockidp.Start(cfg)
	if err != nil {
		t.Fatalf("start mock idp: %v", err)
	}
	t.Cleanup(func() {
		err := s.Close()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			// A client of the test still held a connection open when the
			// grace period ended; Close cut it. Worth a line, not a failure:
			// the test's assertions were made before.
			t.Logf("close mock idp: connections still open after the grace period were cut: %v", err)
		case err != nil:
			t.Errorf("close mock idp: %v", err)
		}
	})
	return s
}

// keys lends signing keys to tests. Making a 2048-bit RSA key costs about
// 100 ms of CPU, half of what the app's end-to-end tests spent: a key
// returns to the pool when the test that took it ends, and the next test
// signs with it. Two IdPs alive in the same test, or in two tests running
// at once, never share a key, so "a token signed by another IdP is
// refused" still means another key.
var keys keyPool

type keyPool struct {
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

func (p *keyPool) take(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	p.mu.Lock()
	var k *rsa.PrivateKey
	if n := len(p.free); n > 0 {
		k, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if k == nil {
		var err error
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatalf("generate signing key: %v", err)
		}
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.free = append(p.free, k)
	})
	return k
}

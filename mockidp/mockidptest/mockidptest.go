// Package mockidptest starts the mock IdP for Go tests. It lives apart
// from package mockidp so that binaries serving the mock (cmd/server,
// cmd/mockidp) do not link package testing.
package mockidptest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// Start starts a mock IdP on a random port of 127.0.0.1 for one test and
// closes it when the test ends. Unless cfg names a SigningKey, it signs
// with a key that no other test holds while this one runs, and so does
// every key it rotates to unless cfg names NewKey (see keys).
func Start(t testing.TB, cfg mockidp.Config) *mockidp.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.SigningKey == nil {
		cfg.SigningKey = keys.take(t)
	}
	// Keys rotated to go back to the pool once the server is closed, not
	// before: it signs with them until then.
	var mu sync.Mutex
	var rotated []*rsa.PrivateKey
	if cfg.NewKey == nil {
		cfg.NewKey = func() (*rsa.PrivateKey, error) {
			k, err := keys.get()
			if err == nil {
				mu.Lock()
				rotated = append(rotated, k)
				mu.Unlock()
			}
			return k, err
		}
	}
	s, err := mockidp.Start(cfg)
	if err != nil {
		t.Fatalf("start mock idp: %v", err)
	}
	t.Cleanup(func() {
		err := s.Close()
		mu.Lock()
		keys.put(rotated...)
		mu.Unlock()
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

// Key lends t a 2048-bit RSA key until t ends; no IdP and no other test
// holds it meanwhile. It is for a test that signs with a key of its own,
// such as an attacker's, or that starts an IdP itself
// (mockidp.Config.SigningKey).
func Key(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	return keys.take(t)
}

// testKeys are TEST-ONLY keys, public on purpose (whoever reads the
// repository has them): mock IdPs of Go tests sign with them instead of
// each test binary generating its own. cmd/server and cmd/mockidp never
// see them: they generate a fresh key at start (mockidp/keys.go) or keep
// one in a file of their own (mockidp.LoadSigningKey, mockidp/files.go).
//
//go:embed testdata/signing-keys.pem
var testKeys []byte

// keys lends signing keys to tests. Making a 2048-bit RSA key costs about
// 100 ms of CPU, and each package's test binary would make its own: the
// pool starts with the keys of testdata/signing-keys.pem, parsed when
// first needed, and generates more only when tests hold all of them at
// once. A key returns to the pool when the test that took it ends, and
// the next test signs with it. Two IdPs alive in the same test, or in two
// tests running at once, never share a key, so "a token signed by another
// IdP is refused" still means another key.
var keys = keyPool{pem: testKeys}

type keyPool struct {
	mu   sync.Mutex
	free []*rsa.PrivateKey
	pem  []byte // the test keys not parsed yet
}

// take lends a key until t ends, and fails t if it cannot.
func (p *keyPool) take(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := p.get()
	if err != nil {
		t.Fatalf("signing key: %v", err)
	}
	t.Cleanup(func() { p.put(k) })
	return k
}

// get takes a key out of the pool, until put: a free one, else the next
// test key, else a new one.
func (p *keyPool) get() (*rsa.PrivateKey, error) {
	k, err := p.next()
	if err != nil || k != nil {
		return k, err
	}
	if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return k, nil
}

// put returns keys that get took.
func (p *keyPool) put(ks ...*rsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, ks...)
}

// next takes a free key or parses the next test key; nil when none is
// left.
func (p *keyPool) next() (*rsa.PrivateKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		k := p.free[n-1]
		p.free = p.free[:n-1]
		return k, nil
	}
	block, rest := pem.Decode(p.pem)
	if block == nil {
		return nil, nil
	}
	p.pem = rest
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testdata/signing-keys.pem: %w", err)
	}
	k, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("testdata/signing-keys.pem: a %T, not an RSA key", parsed)
	}
	return k, nil
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// StartOptions are what a caller adds to a Config when it starts the app.
// cmd/server sets BaseURLFromPort; tests and the load test bring their
// own listener (and their own mock IdP, named by Config.Issuer, so that
// they choose its users, clock and token lifetime).
type StartOptions struct {
	// Listener is served instead of listening on Config.Addr: a test's,
	// say, that can cut its connections to simulate a crash. Start owns it
	// from then on and closes it, on failure too.
	Listener net.Listener

	// BaseURLFromPort sets Config.BaseURL to http://localhost:PORT, PORT
	// being the one the listener got (ADDR=:0 picks one): cmd/server sets
	// it when APP_BASE_URL is unset.
	BaseURLFromPort bool
}

// Running is the app serving, started by Start: the one start-up sequence
// that cmd/server, the load test and the end-to-end tests share.
type Running struct {
	App    *App
	Config Config          // as started: BaseURL, and in mock mode the mock's Issuer and client, filled in
	URL    string          // Config.BaseURL, where browsers reach the app
	Addr   string          // the listener's address, host:port
	IdP    *mockidp.Server // the built-in mock IdP; nil with an external IdP

	cancel    context.CancelFunc
	served    chan error // Serve's result
	closeOnce sync.Once
	err       error
}

// Start listens on cfg.Addr (or opts.Listener), starts the built-in mock
// IdP when cfg names no issuer, builds the App and serves it until ctx
// ends or Close is called. Its errors name the variable to fix.
func Start(ctx context.Context, cfg Config, log *slog.Logger, opts StartOptions) (_ *Running, err error) {
	ln := opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("ADDR=%q: %w%s", cfg.Addr, err, portHint(err, "ADDR=:8090"))
		}
	}
	r := &Running{Addr: ln.Addr().String()}
	defer func() {
		if err != nil {
			ln.Close()
			if r.IdP != nil {
				r.IdP.Close()
			}
		}
	}()
	if opts.BaseURLFromPort {
		_, port, _ := net.SplitHostPort(r.Addr)
		cfg.BaseURL = "http://localhost:" + port
	}

	if cfg.MockMode() {
		if r.IdP, err = startMockIdP(cfg, log); err != nil {
			return nil, err
		}
		cfg.Issuer, cfg.ClientID, cfg.ClientSecret = r.IdP.URL(), mockidp.DemoClientID, mockidp.DemoClientSecret
		if cfg.DatabaseURL != "" {
			// The mock's signing keys and users live in this process: another
			// instance on the same database would refuse its tokens.
			log.Warn("mock IdP: run a single instance; several instances on DATABASE_URL need a real IdP")
		}
	}
	if cfg.GeneratedSecret {
		log.Warn("SESSION_SECRET not set: using a random one, so sessions end when the server restarts")
	}

	a, err := New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	r.App, r.Config, r.URL = a, cfg, cfg.BaseURL
	serveCtx, cancel := context.WithCancel(ctx)
	r.cancel, r.served = cancel, make(chan error, 1)
	go func() { r.served <- Serve(serveCtx, ln, a.Handler(), log) }()
	return r, nil
}

// Wait blocks until the app stops serving (its context ended, Close was
// called, or the listener failed), then releases the app and the mock
// IdP. It returns Serve's error; later calls return it again.
func (r *Running) Wait() error {
	r.closeOnce.Do(func() {
		err := <-r.served
		r.cancel()
		err = errors.Join(err, r.App.Close())
		if r.IdP != nil {
			err = errors.Join(err, r.IdP.Close())
		}
		r.err = err
	})
	return r.err
}

// Close shuts the app down gracefully (requests in flight finish) and
// releases it, as Wait does.
func (r *Running) Close() error {
	r.cancel()
	return r.Wait()
}

// startMockIdP starts the built-in IdP on MOCK_IDP_ADDR (default
// localhost:8081; LoadConfig refuses any address beyond loopback without
// MOCK_IDP_ALLOW_NONLOCAL=1) with a client whose redirect URIs match
// APP_BASE_URL.
func startMockIdP(cfg Config, log *slog.Logger) (*mockidp.Server, error) {
	model, err := rbac.Load(cfg.SeedFile)
	if err != nil {
		return nil, fmt.Errorf("RBAC_SEED_FILE: %w", err)
	}
	client := mockidp.DemoClient()
	client.RedirectURIs = append(client.RedirectURIs, cfg.BaseURL+"/auth/callback")
	client.PostLogoutRedirectURIs = append(client.PostLogoutRedirectURIs, cfg.BaseURL+"/")
	addr := cfg.MockIdPAddr
	if cfg.MockIdPNonlocal {
		log.Warn("MOCK_IDP_ALLOW_NONLOCAL=1: the mock IdP, which signs anybody in as any demo user, may be reachable from other machines", "addr", addr, "base_url", cfg.BaseURL)
	}
	idp, err := mockidp.Start(mockidp.Config{Model: model, Users: mockidp.DemoCast(), Clients: []mockidp.Client{client}, Addr: addr, Logger: log.With("component", "mockidp")})
	if err != nil {
		return nil, fmt.Errorf("start mock IdP on MOCK_IDP_ADDR=%q: %w%s", addr, err, portHint(err, "MOCK_IDP_ADDR=localhost:8091"))
	}
	return idp, nil
}

// portHint tells a new user what to do when a port is taken, often by
// another copy of this app.
func portHint(err error, example string) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	return fmt.Sprintf(" (is the app already running? stop it, or choose another port: %s go run ./cmd/server)", example)
}

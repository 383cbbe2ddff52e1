// Command server runs the projects app. With no configuration it also runs
// the built-in mock identity provider and prints the demo users; with the
// SCALEKIT_* variables set it signs users in with that environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run starts the app and blocks until ctx ends. ready, if not nil, receives
// the app's base URL once it is serving (tests use it with ADDR=127.0.0.1:0).
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := app.LoadConfig(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR=%q: %w%s", cfg.Addr, err, portHint(err, "ADDR=:8090"))
	}
	defer ln.Close()
	if getenv("APP_BASE_URL") == "" {
		// Default: localhost on whatever port we got (":0" picks one).
		cfg.BaseURL = "http://localhost:" + port(ln.Addr())
	}

	var idp *mockidp.Server
	if cfg.MockMode() {
		if idp, err = startMockIdP(cfg, log); err != nil {
			return err
		}
		defer idp.Close()
		cfg.Issuer, cfg.ClientID, cfg.ClientSecret = idp.URL(), mockidp.DemoClientID, mockidp.DemoClientSecret
		if cfg.DatabaseURL != "" {
			// The mock's signing keys and users live in this process: another
			// instance on the same database would refuse its tokens.
			log.Warn("mock IdP: run a single instance; several instances on DATABASE_URL need a real IdP")
		}
	}
	if cfg.GeneratedSecret {
		log.Warn("SESSION_SECRET not set: using a random one, so sessions end when the server restarts")
	}

	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	banner(stdout, cfg, idp)
	if ready != nil {
		ready <- cfg.BaseURL
	}
	return app.Serve(ctx, ln, a.Handler(), log)
}

// startMockIdP starts the built-in IdP on MOCK_IDP_ADDR (default
// localhost:8081; app.LoadConfig refuses any address beyond loopback
// without MOCK_IDP_ALLOW_NONLOCAL=1) with a client whose redirect URIs
// match APP_BASE_URL.
func startMockIdP(cfg app.Config, log *slog.Logger) (*mockidp.Server, error) {
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

func banner(w io.Writer, cfg app.Config, idp *mockidp.Server) {
	fmt.Fprintf(w, "\n  Projects RBAC demo is running at %s\n\n", cfg.BaseURL)
	if idp == nil {
		fmt.Fprintf(w, "  Identity provider: %s (client %s)\n\n", cfg.Issuer, cfg.ClientID)
		return
	}
	fmt.Fprintf(w, "  Identity provider: built-in mock IdP at %s (no account needed)\n", idp.URL())
	fmt.Fprintf(w, "  Sign in as any of these demo users:\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    USER\tEMAIL\tORGANIZATION\tROLES")
	// One row per membership: a member of several organizations has
	// other roles in each, and chooses one at sign-in.
	for _, u := range idp.Users() {
		for _, m := range u.Memberships {
			fmt.Fprintf(tw, "    %s\t%s\t%s (%s)\t%s\n", u.Name, u.Email, m.OrgName, m.OrgID, strings.Join(m.Roles, ", "))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func port(addr net.Addr) string {
	_, p, _ := net.SplitHostPort(addr.String())
	return p
}

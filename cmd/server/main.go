// Command server runs the projects app. With no configuration it also runs
// the built-in mock identity provider and prints the demo users; with the
// SCALEKIT_* variables set it signs users in with that environment.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
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
	// Without APP_BASE_URL: localhost on whatever port we got (":0" picks one).
	r, err := app.Start(ctx, cfg, log, app.StartOptions{BaseURLFromPort: getenv("APP_BASE_URL") == ""})
	if err != nil {
		return err
	}
	defer r.Close()

	banner(stdout, r.Config, r.IdP)
	if ready != nil {
		ready <- r.URL
	}
	return r.Wait()
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

// Command seed registers rbac.seed.json (permissions, roles, inheritance,
// default roles, organization roles) in a Scalekit environment, or in a
// running mock IdP, through the management API. It reads the environment
// first, prints a plan, and changes only what differs, so a second run
// writes nothing.
//
//	SCALEKIT_ENVIRONMENT_URL=... SCALEKIT_CLIENT_ID=... SCALEKIT_CLIENT_SECRET=... go run ./cmd/seed [-f FILE] [--dry-run] [--prune]
//	go run ./cmd/seed --mock   # the mock IdP of `go run ./cmd/server` on http://localhost:8081
//
// Exit codes: 0 applied or nothing to do, 1 invalid file, flags or
// configuration (nothing sent), 2 the environment refused or failed (the
// summary says what was applied before).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
	"github.com/scalekit-samples/go-rbac-projects/seed"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1 // nothing was sent
	exitRemote  = 2
)

// mockURL is where `go run ./cmd/server` starts the mock IdP by default.
const mockURL = "http://localhost:8081"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "rbac.seed.json", "the seed file to register")
	dryRun := fs.Bool("dry-run", false, "print the plan and change nothing")
	prune := fs.Bool("prune", false, "delete permissions and roles the file does not define (never admin or member)")
	mock := fs.Bool("mock", false, "target the mock IdP on "+mockURL+" with its demo client, unless SCALEKIT_* say otherwise")
	if err := fs.Parse(args); err != nil {
		return exitInvalid
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "seed: unexpected argument %q (the seed file goes after -f)\n", fs.Arg(0))
		return exitInvalid
	}

	// The file is checked before anything is sent, with the errors the app
	// gives at start-up.
	model, err := rbac.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, "seed:", err)
		return exitInvalid
	}
	cfg, err := loadConfig(getenv, *mock)
	if err != nil {
		fmt.Fprintln(stderr, "seed:", err)
		return exitInvalid
	}
	client, err := scalekit.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "seed:", err)
		return exitInvalid
	}

	plan, err := seed.NewPlan(ctx, client, model, seed.PlanOptions{Prune: *prune})
	if err != nil {
		fmt.Fprintln(stderr, "seed:", explain(err))
		fmt.Fprintln(stdout, "Nothing was applied.")
		return exitRemote
	}
	fmt.Fprintf(stdout, "Plan for %s from %s:\n", client.EnvironmentURL(), *file)
	plan.Print(stdout)
	switch {
	case *dryRun:
		fmt.Fprintln(stdout, "Dry run: nothing was changed.")
		return exitOK
	case plan.Writes() == 0:
		fmt.Fprintln(stdout, "Nothing to change.")
		return exitOK
	}

	fmt.Fprintln(stdout, "Applying:")
	sum, err := seed.Apply(ctx, client, plan, stdout)
	sum.Print(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "seed:", explain(err))
		return exitRemote
	}
	return exitOK
}

// loadConfig reads the SCALEKIT_* variables; with mock, unset ones take
// the mock IdP's defaults. Each error names its variable.
func loadConfig(getenv func(string) string, mock bool) (scalekit.Config, error) {
	cfg := scalekit.Config{
		EnvironmentURL: getenv("SCALEKIT_ENVIRONMENT_URL"),
		ClientID:       getenv("SCALEKIT_CLIENT_ID"),
		ClientSecret:   getenv("SCALEKIT_CLIENT_SECRET"),
	}
	if mock {
		cfg.EnvironmentURL = or(cfg.EnvironmentURL, mockURL)
		cfg.ClientID = or(cfg.ClientID, mockidp.DemoClientID)
		cfg.ClientSecret = or(cfg.ClientSecret, mockidp.DemoClientSecret)
	}
	switch {
	case cfg.EnvironmentURL == "":
		return cfg, errors.New("SCALEKIT_ENVIRONMENT_URL is not set: export your environment's URL (Dashboard > Developers > Settings), or pass --mock to seed the mock IdP on " + mockURL)
	case !isHTTPURL(cfg.EnvironmentURL):
		return cfg, fmt.Errorf("SCALEKIT_ENVIRONMENT_URL=%q is not an http(s) URL such as https://yourapp.scalekit.dev", cfg.EnvironmentURL)
	case cfg.ClientID == "":
		return cfg, errors.New("SCALEKIT_CLIENT_ID is not set: export the client ID of an API client of your environment (skc_...)")
	case cfg.ClientSecret == "":
		// Never echo a secret; saying it is missing is enough.
		return cfg, errors.New("SCALEKIT_CLIENT_SECRET is not set: export the secret of that API client")
	}
	return cfg, nil
}

// explain adds what to do next to the errors a user can act on.
func explain(err error) error {
	switch {
	case errors.Is(err, scalekit.ErrUnauthenticated):
		return fmt.Errorf("%w\n(the environment refused the credentials: check SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET)", err)
	case errors.Is(err, scalekit.ErrPermissionDenied):
		return fmt.Errorf("%w\n(this API client may not manage roles and permissions)", err)
	}
	return err
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

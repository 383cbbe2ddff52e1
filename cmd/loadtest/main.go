// Command loadtest puts the app under load on this machine and prints what
// it measured and whether the checks held. It starts a mock IdP and the
// app in-process on 127.0.0.1, talks to nothing else, and stops by itself.
//
//	go run ./cmd/loadtest              # 60 s mixed read/write load, 4 orgs, 16 workers
//	go run ./cmd/loadtest -compare     # /healthz (bare, and sent the token) vs gated /api/me vs /api/projects
//	go run ./cmd/loadtest -database-url postgres://postgres@127.0.0.1:5432/test  # on SQLite, then on PostgreSQL
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/cmd/loadtest/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

const usage = `Usage: go run ./cmd/loadtest [flags]

Starts a mock IdP with generated organizations (an admin, a project_manager
and a team_member each) and the app against it, both in this process on
127.0.0.1 with a temporary database, then runs one of:

  (default)  a mixed read/write bearer workload: GET/POST /api/projects,
             GET /api/projects/{id}, POST /api/projects/{id}/tasks,
             PATCH /api/tasks/{id}, GET /healthz and GET /api/me, plus reads
             of other orgs' ids (must be 404) and team members' creations
             (must be 403). At the end every acknowledged write is read
             back. It fails (exit status 1) on any 5xx, unexpected status,
             lost write or row of another organization.
  -compare   GET /healthz, GET /healthz sent the bearer token (the same
             request bytes as /api/me, unread), gated GET /api/me and
             GET /api/projects in rotating rounds of 0.5 s, a quarter of
             -duration each, and prints the medians of the per-round
             throughput ratios.

It prints throughput and p50/p99 latency per endpoint, JWKS fetches and the
process's RSS (app, IdP and load generator together).

With -database-url (default: $DATABASE_URL) it runs twice, one after the
other: on a SQLite file, then on a database of its own that it creates on
that PostgreSQL server (and drops at the end), and prints both side by
side.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var o loadtest.Options
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, fmt.Sprintf("how long to run (at most %v)", loadtest.MaxDuration))
	fs.IntVar(&o.Workers, "workers", 16, fmt.Sprintf("concurrent clients (at most %d)", loadtest.MaxWorkers))
	fs.IntVar(&o.Orgs, "orgs", 4, fmt.Sprintf("organizations (at most %d)", loadtest.MaxOrgs))
	fs.Int64Var(&o.MaxRequests, "max-requests", 10_000_000, "stop after this many requests")
	fs.StringVar(&o.SeedFile, "seed", "rbac.seed.json", "the RBAC model (RBAC_SEED_FILE)")
	fs.StringVar(&o.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "a PostgreSQL server (postgres://...) to run on too, after SQLite")
	compare := fs.Bool("compare", false, "measure /healthz (bare and sent the token), /api/me and /api/projects side by side instead")
	verbose := fs.Bool("v", false, "print the app's and the IdP's warnings and errors")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if *verbose {
		o.Log = stderr
	}
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	command := strings.Join(append([]string{"go run ./cmd/loadtest"}, args...), " ")

	// SQLite first, then PostgreSQL if asked for: the same workload, one
	// after the other on the same machine.
	runs := []loadtest.Options{o}
	if o.DatabaseURL != "" {
		runs[0].DatabaseURL = ""
		runs = append(runs, o)
	}
	if *compare {
		var failures int64
		for _, o := range runs {
			rep, err := loadtest.Compare(ctx, o)
			if err != nil {
				return fmt.Errorf("%s: %w", o.Engine(), err)
			}
			fmt.Fprintf(stdout, "on %s:\n", o.Engine())
			rep.Print(stdout, command)
			failures += rep.Failures
		}
		if failures > 0 {
			return fmt.Errorf("%d requests failed", failures)
		}
		return nil
	}
	var reps []*loadtest.Report
	ok := true
	for _, o := range runs {
		rep, err := loadtest.Run(ctx, o)
		if rep != nil {
			rep.Print(stdout, command)
			fmt.Fprintln(stdout)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.Engine(), err)
		}
		ok = ok && rep.OK()
		reps = append(reps, rep)
	}
	if len(reps) > 1 {
		loadtest.PrintSideBySide(stdout, reps)
	}
	if !ok {
		return errors.New("checks failed (see above)")
	}
	return nil
}

// startCPUProfile profiles the process (app, IdP and clients alike) into
// path until the returned function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// CompareReport is the throughput of three GET routes measured side by
// side: GET /healthz (no authentication: the router and middleware only),
// GET /api/me (a bearer token verified and gated, no database) and
// GET /api/projects (the same plus a SQLite query).
type CompareReport struct {
	Options        Options
	Rounds         int
	Round          time.Duration
	ProjectsPerOrg int
	Healthz, Me    EndpointReport
	Projects       EndpointReport
	Failures       int64 // answers other than 200, and transport errors
	Problems       []string
	JWKSFetches    int64
}

// compareProjects is how many projects each organization holds while
// GET /api/projects is measured.
const compareProjects = 10

// MeRatio is the throughput of gated GET /api/me over that of /healthz.
func (c *CompareReport) MeRatio() float64 { return c.Me.PerSecond / c.Healthz.PerSecond }

// ProjectsRatio is the throughput of GET /api/projects over that of
// /healthz.
func (c *CompareReport) ProjectsRatio() float64 { return c.Projects.PerSecond / c.Healthz.PerSecond }

// DatabaseShare is the part of a GET /api/projects request's cost that
// GET /api/me does not have: the query and the larger answer.
func (c *CompareReport) DatabaseShare() float64 { return 1 - c.Projects.PerSecond/c.Me.PerSecond }

// Compare starts the IdP and the app like Run, then hammers the three
// routes in turn with all workers, in short alternating rounds (so that
// noise on the machine hits all three alike) until each has had a third
// of Options.Duration.
func Compare(ctx context.Context, o Options) (*CompareReport, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := startStack(ctx, o)
	if err != nil {
		return nil, err
	}
	rep, err := compare(ctx, s, o)
	return rep, errors.Join(err, s.stop())
}

func compare(ctx context.Context, s *stack, o Options) (*CompareReport, error) {
	jwksBefore := s.idp.JWKSFetches()
	warm := newRun(s, o.MaxRequests)
	if err := warm.setup(); err != nil {
		return nil, err
	}
	for _, org := range s.orgs {
		for n := 2; n < compareProjects; n++ { // setup made two
			body := map[string]string{"name": fmt.Sprintf("%s compare p%d", org.id, n)}
			if err := warm.expect(ctx, http.StatusCreated, "POST", "/api/projects", org.members[0].token, body, nil); err != nil {
				return nil, fmt.Errorf("setup: %w", err)
			}
		}
	}

	type target struct {
		ep   endpoint
		path string
	}
	targets := []target{{epHealthz, "/healthz"}, {epMe, "/api/me"}, {epListProjects, "/api/projects"}}
	each := o.Duration / time.Duration(len(targets))
	round := min(500*time.Millisecond, each)
	rounds := max(1, int(each/round))

	// A warm-up round each, not counted: connections, the key set, the
	// verified-token cache and SQLite's statement cache fill up.
	for _, t := range targets {
		warm.hammer(ctx, t.ep, t.path, o.Workers, min(round, time.Second))
	}
	r := newRun(s, o.MaxRequests)
	var elapsed [numEndpoints]time.Duration
	for k := range rounds {
		for j := range targets {
			t := targets[(k+j)%len(targets)]
			elapsed[t.ep] += r.hammer(ctx, t.ep, t.path, o.Workers, round)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}

	stat := func(ep endpoint) EndpointReport {
		st := &r.stats[ep]
		n := st.count()
		return EndpointReport{
			Name: endpointNames[ep], Count: n, PerSecond: float64(n) / elapsed[ep].Seconds(),
			P50: st.latency.quantile(0.50), P99: st.latency.quantile(0.99), Statuses: st.statusCounts(),
		}
	}
	rep := &CompareReport{
		Options: o, Rounds: rounds, Round: round, ProjectsPerOrg: compareProjects,
		Healthz: stat(epHealthz), Me: stat(epMe), Projects: stat(epListProjects),
		Failures:    warm.problems.total.Load() + r.problems.total.Load(),
		Problems:    append(warm.problems.list(), r.problems.list()...),
		JWKSFetches: s.idp.JWKSFetches() - jwksBefore,
	}
	rep.Projects.Name += fmt.Sprintf(" (%d per org)", compareProjects)
	return rep, nil
}

// hammer sends GET path with every worker for d and returns how long it
// took until the last answer.
func (r *run) hammer(ctx context.Context, ep endpoint, path string, workers int, d time.Duration) time.Duration {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		token := r.member(i).token
		if ep == epHealthz {
			token = ""
		}
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) && r.budget.Add(-1) >= 0 {
				r.callStatus(context.Background(), ep, "GET", path, token, nil, nil)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// Print writes the report as text, starting with the command that
// produced it.
func (c *CompareReport) Print(w io.Writer, command string) {
	o := c.Options
	fmt.Fprintf(w, "$ %s\n", command)
	fmt.Fprintf(w, "side by side: %d rounds of %v per endpoint, rotating, %d workers, GOMAXPROCS=%d, %s %s/%s\n",
		c.Rounds, c.Round, o.Workers, runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintln(w, "app + mock IdP + clients in one process over 127.0.0.1, keep-alive connections")
	fmt.Fprintln(w)
	writeEndpoints(w, []EndpointReport{c.Healthz, c.Me, c.Projects}, 0, 0)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "gated GET /api/me at %.2fx the throughput of /healthz\n", c.MeRatio())
	fmt.Fprintf(w, "GET /api/projects at %.2fx of /healthz; the database's share of its cost: %.0f%%\n",
		c.ProjectsRatio(), 100*c.DatabaseShare())
	fmt.Fprintf(w, "JWKS fetches: %d; failures: %d\n", c.JWKSFetches, c.Failures)
	for _, p := range c.Problems {
		fmt.Fprintf(w, "    %s\n", p)
	}
}

package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The routes Compare measures, in the order of CompareReport.Endpoints.
const (
	cmpHealthz      = iota // no authentication: the router and middleware only
	cmpHealthzToken        // the same, sent the bearer token that /api/me gets (and ignoring it)
	cmpMe                  // the token verified and gated, no database
	cmpProjects            // the same plus a SQLite query
	numCompared
)

// compareTargets are the requests Compare sends. GET /healthz with the
// token header is the baseline that carries the same bytes as GET /api/me:
// receiving a 1 KB header is a cost of the request, not of authorization.
var compareTargets = [numCompared]struct {
	name, path string
	token      bool
}{
	{"GET /healthz", "/healthz", false},
	{"GET /healthz (with the token header)", "/healthz", true},
	{"GET /api/me", "/api/me", true},
	{fmt.Sprintf("GET /api/projects (%d per org)", compareProjects), "/api/projects", true},
}

// CompareReport is the throughput of GET /healthz, gated GET /api/me and
// GET /api/projects measured side by side, in short alternating rounds.
// Ratios are the median of the ratios of each round: rounds are a second
// or less apart, so noise on the machine hits both sides of a ratio alike.
type CompareReport struct {
	Options        Options
	Rounds         int
	Round          time.Duration
	ProjectsPerOrg int
	Endpoints      [numCompared]EndpointReport
	PerRound       [][numCompared]float64 // requests per second, per round
	Failures       int64                  // answers other than 200, and transport errors
	Problems       []string
	JWKSFetches    int64
}

// compareProjects is how many projects each organization holds while
// GET /api/projects is measured.
const compareProjects = 10

// MeRatio is the throughput of gated GET /api/me over that of /healthz.
func (c *CompareReport) MeRatio() float64 { return c.ratio(cmpMe, cmpHealthz) }

// MeRatioSameRequest is the throughput of gated GET /api/me over that of
// /healthz sent the same Authorization header: the cost of authorization
// alone, without that of a bigger request.
func (c *CompareReport) MeRatioSameRequest() float64 { return c.ratio(cmpMe, cmpHealthzToken) }

// HeaderRatio is the throughput of /healthz sent the token over that of
// bare /healthz: what the 1 KB header costs before any code of ours runs.
func (c *CompareReport) HeaderRatio() float64 { return c.ratio(cmpHealthzToken, cmpHealthz) }

// ProjectsRatio is the throughput of GET /api/projects over that of
// /healthz.
func (c *CompareReport) ProjectsRatio() float64 { return c.ratio(cmpProjects, cmpHealthz) }

// DatabaseShare is the part of a GET /api/projects request's cost that
// GET /api/me does not have: the query and the larger answer.
func (c *CompareReport) DatabaseShare() float64 { return 1 - c.ratio(cmpProjects, cmpMe) }

// ratio is the median over the rounds of the throughput of a over b.
func (c *CompareReport) ratio(a, b int) float64 {
	var rs []float64
	for _, round := range c.PerRound {
		if round[b] > 0 {
			rs = append(rs, round[a]/round[b])
		}
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if n := len(rs); n%2 == 0 {
		return (rs[n/2-1] + rs[n/2]) / 2
	}
	return rs[len(rs)/2]
}

// Compare starts the IdP and the app like Run, then hammers the compared
// routes in turn with all workers, in short rounds in rotating order,
// until each has had its share of Options.Duration.
func Compare(ctx context.Context, o Options) (*CompareReport, error) {
	return onStack(ctx, o, compare)
}

func compare(ctx context.Context, s *stack, o Options) (*CompareReport, error) {
	jwksBefore := s.idp.JWKSFetches()
	r := newRun(s, o.MaxRequests)
	if err := r.setup(); err != nil {
		return nil, err
	}
	for _, org := range s.orgs {
		for n := 2; n < compareProjects; n++ { // setup made two
			body := map[string]string{"name": fmt.Sprintf("%s compare p%d", org.id, n)}
			if err := r.expect(ctx, http.StatusCreated, "POST", "/api/projects", org.members[0].token, body, nil); err != nil {
				return nil, fmt.Errorf("setup: %w", err)
			}
		}
	}

	each := o.Duration / numCompared
	round := min(500*time.Millisecond, each)
	rounds := max(1, int(each/round))

	// A warm-up round each, not counted: connections, the key set, the
	// verified-token cache and SQLite's statement cache fill up.
	var stats [numCompared]endpointStats
	for i := range numCompared {
		var warm endpointStats
		r.hammer(ctx, &warm, i, o.Workers, min(round, time.Second))
	}
	rep := &CompareReport{Options: o, Rounds: rounds, Round: round, ProjectsPerOrg: compareProjects}
	var elapsed [numCompared]time.Duration
	for k := range rounds {
		var perSecond [numCompared]float64
		for j := range numCompared {
			i := (k + j) % numCompared
			before := stats[i].count()
			took := r.hammer(ctx, &stats[i], i, o.Workers, round)
			elapsed[i] += took
			perSecond[i] = float64(stats[i].count()-before) / took.Seconds()
		}
		rep.PerRound = append(rep.PerRound, perSecond)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	for i := range numCompared {
		st := &stats[i]
		n := st.count()
		rep.Endpoints[i] = EndpointReport{
			Name: compareTargets[i].name, Count: n, PerSecond: float64(n) / elapsed[i].Seconds(),
			P50: st.latency.quantile(0.50), P99: st.latency.quantile(0.99), Statuses: st.statusCounts(),
		}
	}
	rep.Failures = r.problems.total.Load()
	rep.Problems = r.problems.list()
	rep.JWKSFetches = s.idp.JWKSFetches() - jwksBefore
	return rep, nil
}

// hammer sends compared request i with every worker for d, records each
// answer in st and returns how long it took until the last answer.
func (r *run) hammer(ctx context.Context, st *endpointStats, i, workers int, d time.Duration) time.Duration {
	t := compareTargets[i]
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		token := ""
		if t.token {
			token = r.member(w).token
		}
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) && r.budget.Add(-1) >= 0 {
				status, data, took, err := r.send(context.Background(), "GET", t.path, token, nil)
				st.record(status, took)
				switch {
				case err != nil:
					r.problems.add(kindTransport, "%s: %v", t.name, err)
				case status != http.StatusOK:
					r.problems.add(kindUnexpected, "%s answered %d, want 200: %.200s", t.name, status, data)
				}
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
	writeEndpoints(w, c.Endpoints[:], 0, 0)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "medians of the per-round ratios:")
	fmt.Fprintf(w, "gated GET /api/me at %.2fx the throughput of /healthz sent the same token header (authorization's cost)\n", c.MeRatioSameRequest())
	fmt.Fprintf(w, "gated GET /api/me at %.2fx the throughput of bare /healthz (the token header alone: %.2fx)\n", c.MeRatio(), c.HeaderRatio())
	fmt.Fprintf(w, "GET /api/projects at %.2fx of /healthz; the database's share of its cost: %.0f%%\n",
		c.ProjectsRatio(), 100*c.DatabaseShare())
	fmt.Fprintf(w, "JWKS fetches: %d; failures: %d\n", c.JWKSFetches, c.Failures)
	for _, p := range c.Problems {
		fmt.Fprintf(w, "    %s\n", p)
	}
}

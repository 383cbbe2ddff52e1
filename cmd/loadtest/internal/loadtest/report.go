package loadtest

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a Run measured and found.
type Report struct {
	Options   Options // as run, defaults filled in
	Elapsed   time.Duration
	Requests  int64
	Endpoints []EndpointReport

	// The checks of the run; each must be zero (see OK).
	ServerErrors        int64 // 5xx answers
	TransportErrors     int64 // requests without an answer
	UnexpectedStatuses  int64 // answers other than the one expected (4xx included)
	LostWrites          int64 // acknowledged writes not found, or not done, at the read back
	CrossTenantRows     int64 // another organization's rows seen in lists, by id, in /api/me or at the read back
	RefusedWritesStored int64 // a 403'd creation found at the read back
	WrongData           int64 // an answer or a row that differs from what was written
	Problems            []string

	Verified    Verified
	Lists       int64 // project lists and projects checked for other orgs' rows during the run
	RowsChecked int64
	ListRows    float64 // rows in an answer of GET /api/projects, on average

	JWKSFetches      int64 // key-set fetches at the IdP since the app started
	JWKSFetchesTotal int64
	RSSMax           int64 // highest VmRSS sampled during the run, bytes (whole process)
	RSSPeak          int64 // VmHWM at the end, bytes
	RSSSamples       int
}

// EndpointReport is one kind of request's figures.
type EndpointReport struct {
	Name      string
	Count     int64
	PerSecond float64
	P50, P99  time.Duration
	Statuses  map[int]int64 // 0: no answer
}

// OK reports whether every check passed: no 5xx, no unexpected status,
// no transport error, no lost, wrong or cross-tenant row, and the key set
// fetched at most twice.
func (r *Report) OK() bool {
	return r.ServerErrors+r.TransportErrors+r.UnexpectedStatuses+r.LostWrites+
		r.CrossTenantRows+r.RefusedWritesStored+r.WrongData == 0 && r.JWKSFetches <= 2
}

func (r *run) report(o Options, elapsed time.Duration) *Report {
	rep := &Report{Options: o, Elapsed: elapsed, Lists: r.lists.Load(), RowsChecked: r.rowsSeen.Load()}
	if n := r.stats[epListProjects].count(); n > 0 {
		rep.ListRows = float64(r.listRows.Load()) / float64(n)
	}
	for ep := range numEndpoints {
		s := &r.stats[ep]
		n := s.count()
		if n == 0 {
			continue
		}
		rep.Requests += n
		rep.Endpoints = append(rep.Endpoints, EndpointReport{
			Name:      endpointNames[ep],
			Count:     n,
			PerSecond: float64(n) / elapsed.Seconds(),
			P50:       s.latency.quantile(0.50),
			P99:       s.latency.quantile(0.99),
			Statuses:  s.statusCounts(),
		})
	}
	return rep
}

func (rep *Report) fillChecks(p *problems) {
	rep.ServerErrors = p.count(kindServerError)
	rep.TransportErrors = p.count(kindTransport)
	rep.UnexpectedStatuses = p.count(kindUnexpected)
	rep.LostWrites = p.count(kindLost)
	rep.CrossTenantRows = p.count(kindCrossTenant)
	rep.RefusedWritesStored = p.count(kindRefusedWrite)
	rep.WrongData = p.count(kindWrongData)
	rep.Problems = p.list()
}

// Print writes the report as text, starting with the command that
// produced it.
func (rep *Report) Print(w io.Writer, command string) {
	o := rep.Options
	fmt.Fprintf(w, "$ %s\n", command)
	fmt.Fprintf(w, "mixed load on %s: %v, %d workers, %d orgs x (%s), %s, GOMAXPROCS=%d, %s %s/%s\n\n",
		o.Engine(), rep.Elapsed.Round(time.Millisecond), o.Workers, o.Orgs, strings.Join(roles, ", "),
		"app + mock IdP + clients in one process over 127.0.0.1", runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	writeEndpoints(w, rep.Endpoints, rep.Elapsed, rep.Requests)
	fmt.Fprintf(w, "GET /api/projects answers a page (50 by default): %.0f rows on average, %d projects per org at the end\n",
		rep.ListRows, rep.Verified.Projects/max(o.Orgs, 1))

	check := func(name string, n int64, detail string) {
		fmt.Fprintf(w, "  %-24s %6d  %s\n", name, n, detail)
	}
	v := rep.Verified
	fmt.Fprintln(w, "\nchecks (each must be 0):")
	check("5xx answers", rep.ServerErrors, "")
	check("transport errors", rep.TransportErrors, "")
	check("unexpected statuses", rep.UnexpectedStatuses, "(other org's id must be 404, team_member's POST 403)")
	check("lost writes", rep.LostWrites, fmt.Sprintf("(read back: %d projects, %d tasks, %d marked done; %d unacknowledged rows)",
		v.Projects, v.Tasks, v.Done, v.Unacknowledged))
	check("cross-tenant rows", rep.CrossTenantRows, fmt.Sprintf("(%d lists and gets, %d rows checked during the run; every org listed at the end)",
		rep.Lists, rep.RowsChecked))
	check("refused writes stored", rep.RefusedWritesStored, "")
	check("wrong data", rep.WrongData, "")
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "    %s\n", p)
	}
	fmt.Fprintf(w, "\nJWKS fetches since the app started: %d (want <= 2)\n", rep.JWKSFetches)
	fmt.Fprintf(w, "process RSS: max VmRSS %s over %d samples (every 250ms), VmHWM %s; app, IdP and load generator together\n",
		megabytes(rep.RSSMax), rep.RSSSamples, megabytes(rep.RSSPeak))
	if rep.OK() {
		fmt.Fprintln(w, "result: PASS")
	} else {
		fmt.Fprintln(w, "result: FAIL")
	}
}

func writeEndpoints(w io.Writer, eps []EndpointReport, elapsed time.Duration, total int64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\trequests\treq/s\tp50\tp99\tstatuses")
	for _, e := range eps {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\n", e.Name, e.Count, e.PerSecond, ms(e.P50), ms(e.P99), formatStatuses(e.Statuses))
	}
	if total > 0 {
		fmt.Fprintf(tw, "total\t%d\t%.0f\t\t\t\n", total, float64(total)/elapsed.Seconds())
	}
	tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// PrintSideBySide prints the throughput and the checks of runs of the
// same workload on different engines, one column per run.
func PrintSideBySide(w io.Writer, reps []*Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, cell func(*Report) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, r := range reps {
			fmt.Fprintf(tw, "%s\t", cell(r))
		}
		fmt.Fprintln(tw)
	}
	row("", func(r *Report) string { return r.Options.Engine() })
	row("total req/s", func(r *Report) string { return fmt.Sprintf("%.0f", float64(r.Requests)/r.Elapsed.Seconds()) })
	for i, e := range reps[0].Endpoints {
		row(e.Name+" req/s, p99", func(r *Report) string {
			if i >= len(r.Endpoints) {
				return "-"
			}
			return fmt.Sprintf("%.0f, %s", r.Endpoints[i].PerSecond, ms(r.Endpoints[i].P99))
		})
	}
	row("5xx", func(r *Report) string { return fmt.Sprint(r.ServerErrors) })
	row("lost writes", func(r *Report) string { return fmt.Sprint(r.LostWrites) })
	row("cross-tenant rows", func(r *Report) string { return fmt.Sprint(r.CrossTenantRows) })
	row("writes read back", func(r *Report) string {
		return fmt.Sprintf("%d+%d", r.Verified.Projects, r.Verified.Tasks)
	})
	row("result", func(r *Report) string {
		if r.OK() {
			return "PASS"
		}
		return "FAIL"
	})
	tw.Flush()
}

package loadtest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
)

// TestMixedLoadKeepsEveryWriteAndEveryTenantApart is the load script in
// short: a few seconds of concurrent reads and writes from several
// organizations (run it with -race too), then every acknowledged write is
// read back.
func TestMixedLoadKeepsEveryWriteAndEveryTenantApart(t *testing.T) {
	t.Parallel()
	o := Options{
		Duration: 3 * time.Second, Workers: 4, Orgs: 3, SeedFile: "../../../../rbac.seed.json", Log: testLog(t),
		SigningKey: mockidptest.Key(t),
	}
	if testing.Short() {
		// The same checks on fewer requests: a budget rather than a
		// shorter time, so that a loaded machine sends as many. Each
		// worker gets about a quarter; the rarest kind, a team member's
		// refused POST, is 5% of one worker's. The assertions below fail
		// if a kind never came up.
		o.MaxRequests = 1200
	}
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	var out bytes.Buffer
	rep.Print(&out, "go test ./loadtest")
	t.Log("\n" + out.String())

	assert.Zero(t, rep.ServerErrors, "5xx answers")
	assert.Zero(t, rep.TransportErrors, "requests without an answer")
	assert.Zero(t, rep.UnexpectedStatuses, "answers other than the expected status")
	assert.Zero(t, rep.LostWrites, "acknowledged writes missing at the read back")
	assert.Zero(t, rep.CrossTenantRows, "rows of another organization seen")
	assert.Zero(t, rep.RefusedWritesStored, "refused writes found at the read back")
	assert.Zero(t, rep.WrongData, "answers or rows that differ from what was written")
	assert.LessOrEqual(t, rep.JWKSFetches, int64(2), "the key set is cached, not fetched per request")
	assert.True(t, rep.OK())

	// The run must have exercised what it claims to check.
	assert.Positive(t, rep.Verified.Projects, "projects read back")
	assert.Positive(t, rep.Verified.Tasks, "tasks read back")
	assert.Positive(t, rep.Verified.Done, "tasks read back done")
	assert.Positive(t, rep.Lists, "lists checked for other organizations' rows")
	names := map[string]bool{}
	for _, e := range rep.Endpoints {
		names[e.Name] = true
	}
	for _, want := range endpointNames {
		assert.True(t, names[want], "no request to %s", want)
	}
}

func TestCompareMeasuresTheRoutesSideBySide(t *testing.T) {
	t.Parallel()
	d := 600 * time.Millisecond
	if testing.Short() {
		d = 300 * time.Millisecond // a round of 75 ms per route: still dozens of requests each, hundreds on a quiet machine
	}
	rep, err := Compare(context.Background(), Options{
		Duration: d, Workers: 2, Orgs: 2, SeedFile: "../../../../rbac.seed.json", Log: testLog(t),
		SigningKey: mockidptest.Key(t),
	})
	require.NoError(t, err)
	var out bytes.Buffer
	rep.Print(&out, "go test ./loadtest")
	t.Log("\n" + out.String())

	assert.Zero(t, rep.Failures)
	for _, e := range rep.Endpoints {
		assert.Positive(t, e.Count, e.Name)
		assert.Equal(t, map[int]int64{200: e.Count}, e.Statuses, e.Name)
	}
	require.Len(t, rep.PerRound, rep.Rounds)
	for _, ratio := range []float64{rep.MeRatio(), rep.MeRatioSameRequest(), rep.HeaderRatio(), rep.ProjectsRatio()} {
		assert.Positive(t, ratio)
	}
	assert.Contains(t, out.String(), "gated GET /api/me at ")
}

func TestCompareRatiosAreMediansOfRounds(t *testing.T) {
	round := func(healthz, healthzToken, me, projects float64) [numCompared]float64 {
		return [numCompared]float64{healthz, healthzToken, me, projects}
	}
	tests := []struct {
		name   string
		rounds [][numCompared]float64
		me     float64
	}{
		{"no rounds", nil, 0},
		{"one round", [][numCompared]float64{round(100, 90, 80, 30)}, 0.8},
		// One round disturbed by the machine moves a mean, not a median.
		{"an outlier round", [][numCompared]float64{round(100, 90, 90, 30), round(100, 90, 91, 30), round(100, 90, 10, 30)}, 0.9},
		{"an even number of rounds", [][numCompared]float64{round(100, 90, 80, 30), round(100, 90, 90, 30)}, 0.85},
		{"a round with no baseline is skipped", [][numCompared]float64{round(0, 90, 80, 30), round(100, 90, 70, 30)}, 0.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &CompareReport{PerRound: tt.rounds}
			assert.InDelta(t, tt.me, c.MeRatio(), 1e-9)
		})
	}
	c := &CompareReport{PerRound: [][numCompared]float64{round(100, 80, 72, 36)}}
	assert.InDelta(t, 0.9, c.MeRatioSameRequest(), 1e-9)
	assert.InDelta(t, 0.8, c.HeaderRatio(), 1e-9)
	assert.InDelta(t, 0.36, c.ProjectsRatio(), 1e-9)
	assert.InDelta(t, 0.5, c.DatabaseShare(), 1e-9)
}

func TestRunStopsAfterMaxRequests(t *testing.T) {
	t.Parallel()
	rep, err := Run(context.Background(), Options{
		Duration: time.Minute, Workers: 4, Orgs: 2, MaxRequests: 200, SeedFile: "../../../../rbac.seed.json", Log: testLog(t),
		SigningKey: mockidptest.Key(t),
	})
	require.NoError(t, err)
	assert.Equal(t, int64(200), rep.Requests)
	assert.Less(t, rep.Elapsed, 30*time.Second)
	assert.True(t, rep.OK(), "problems: %v", rep.Problems)
}

func TestOptionsOutOfBoundsAreRefused(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"a negative duration", Options{Duration: -time.Second}, "duration"},
		{"a duration over the limit", Options{Duration: 2 * MaxDuration}, "duration"},
		{"too many workers", Options{Workers: MaxWorkers + 1}, "workers"},
		{"negative workers", Options{Workers: -1}, "workers"},
		{"too many organizations", Options{Orgs: MaxOrgs + 1}, "orgs"},
		{"a negative request budget", Options{MaxRequests: -5}, "max requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestHistogramQuantilesAreWithinABucket(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		name string
		q    float64
		want time.Duration
	}{
		{"the median", 0.50, 500 * time.Microsecond},
		{"the 99th percentile", 0.99, 990 * time.Microsecond},
		{"the maximum", 1, 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.quantile(tt.q)
			assert.InEpsilon(t, float64(tt.want), float64(got), 0.04, "got %v, want about %v", got, tt.want)
		})
	}
	assert.Zero(t, (&histogram{}).quantile(0.5), "no samples")
}

func TestUsersGiveEveryOrganizationEachRole(t *testing.T) {
	users := Users(2)
	require.Len(t, users, 2*len(roles))
	for i, u := range users {
		assert.Equal(t, roles[i%len(roles)], u.Roles[0], u.ID)
		assert.True(t, strings.HasPrefix(u.ID, "usr_"), u.ID)
	}
	assert.NotEqual(t, users[0].OrgID, users[len(roles)].OrgID)
}

// testLog collects the app's warnings and errors and shows them if the
// test fails.
func testLog(t *testing.T) io.Writer {
	t.Helper()
	buf := &testkit.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app and IdP log:\n%s", buf.String())
		}
	})
	return buf
}

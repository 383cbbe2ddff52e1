package lease

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// open returns n Tables on one fresh database of engine e, each through
// its own connection pool, as n app instances would have.
func open(t *testing.T, e database.Engine, n int) []*Table {
	t.Helper()
	cfg := databasetest.New(t, e)
	var tables []*Table
	for range n {
		tables = append(tables, New(databasetest.Open(t, cfg)))
	}
	return tables
}

// lapse plays the database's clock passing the lease's time: its until
// goes an hour back.
func lapse(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), `UPDATE leases SET until = until - 3600000 WHERE name = $1`, name)
	require.NoError(t, err)
}

func TestALeaseHasOneHolderAtATime(t *testing.T) { databasetest.Run(t, testALeaseHasOneHolderAtATime) }

func testALeaseHasOneHolderAtATime(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	a, b := tables[0], tables[1]

	held, err := a.Acquire(ctx, "org-roles:org_1", time.Minute, 0)
	require.NoError(t, err)
	_, err = b.Acquire(ctx, "org-roles:org_1", time.Minute, 0)
	assert.ErrorIs(t, err, ErrBusy, "held by the other instance")
	other, err := b.Acquire(ctx, "org-roles:org_2", time.Minute, 0)
	require.NoError(t, err, "another name is another lease")
	other.Release(ctx)

	held.Release(ctx)
	again, err := b.Acquire(ctx, "org-roles:org_1", time.Minute, 0)
	require.NoError(t, err, "free once released")
	again.Release(ctx)
}

func TestAWaitingCallerGetsTheLeaseWhenItIsReleased(t *testing.T) {
	databasetest.Run(t, testAWaitingCallerGetsTheLeaseWhenItIsReleased)
}

func testAWaitingCallerGetsTheLeaseWhenItIsReleased(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	held, err := tables[0].Acquire(ctx, "x", time.Minute, 0)
	require.NoError(t, err)
	time.AfterFunc(100*time.Millisecond, func() { held.Release(ctx) })
	start := time.Now()
	second, err := tables[1].Acquire(ctx, "x", time.Minute, 5*time.Second)
	require.NoError(t, err)
	second.Release(ctx)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestALapsedLeaseIsTakenOverAndItsOldHolderCannotReleaseIt(t *testing.T) {
	databasetest.Run(t, testALapsedLeaseIsTakenOverAndItsOldHolderCannotReleaseIt)
}

func testALapsedLeaseIsTakenOverAndItsOldHolderCannotReleaseIt(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	crashed, err := tables[0].Acquire(ctx, "x", time.Second, 0)
	require.NoError(t, err)

	lapse(t, tables[0].db, "x") // the holder hung past its ttl
	taker, err := tables[1].Acquire(ctx, "x", time.Second, 0)
	require.NoError(t, err, "a lapsed lease is free")

	crashed.Release(ctx) // late: must not free the new holder's lease
	_, err = tables[0].Acquire(ctx, "x", time.Second, 0)
	assert.ErrorIs(t, err, ErrBusy)
	taker.Release(ctx)
}

func TestAHolderWhoseLeaseWasTakenOverAbortsBeforeItsSideEffect(t *testing.T) {
	databasetest.Run(t, testAHolderWhoseLeaseWasTakenOverAbortsBeforeItsSideEffect)
}

func testAHolderWhoseLeaseWasTakenOverAbortsBeforeItsSideEffect(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	stalled, err := tables[0].Acquire(ctx, "x", time.Minute, 0)
	require.NoError(t, err)
	at, err := stalled.Renew(ctx)
	require.NoError(t, err, "a live holder renews")
	dbNow, err := tables[0].Now(ctx)
	require.NoError(t, err)
	assert.False(t, at.After(dbNow), "Renew returns the database's time of the renewal")

	lapse(t, tables[0].db, "x")
	_, err = stalled.Renew(ctx)
	assert.NoError(t, err, "lapsed but taken by nobody: still the holder's, and renewed")

	lapse(t, tables[0].db, "x") // the holder stalls past its ttl again...
	taker, err := tables[1].Acquire(ctx, "x", time.Minute, 0)
	require.NoError(t, err, "...and another instance takes the lease")
	defer taker.Release(ctx)
	sideEffects := 0
	if _, err := stalled.Renew(ctx); !assert.ErrorIs(t, err, ErrLost) {
		sideEffects++
	}
	assert.Zero(t, sideEffects, "the old holder learns it lost the lease before acting")
	_, err = taker.Renew(ctx)
	assert.NoError(t, err, "the new holder keeps it")
}

func TestInstanceClocksDoNotMatter(t *testing.T) { databasetest.Run(t, testInstanceClocksDoNotMatter) }

// testInstanceClocksDoNotMatter: lease times are the database's, so an
// instance whose clock runs an hour fast (or slow) sees a live lease as
// live, and one taken by a slow instance does not last longer.
func testInstanceClocksDoNotMatter(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	slow, fast := tables[0], tables[1]
	slow.now = func() time.Time { return time.Now().Add(-time.Hour) }
	fast.now = func() time.Time { return time.Now().Add(time.Hour) }

	held, err := slow.Acquire(ctx, "x", time.Minute, 0)
	require.NoError(t, err)
	_, err = fast.Acquire(ctx, "x", time.Minute, 0)
	assert.ErrorIs(t, err, ErrBusy, "the fast instance does not see the slow one's lease as lapsed")
	var busy *BusyError
	if assert.ErrorAs(t, err, &busy) {
		assert.InDelta(t, time.Minute.Seconds(), busy.Left.Seconds(), 10, "what is left of the holder's lease")
	}
	held.Release(ctx)

	held, err = fast.Acquire(ctx, "x", time.Minute, 0)
	require.NoError(t, err)
	_, err = slow.Acquire(ctx, "x", time.Minute, 0)
	assert.ErrorIs(t, err, ErrBusy, "nor the other way round")
	held.Release(ctx)
}

func TestWaitingStopsWithTheContext(t *testing.T) {
	databasetest.Run(t, testWaitingStopsWithTheContext)
}

func testWaitingStopsWithTheContext(t *testing.T, e database.Engine) {
	tables := open(t, e, 1)
	held, err := tables[0].Acquire(context.Background(), "x", time.Minute, 0)
	require.NoError(t, err)
	defer held.Release(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = tables[0].Acquire(ctx, "x", time.Minute, time.Minute)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestLeasesSerializeWorkAcrossInstances(t *testing.T) {
	databasetest.Run(t, testLeasesSerializeWorkAcrossInstances)
}

func testLeasesSerializeWorkAcrossInstances(t *testing.T, e database.Engine) {
	// Each worker reads a counter, waits, and writes it back plus one: any
	// overlap loses an increment. (Load and Store are atomic each, so the
	// race detector has nothing to say; the lease must make the pair atomic.)
	tables := open(t, e, 3)
	workers := 12 // they take turns, a poll (25 ms) apart at worst
	if testing.Short() {
		workers = 6 // still two per instance
	}
	var counter atomic.Int64
	var wg sync.WaitGroup
	for i := range workers {
		tb := tables[i%len(tables)]
		wg.Go(func() {
			held, err := tb.Acquire(context.Background(), "counter", time.Minute, time.Minute)
			if !assert.NoError(t, err) {
				return
			}
			defer held.Release(context.Background())
			v := counter.Load()
			time.Sleep(2 * time.Millisecond)
			counter.Store(v + 1)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(workers), counter.Load())
}

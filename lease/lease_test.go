package lease

import (
	"context"
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
		db, _ := databasetest.Open(t, cfg)
		tables = append(tables, New(db))
	}
	return tables
}

func TestALeaseHasOneHolderAtATime(t *testing.T) { databasetest.Run(t, testALeaseHasOneHolderAtATime) }

func testALeaseHasOneHolderAtATime(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	a, b := tables[0], tables[1]

	release, err := a.Acquire(ctx, "org-roles:org_1", time.Minute, 0)
	require.NoError(t, err)
	_, err = b.Acquire(ctx, "org-roles:org_1", time.Minute, 0)
	assert.ErrorIs(t, err, ErrBusy, "held by the other instance")
	other, err := b.Acquire(ctx, "org-roles:org_2", time.Minute, 0)
	require.NoError(t, err, "another name is another lease")
	other()

	release()
	again, err := b.Acquire(ctx, "org-roles:org_1", time.Minute, 0)
	require.NoError(t, err, "free once released")
	again()
}

func TestAWaitingCallerGetsTheLeaseWhenItIsReleased(t *testing.T) {
	databasetest.Run(t, testAWaitingCallerGetsTheLeaseWhenItIsReleased)
}

func testAWaitingCallerGetsTheLeaseWhenItIsReleased(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	release, err := tables[0].Acquire(ctx, "x", time.Minute, 0)
	require.NoError(t, err)
	time.AfterFunc(100*time.Millisecond, release)
	start := time.Now()
	second, err := tables[1].Acquire(ctx, "x", time.Minute, 5*time.Second)
	require.NoError(t, err)
	second()
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestALapsedLeaseIsTakenOverAndItsOldHolderCannotReleaseIt(t *testing.T) {
	databasetest.Run(t, testALapsedLeaseIsTakenOverAndItsOldHolderCannotReleaseIt)
}

func testALapsedLeaseIsTakenOverAndItsOldHolderCannotReleaseIt(t *testing.T, e database.Engine) {
	ctx := context.Background()
	tables := open(t, e, 2)
	now := time.Now()
	for _, tb := range tables {
		tb.now = func() time.Time { return now }
	}
	crashed, err := tables[0].Acquire(ctx, "x", time.Second, 0)
	require.NoError(t, err)

	now = now.Add(2 * time.Second) // the holder hung past its ttl
	release, err := tables[1].Acquire(ctx, "x", time.Second, 0)
	require.NoError(t, err, "a lapsed lease is free")

	crashed() // late: must not free the new holder's lease
	_, err = tables[0].Acquire(ctx, "x", time.Second, 0)
	assert.ErrorIs(t, err, ErrBusy)
	release()
}

func TestWaitingStopsWithTheContext(t *testing.T) {
	databasetest.Run(t, testWaitingStopsWithTheContext)
}

func testWaitingStopsWithTheContext(t *testing.T, e database.Engine) {
	tables := open(t, e, 1)
	release, err := tables[0].Acquire(context.Background(), "x", time.Minute, 0)
	require.NoError(t, err)
	defer release()
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
	var counter atomic.Int64
	var wg sync.WaitGroup
	for i := range 12 {
		tb := tables[i%len(tables)]
		wg.Go(func() {
			release, err := tb.Acquire(context.Background(), "counter", time.Minute, time.Minute)
			if !assert.NoError(t, err) {
				return
			}
			defer release()
			v := counter.Load()
			time.Sleep(2 * time.Millisecond)
			counter.Store(v + 1)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(12), counter.Load())
}

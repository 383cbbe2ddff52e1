package members

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestAPollerMissesNoRoleChange(t *testing.T) { databasetest.Run(t, testAPollerMissesNoRoleChange) }

// testAPollerMissesNoRoleChange has 10 writers (instances, each its own
// pool) record changes while another instance polls as fast as it can. A
// poller reads "id > the last id seen": a row whose id was taken before,
// but committed after, a row the poller already saw would be skipped for
// ever. Writers are serialized so that ids commit in order.
func testAPollerMissesNoRoleChange(t *testing.T, e database.Engine) {
	const writers, each = 10, 60
	cfg := databasetest.New(t, e)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, d := databasetest.Open(t, cfg)
	poller, err := newRoleChanges(ctx, db, d, log, time.Now)
	require.NoError(t, err)

	var done atomic.Bool
	var polls int
	pollerDone := make(chan struct{})
	go func() {
		defer close(pollerDone)
		for !done.Load() {
			if assert.NoError(t, poller.syncNow(ctx)) {
				polls++
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wdb, wd := databasetest.Open(t, cfg)
		c, err := newRoleChanges(ctx, wdb, wd, log, time.Now)
		require.NoError(t, err)
		wg.Go(func() {
			for i := range each {
				assert.NoError(t, c.Record(ctx, "org_1", fmt.Sprintf("usr_%d_%d", w, i)))
			}
		})
	}
	wg.Wait()
	done.Store(true)
	<-pollerDone
	require.NoError(t, poller.syncNow(ctx)) // the poll after the last write

	missed := 0
	poller.mu.RLock()
	for w := range writers {
		for i := range each {
			if _, ok := poller.members[member{"org_1", fmt.Sprintf("usr_%d_%d", w, i)}]; !ok {
				missed++
			}
		}
	}
	poller.mu.RUnlock()
	t.Logf("%s: %d polls, %d of %d changes missed", e, polls, missed, writers*each)
	assert.Zero(t, missed, "changes the poller never saw")
}

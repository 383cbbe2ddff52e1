package members

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestRoleChangesReachOtherInstancesWithinASecond(t *testing.T) {
	databasetest.Run(t, testRoleChangesReachOtherInstancesWithinASecond)
}

func testRoleChangesReachOtherInstancesWithinASecond(t *testing.T, e database.Engine) {
	cfg := databasetest.New(t, e)
	db, _ := databasetest.Open(t, cfg)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 500_000_000, time.UTC)
	clock := func() time.Time { return now }

	here, err := newRoleChanges(ctx, db, slog.New(slog.DiscardHandler), clock)
	require.NoError(t, err)
	other, _ := databasetest.Open(t, cfg)
	there, err := newRoleChanges(ctx, other, slog.New(slog.DiscardHandler), clock) // another app instance, same database
	require.NoError(t, err)

	issued := now.Add(-time.Minute)
	require.NoError(t, here.Record(ctx, "org_1", "usr_1"))

	tests := []struct {
		name     string
		c        *RoleChanges
		org      string
		user     string
		issuedAt time.Time
		want     bool
	}{
		{"a token older than the change is stale here at once", here, "org_1", "usr_1", issued, true},
		{"a token of the same second counts as older", here, "org_1", "usr_1", now.Truncate(time.Second), true},
		{"a token of the next second is fresh", here, "org_1", "usr_1", now.Truncate(time.Second).Add(time.Second), false},
		{"another user is not affected", here, "org_1", "usr_2", issued, false},
		{"the same user in another organization is not affected", here, "org_2", "usr_1", issued, false},
		{"another instance has not synced yet", there, "org_1", "usr_1", issued, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.c.ChangedAfter(ctx, tt.org, tt.user, tt.issuedAt))
		})
	}

	now = now.Add(syncInterval)
	assert.True(t, there.ChangedAfter(ctx, "org_1", "usr_1", issued), "another instance knows within syncInterval")
}

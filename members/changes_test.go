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

func TestRoleChangesCompareEachTokenWithItsOwnClock(t *testing.T) {
	databasetest.Run(t, testRoleChangesCompareEachTokenWithItsOwnClock)
}

func testRoleChangesCompareEachTokenWithItsOwnClock(t *testing.T, e database.Engine) {
	db, _ := databasetest.OpenNew(t, e)
	ctx := context.Background()
	appNow := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c, err := newRoleChanges(ctx, db, slog.New(slog.DiscardHandler), func() time.Time { return appNow })
	require.NoError(t, err)
	const skew = 15 * time.Second // the IdP's clock runs ahead of the app's
	idpNow := appNow.Add(skew)

	require.NoError(t, c.RecordDated(ctx, "org_1", "usr_dated", idpNow))
	require.NoError(t, c.Record(ctx, "org_1", "usr_undated")) // the IdP did not say when

	tests := []struct {
		name  string
		check func() bool
		want  bool
	}{
		{"a bearer token the skewed IdP minted before a change it dated is stale",
			func() bool { return c.IssuedBefore(ctx, "org_1", "usr_dated", idpNow.Add(-time.Second)) }, true},
		{"one it minted the next second is fresh at once",
			func() bool { return c.IssuedBefore(ctx, "org_1", "usr_dated", idpNow.Add(time.Second)) }, false},
		{"undated, a token from an IdP up to SkewMargin ahead is still stale",
			func() bool { return c.IssuedBefore(ctx, "org_1", "usr_undated", appNow.Add(SkewMargin)) }, true},
		{"undated, a token after the margin is fresh",
			func() bool { return c.IssuedBefore(ctx, "org_1", "usr_undated", appNow.Add(SkewMargin+time.Second)) }, false},
		{"a session that asked for its token before the change (app clock) refreshes",
			func() bool { return c.ChangedAfter(ctx, "org_1", "usr_dated", appNow.Add(-time.Millisecond)) }, true},
		{"a session that asked after it is fresh, whatever the IdP's clock",
			func() bool { return c.ChangedAfter(ctx, "org_1", "usr_dated", appNow.Add(time.Millisecond)) }, false},
		{"and so after an undated change: no margin for sessions, no refresh loop",
			func() bool { return c.ChangedAfter(ctx, "org_1", "usr_undated", appNow.Add(time.Millisecond)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.check()) })
	}
}

func TestOrganizationAndEnvironmentStampsCoverEveryMember(t *testing.T) {
	databasetest.Run(t, testOrganizationAndEnvironmentStampsCoverEveryMember)
}

func testOrganizationAndEnvironmentStampsCoverEveryMember(t *testing.T, e database.Engine) {
	db, _ := databasetest.OpenNew(t, e)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c, err := newRoleChanges(ctx, db, slog.New(slog.DiscardHandler), clock)
	require.NoError(t, err)
	old := now.Add(-time.Minute)

	require.NoError(t, c.RecordDated(ctx, "org_1", "", now))
	assert.True(t, c.IssuedBefore(ctx, "org_1", "usr_any", old), "an organization's stamp covers its members")
	assert.False(t, c.IssuedBefore(ctx, "org_2", "usr_any", old))

	require.NoError(t, c.RecordDated(ctx, "", "", now))
	assert.True(t, c.IssuedBefore(ctx, "org_2", "usr_any", old), "the environment's stamp covers every organization")

	other, err := newRoleChanges(ctx, db, slog.New(slog.DiscardHandler), clock) // another instance
	require.NoError(t, err)
	assert.True(t, other.IssuedBefore(ctx, "org_3", "usr_any", old), "stamps reach other instances")
	assert.True(t, other.ChangedAfter(ctx, "org_1", "usr_any", old))
}

package members

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// endedSessions records whose sessions the webhook ended.
type endedSessions struct {
	mu    sync.Mutex
	ended []member
}

func (s *endedSessions) EndSessions(_ context.Context, orgID, userID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = append(s.ended, member{orgID, userID})
	return 1, nil
}

// webhookEnv is a webhook receiver on a fresh database, with a fake IdP.
type webhookEnv struct {
	h        *Webhook
	idp      *fakeIdP
	leases   *lease.Table
	sessions *endedSessions
}

func newWebhookEnv(t *testing.T, engine database.Engine, roles map[string][]string) *webhookEnv {
	t.Helper()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	db, d := databasetest.OpenNew(t, engine)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	audit := NewAudit(db)
	changes, err := NewRoleChanges(ctx, db, d, log)
	require.NoError(t, err)
	dir := NewDirectory(db, d)
	leases := lease.New(db, d)
	idp := &fakeIdP{roles: roles}
	a := NewAssigner(idp, model, audit, changes, dir, leases, log)
	a.wait = 50 * time.Millisecond // a busy lease answers at once
	sessions := &endedSessions{}
	h, err := NewWebhook(db, d, testkit.WebhookSecret, idp, a, sessions, log)
	require.NoError(t, err)
	return &webhookEnv{h: h, idp: idp, leases: leases, sessions: sessions}
}

// deliver posts a signed event and returns the recorded answer.
func (e *webhookEnv) deliver(t *testing.T, id, body string) *httptest.ResponseRecorder {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(testkit.WebhookSecret)
	require.NoError(t, err)
	now := time.Now()
	sig, err := wh.Sign(id, now, []byte(body))
	require.NoError(t, err)
	r := httptest.NewRequest("POST", "/webhooks/scalekit", bytes.NewBufferString(body))
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	r.Header.Set("webhook-signature", sig)
	w := httptest.NewRecorder()
	require.NoError(t, e.h.Receive(w, r))
	return w
}

func TestADirectoryEventMeetingABusyOrganizationIsRetriedNotLost(t *testing.T) {
	databasetest.Run(t, testADirectoryEventMeetingABusyOrganizationIsRetriedNotLost)
}

func testADirectoryEventMeetingABusyOrganizationIsRetriedNotLost(t *testing.T, engine database.Engine) {
	tests := []struct {
		name      string
		body      string
		wantRoles []string
	}{
		{"a role change", `{"type":"organization.directory.user_updated","occurred_at":"2026-11-22T10:00:00Z",
			"data":{"user_id":"usr_bob","organization_id":"org_1","roles":[{"role_name":"viewer"}]}}`, []string{"viewer"}},
		{"a departure", `{"type":"organization.directory.user_deleted","occurred_at":"2026-11-22T10:00:00Z",
			"data":{"user_id":"usr_bob","organization_id":"org_1"}}`, []string{"project_manager"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t, engine, map[string][]string{"usr_alice": {"admin"}, "usr_bob": {"project_manager"}})
			// Another role change of org_1 holds the lease.
			held, err := e.leases.Acquire(context.Background(), orgLease("org_1"), time.Minute, 0)
			require.NoError(t, err)

			busy := e.deliver(t, "msg_1", tt.body)
			assert.Equal(t, http.StatusServiceUnavailable, busy.Code, busy.Body.String())
			assert.Equal(t, "5", busy.Header().Get("Retry-After"))
			assert.Contains(t, busy.Body.String(), `"status":"busy"`)
			assert.Equal(t, []string{"project_manager"}, e.idp.roles["usr_bob"], "nothing applied yet")
			assert.Empty(t, e.sessions.ended)

			held.Release(context.Background())
			retry := e.deliver(t, "msg_1", tt.body) // the sender's retry, same webhook-id
			assert.Equal(t, http.StatusOK, retry.Code)
			assert.Contains(t, retry.Body.String(), `"status":"applied"`, "the retry is applied, not a duplicate")
			assert.Equal(t, tt.wantRoles, e.idp.roles["usr_bob"])
		})
	}
}

func TestMembershipAndModelEventsStampTheTokensTheyConcern(t *testing.T) {
	databasetest.Run(t, testMembershipAndModelEventsStampTheTokensTheyConcern)
}

func testMembershipAndModelEventsStampTheTokensTheyConcern(t *testing.T, engine database.Engine) {
	e := newWebhookEnv(t, engine, map[string][]string{"usr_alice": {"admin"}, "usr_bob": {"project_manager"}})
	ctx := context.Background()
	require.NoError(t, e.h.assigner.dir.Join(ctx, "org_1", "usr_bob", "bob@example.com", []string{"project_manager"}))
	changes := e.h.assigner.changes
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) // the IdP's date of each change
	before, after := at.Add(-time.Second), at.Add(time.Second)

	// The IdP reports Bob's new roles; the event's own roles are not read.
	e.idp.roles["usr_bob"] = []string{"viewer"}
	resp := e.deliver(t, "msg_m", `{"type":"user.organization_membership_updated","occurred_at":"2026-11-22T10:00:00Z",
		"data":{"user":{"id":"usr_bob"},"organization":{"id":"org_1"},"roles":[{"name":"admin"}]}}`)
	require.Equal(t, http.StatusOK, resp.Code, resp.Body.String())
	assert.True(t, changes.IssuedBefore(ctx, "org_1", "usr_bob", before))
	assert.True(t, changes.IssuedBefore(ctx, "org_1", "usr_bob", at), "the same second counts as before")
	assert.False(t, changes.IssuedBefore(ctx, "org_1", "usr_bob", after), "dated by the IdP: no margin")
	assert.False(t, changes.IssuedBefore(ctx, "org_1", "usr_alice", before), "only Bob's tokens")
	list, err := e.h.assigner.dir.List(ctx, "org_1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"viewer"}, list[0].Roles, "the directory here follows the IdP")

	resp = e.deliver(t, "msg_r", `{"type":"role.updated","occurred_at":"2026-11-22T10:00:00Z","data":{"name":"auditor","organization_id":"org_2"}}`)
	require.Equal(t, http.StatusOK, resp.Code, resp.Body.String())
	assert.True(t, changes.IssuedBefore(ctx, "org_2", "usr_anyone", before), "an organization's role: its tokens")
	assert.False(t, changes.IssuedBefore(ctx, "org_1", "usr_alice", before), "not another organization's")

	resp = e.deliver(t, "msg_p", `{"type":"permission.updated","occurred_at":"2026-11-22T10:00:00Z","data":{"name":"projects:read"}}`)
	require.Equal(t, http.StatusOK, resp.Code, resp.Body.String())
	assert.True(t, changes.IssuedBefore(ctx, "org_1", "usr_alice", before), "an environment's permission: every organization")
	assert.True(t, changes.IssuedBefore(ctx, "org_9", "usr_x", before))
	assert.False(t, changes.IssuedBefore(ctx, "org_9", "usr_x", after))
}

// lapseClaims plays the database's clock passing every claim's time.
func lapseClaims(t *testing.T, db *sql.DB) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), `UPDATE webhook_events SET until = until - 3600000`)
	require.NoError(t, err)
}

func TestAnEventClaimedByACrashedInstanceIsAppliedOnceAfterItsClaimLapses(t *testing.T) {
	databasetest.Run(t, testAnEventClaimedByACrashedInstanceIsAppliedOnceAfterItsClaimLapses)
}

func testAnEventClaimedByACrashedInstanceIsAppliedOnceAfterItsClaimLapses(t *testing.T, engine database.Engine) {
	e := newWebhookEnv(t, engine, map[string][]string{"usr_alice": {"admin"}, "usr_bob": {"project_manager"}})
	var updates atomic.Int32
	e.idp.update = func(apply func()) error { updates.Add(1); apply(); return nil }
	const body = `{"type":"organization.directory.user_updated","occurred_at":"2026-11-22T10:00:00Z",
		"data":{"user_id":"usr_bob","organization_id":"org_1","roles":[{"role_name":"viewer"}]}}`

	// An instance claims the delivery, then dies before applying it.
	c, err := e.h.claim(context.Background(), "msg_1")
	require.NoError(t, err)
	require.NotEmpty(t, c.holder, "claimed")

	resp := e.deliver(t, "msg_1", body) // the sender's retry, while the claim is live
	assert.Equal(t, http.StatusServiceUnavailable, resp.Code, resp.Body.String())
	assert.Contains(t, resp.Body.String(), `"status":"processing"`)
	retryAfter, err := strconv.Atoi(resp.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, claimTTL.Seconds(), retryAfter, 10, "come back when the claim would lapse")
	assert.Zero(t, updates.Load(), "not applied by a second delivery while the first may still be at it")

	lapseClaims(t, e.h.db) // the claim's minute passes, by the database's clock
	resp = e.deliver(t, "msg_1", body)
	require.Equal(t, http.StatusOK, resp.Code, resp.Body.String())
	assert.Contains(t, resp.Body.String(), `"status":"applied"`, "the crashed instance's claim is taken over")
	assert.Equal(t, []string{"viewer"}, e.idp.roles["usr_bob"])

	lapseClaims(t, e.h.db) // a done event never lapses
	resp = e.deliver(t, "msg_1", body)
	require.Equal(t, http.StatusOK, resp.Code)
	assert.Contains(t, resp.Body.String(), `"status":"duplicate"`)
	assert.Equal(t, int32(1), updates.Load(), "applied exactly once")
}

func TestConcurrentClaimsAcrossInstancesHaveOneWinner(t *testing.T) {
	databasetest.Run(t, testConcurrentClaimsAcrossInstancesHaveOneWinner)
}

func testConcurrentClaimsAcrossInstancesHaveOneWinner(t *testing.T, engine database.Engine) {
	cfg := databasetest.New(t, engine)
	var instances []*Webhook
	for range 3 {
		db, d := databasetest.Open(t, cfg)
		h, err := NewWebhook(db, d, testkit.WebhookSecret, nil, nil, nil, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		instances = append(instances, h)
	}
	for round := range 10 {
		id := "msg_" + strconv.Itoa(round)
		if round%2 == 1 { // half the rounds race to take over a lapsed claim
			_, err := instances[0].claim(context.Background(), id)
			require.NoError(t, err)
			lapseClaims(t, instances[0].db)
		}
		var winners atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				c, err := instances[i%3].claim(context.Background(), id)
				if assert.NoError(t, err) && c.holder != "" {
					winners.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), winners.Load(), "round %d: exactly one delivery applies the event", round)
	}
}

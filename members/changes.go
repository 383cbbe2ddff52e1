package members

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// RoleChanges remembers when roles last changed, so tokens minted before
// a change stop counting at once instead of when they expire (up to five
// minutes later). It is the app's answer to "a token is a snapshot": the
// gate still reads only the token, but a token older than the last change
// that concerns it is refreshed (sessions) or refused (API).
//
// A change concerns one member (their roles changed), one organization (a
// role or permission of it changed: every member's token may be wrong), or
// every organization (an environment-wide role or permission changed). The
// check reads three stamps whatever the number of changes: it runs on
// every request.
//
// Each change carries two times, because two clocks are compared with it:
//   - when it was recorded, by the database's clock: a session compares it
//     with the moment it asked the IdP for its token, also read from the
//     database's clock (auth's keyObtained: the lease renewal just before
//     the token call, or a read at sign-in), so a session that refreshed
//     after the change is fresh at once and never refreshes again for it,
//     on whichever instance, whatever that instance's own clock says. (With
//     each instance's clock instead, one running a second slow would see a
//     token it asked for after a change as older, and one running fast
//     would pass a token asked for before it.)
//   - the time before which the IdP's tokens predate it, by the IdP's
//     clock: a bearer token only says when the IdP issued it (iat, whole
//     seconds by the IdP's clock), and an IdP whose clock runs ahead would
//     otherwise date a token minted before the change after it.
//
// Changes are written to the database and kept in memory. Other instances
// pick them up within milliseconds on PostgreSQL (a notification sent in
// the recording transaction, heard by Listen), and within syncInterval
// in any case (the poll, SQLite's only mechanism). The poll reads the rows
// after the last id it saw, which is sound only if ids become visible in
// their order: concurrent inserts on PostgreSQL take ids first and commit
// later, in any order (a poller then missed ~8% of rows), so Record
// serializes its writers under a transaction lock. Rows older than
// changeRetention are pruned.
type RoleChanges struct {
	db      *sql.DB
	dialect database.Dialect
	log     *slog.Logger
	now     func() time.Time // only for when to poll and prune: stamps are the database's time

	mu       sync.RWMutex
	members  map[member]stamp // a member's roles changed
	orgs     map[string]stamp // a role or permission of an organization changed
	all      stamp            // an environment-wide role or permission changed
	syncedAt time.Time
	lastID   int64
	syncing  sync.Mutex // one load at a time; held while loading
	prunedAt time.Time  // guarded by syncing
}

// member identifies a user in an organization (a struct key: no string
// building on the per-request path).
type member struct{ orgID, userID string }

// stamp is the latest change of a scope.
type stamp struct {
	changed time.Time // by the database's clock
	issued  time.Time // by the IdP's clock: tokens issued at or before it predate the change
}

// merge keeps the later of each time.
func (s stamp) merge(o stamp) stamp {
	if o.changed.After(s.changed) {
		s.changed = o.changed
	}
	if o.issued.After(s.issued) {
		s.issued = o.issued
	}
	return s
}

// syncInterval bounds how stale another instance's view can be, should
// notifications fail (and on SQLite, which has none).
const syncInterval = time.Second

// changeRetention is how long a change is kept. A change matters while a
// token issued before it may still be presented: an access token lives
// minutes (Scalekit's default is 5), and a session's token is refreshed
// when it expires anyway. A day is far beyond any access-token lifetime an
// IdP is configured with, so a pruned row is never one still needed; an
// environment configured with longer-lived tokens must raise it.
const changeRetention = 24 * time.Hour

// pruneEvery is how often an instance prunes (any instance may: the
// delete is idempotent).
const pruneEvery = time.Hour

// notifyChannel is the PostgreSQL notification channel of role changes;
// the payload is the row's id.
const notifyChannel = "role_changes"

// SkewMargin is added to the database's clock to date a change for bearer
// tokens when the IdP did not say when the change happened by its own
// clock. It equals the clock skew the token verifier tolerates on iat and
// nbf (auth's clockLeeway): an IdP that far ahead is one the app accepts,
// so its tokens minted before the change must still count as older. The
// price is that bearer tokens minted within the margin after such a
// change are refused too; the IdPs this app talks to date their answers
// (an HTTP Date header, a webhook's occurred_at), which avoids it.
const SkewMargin = 30 * time.Second

// NewRoleChanges loads the role_changes table (created by db's
// migrations); d is db's dialect. On PostgreSQL, run Listen too.
func NewRoleChanges(ctx context.Context, db *sql.DB, d database.Dialect, log *slog.Logger) (*RoleChanges, error) {
	return newRoleChanges(ctx, db, d, log, time.Now)
}

func newRoleChanges(ctx context.Context, db *sql.DB, d database.Dialect, log *slog.Logger, now func() time.Time) (*RoleChanges, error) {
	c := &RoleChanges{db: db, dialect: d, log: log, now: now, members: map[member]stamp{}, orgs: map[string]stamp{}}
	if err := c.syncNow(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Listen brings changes recorded by other instances in within milliseconds
// on PostgreSQL: it listens for their notifications on a connection of its
// own to the database cfg names, and loads the new rows on each, and after
// every (re)connect (a notification sent while it was down is lost). It
// returns when ctx ends; on SQLite, at once (the poll does it all).
func (c *RoleChanges) Listen(ctx context.Context, cfg database.Config) error {
	load := func() {
		if err := c.syncNow(ctx); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "role changes: load after a notification failed; the poll will retry", "err", err)
		}
	}
	return database.Listen(ctx, cfg, notifyChannel, c.log, load, func(string) { load() })
}

// Record notes that the user's roles in the organization changed now, as
// far as the app's clock can tell (see RecordDated).
func (c *RoleChanges) Record(ctx context.Context, orgID, userID string) error {
	return c.RecordDated(ctx, orgID, userID, time.Time{})
}

// RecordDated notes a change of roles now, which the IdP dated idpTime by
// its own clock (zero: unknown, then the app's clock plus SkewMargin). An
// empty userID is a change for every member of the organization, and an
// empty orgID too for every organization.
func (c *RoleChanges) RecordDated(ctx context.Context, orgID, userID string, idpTime time.Time) error {
	if orgID == "" {
		userID = ""
	}
	var issued int64 // 0: undated, read as changed_at + SkewMargin
	if !idpTime.IsZero() {
		issued = idpTime.UnixMilli()
	}
	id, at, err := c.insert(ctx, orgID, userID, issued)
	if err != nil {
		return fmt.Errorf("record role change: %w", err)
	}
	c.mu.Lock()
	c.put(orgID, userID, newStamp(at, issued))
	c.mu.Unlock()
	c.log.DebugContext(ctx, "role change recorded", "id", id, "org", orgID, "user", userID)
	return nil
}

// insert writes a change dated by the database's clock, and returns its id
// and that date. Writers take turns (the transaction lock on PostgreSQL;
// SQLite's write lock), so that ids become visible in their order, and
// the notification goes out with the commit, never before.
func (c *RoleChanges) insert(ctx context.Context, orgID, userID string, issued int64) (id, at int64, err error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if lock := c.dialect.LockXact(1); lock != "" {
		if _, err := tx.ExecContext(ctx, lock, "role_changes"); err != nil {
			return 0, 0, err
		}
	}
	if err := tx.QueryRowContext(ctx,
		`INSERT INTO role_changes (org_id, user_id, changed_at, issued_before) VALUES ($1, $2, `+c.dialect.Now()+`, $3)
		 RETURNING id, changed_at`,
		orgID, userID, issued).Scan(&id, &at); err != nil {
		return 0, 0, err
	}
	if notify := c.dialect.Notify(); notify != "" {
		if _, err := tx.ExecContext(ctx, notify, notifyChannel, strconv.FormatInt(id, 10)); err != nil {
			return 0, 0, err
		}
	}
	return id, at, tx.Commit()
}

// newStamp is the stamp of a row: changed_at and issued_before in unix ms.
func newStamp(at, issued int64) stamp {
	st := stamp{changed: time.UnixMilli(at).UTC(), issued: time.UnixMilli(issued).UTC()}
	if issued == 0 {
		st.issued = st.changed.Add(SkewMargin)
	}
	return st
}

// put merges st into its scope's stamp. The caller holds c.mu.
func (c *RoleChanges) put(orgID, userID string, st stamp) {
	switch {
	case orgID == "":
		c.all = c.all.merge(st)
	case userID == "":
		c.orgs[orgID] = c.orgs[orgID].merge(st)
	default:
		c.members[member{orgID, userID}] = c.members[member{orgID, userID}].merge(st)
	}
}

// ChangedAfter reports whether the user's roles in the organization may
// have changed at or after since, the moment, by the database's clock, a
// session asked the IdP for its token: its roles may then be out of date.
// A session refreshed after the change passes a later moment, and is
// fresh at once. (For a token's iat, by the IdP's clock, see IssuedBefore.)
func (c *RoleChanges) ChangedAfter(ctx context.Context, orgID, userID string, since time.Time) bool {
	st := c.latest(ctx, orgID, userID)
	return !st.changed.IsZero() && !since.After(st.changed)
}

// IssuedBefore reports whether a token the IdP issued at iat (whole
// seconds, by the IdP's clock) may predate the last change of the user's
// roles in the organization. A token of the same second as the IdP's date
// of the change counts as older: it may be.
func (c *RoleChanges) IssuedBefore(ctx context.Context, orgID, userID string, iat time.Time) bool {
	st := c.latest(ctx, orgID, userID)
	return !st.issued.IsZero() && !iat.After(st.issued)
}

// latest is the merged stamp of the member, their organization and every
// organization, after a sync if the last one is older than syncInterval.
func (c *RoleChanges) latest(ctx context.Context, orgID, userID string) stamp {
	if c.now().Sub(c.lastSync()) >= syncInterval {
		if err := c.sync(ctx); err != nil {
			c.log.WarnContext(ctx, "role changes: sync failed; using what is known", "err", err)
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.all.merge(c.orgs[orgID]).merge(c.members[member{orgID, userID}])
}

func (c *RoleChanges) lastSync() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.syncedAt
}

// sync is the poll of a request: if another load is running, the request
// goes on with what is known rather than wait.
func (c *RoleChanges) sync(ctx context.Context) error {
	if !c.syncing.TryLock() {
		return nil
	}
	defer c.syncing.Unlock()
	return c.load(ctx)
}

// syncNow loads, waiting for a load in progress to end first: that one
// may have read before the change that the caller was told of committed.
func (c *RoleChanges) syncNow(ctx context.Context) error {
	c.syncing.Lock()
	defer c.syncing.Unlock()
	return c.load(ctx)
}

// load reads the changes recorded since the last load (by any instance),
// and prunes once in a while. The caller holds c.syncing.
func (c *RoleChanges) load(ctx context.Context) error {
	c.mu.RLock()
	after := c.lastID
	c.mu.RUnlock()
	rows, err := c.db.QueryContext(ctx,
		`SELECT id, org_id, user_id, changed_at, issued_before FROM role_changes WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		return fmt.Errorf("sync role changes: %w", err)
	}
	defer rows.Close()
	c.mu.Lock()
	for rows.Next() {
		var id, at, issued int64
		var org, user string
		if err := rows.Scan(&id, &org, &user, &at, &issued); err != nil {
			c.mu.Unlock()
			return fmt.Errorf("sync role changes: %w", err)
		}
		c.put(org, user, newStamp(at, issued))
		c.lastID = id
	}
	c.syncedAt = c.now()
	c.mu.Unlock()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sync role changes: %w", err)
	}
	if c.now().Sub(c.prunedAt) >= pruneEvery {
		c.prunedAt = c.now()
		if err := c.prune(ctx); err != nil {
			c.log.WarnContext(ctx, "role changes: prune failed", "err", err)
		}
	}
	return nil
}

// prune deletes the rows older than changeRetention, and forgets the
// stamps as old: no token they could make stale is still valid. The
// in-memory cut-off is by this instance's clock, an hour later than the
// database's, so that no plausible skew drops a stamp the table keeps.
func (c *RoleChanges) prune(ctx context.Context) error {
	if _, err := c.db.ExecContext(ctx,
		`DELETE FROM role_changes WHERE changed_at < `+c.dialect.Now()+` - $1`, changeRetention.Milliseconds()); err != nil {
		return fmt.Errorf("prune role changes: %w", err)
	}
	cut := c.now().Add(-changeRetention - time.Hour)
	old := func(st stamp) bool { return st.changed.Before(cut) && st.issued.Before(cut) }
	c.mu.Lock()
	defer c.mu.Unlock()
	maps.DeleteFunc(c.members, func(_ member, st stamp) bool { return old(st) })
	maps.DeleteFunc(c.orgs, func(_ string, st stamp) bool { return old(st) })
	if old(c.all) {
		c.all = stamp{}
	}
	return nil
}

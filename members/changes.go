package members

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
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
//   - when the app recorded it, by the app's clock: a session compares it
//     with the moment it asked the IdP for its token, also by the app's
//     clock, so a session that refreshed after the change is fresh at once
//     and never refreshes again for it;
//   - the time before which the IdP's tokens predate it, by the IdP's
//     clock: a bearer token only says when the IdP issued it (iat, whole
//     seconds by the IdP's clock), and an IdP whose clock runs ahead would
//     otherwise date a token minted before the change after it.
//
// Changes are written to the database and kept in memory; other instances
// sharing the database pick them up within syncInterval.
type RoleChanges struct {
	db  *sql.DB
	log *slog.Logger
	now func() time.Time

	mu       sync.RWMutex
	members  map[member]stamp // a member's roles changed
	orgs     map[string]stamp // a role or permission of an organization changed
	all      stamp            // an environment-wide role or permission changed
	syncedAt time.Time
	lastID   int64
	syncing  sync.Mutex
}

// member identifies a user in an organization (a struct key: no string
// building on the per-request path).
type member struct{ orgID, userID string }

// stamp is the latest change of a scope.
type stamp struct {
	changed time.Time // by the app's clock
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

// syncInterval bounds how stale another instance's view can be.
const syncInterval = time.Second

// SkewMargin is added to the app's clock to date a change for bearer
// tokens when the IdP did not say when the change happened by its own
// clock. It equals the clock skew the token verifier tolerates on iat and
// nbf (auth's clockLeeway): an IdP that far ahead is one the app accepts,
// so its tokens minted before the change must still count as older. The
// price is that bearer tokens minted within the margin after such a
// change are refused too; the IdPs this app talks to date their answers
// (an HTTP Date header, a webhook's occurred_at), which avoids it.
const SkewMargin = 30 * time.Second

// NewRoleChanges loads the role_changes table (created by db's migrations).
func NewRoleChanges(ctx context.Context, db *sql.DB, log *slog.Logger) (*RoleChanges, error) {
	return newRoleChanges(ctx, db, log, time.Now)
}

func newRoleChanges(ctx context.Context, db *sql.DB, log *slog.Logger, now func() time.Time) (*RoleChanges, error) {
	c := &RoleChanges{db: db, log: log, now: now, members: map[member]stamp{}, orgs: map[string]stamp{}}
	if err := c.sync(ctx); err != nil {
		return nil, err
	}
	return c, nil
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
	at := c.now().UTC()
	st := stamp{changed: at, issued: idpTime.UTC()}
	if idpTime.IsZero() {
		st.issued = at.Add(SkewMargin)
	}
	if orgID == "" {
		userID = ""
	}
	if _, err := c.db.ExecContext(ctx,
		`INSERT INTO role_changes (org_id, user_id, changed_at, issued_before) VALUES ($1, $2, $3, $4)`,
		orgID, userID, at.UnixMilli(), st.issued.UnixMilli()); err != nil {
		return fmt.Errorf("record role change: %w", err)
	}
	c.mu.Lock()
	c.put(orgID, userID, st)
	c.mu.Unlock()
	return nil
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
// have changed at or after since, the moment, by the app's clock, a
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

// sync loads the changes recorded since the last sync (by any instance).
// One caller syncs at a time; the others go on with what is known.
func (c *RoleChanges) sync(ctx context.Context) error {
	if !c.syncing.TryLock() {
		return nil
	}
	defer c.syncing.Unlock()
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
	defer c.mu.Unlock()
	for rows.Next() {
		var id, at, issued int64
		var org, user string
		if err := rows.Scan(&id, &org, &user, &at, &issued); err != nil {
			return fmt.Errorf("sync role changes: %w", err)
		}
		st := stamp{changed: time.UnixMilli(at).UTC(), issued: time.UnixMilli(issued).UTC()}
		if issued == 0 {
			st.issued = st.changed.Add(SkewMargin)
		}
		c.put(org, user, st)
		c.lastID = id
	}
	c.syncedAt = c.now()
	return rows.Err()
}

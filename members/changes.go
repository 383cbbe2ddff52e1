package members

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RoleChanges remembers when each user's roles last changed, so tokens
// minted before the change stop counting at once instead of when they
// expire (up to five minutes later). It is the app's answer to "a token is
// a snapshot": the gate still reads only the token, but a token older than
// its user's last role change is refreshed (sessions) or refused (API).
//
// Changes are written to the database and kept in memory; other instances
// sharing the database pick them up within syncInterval.
type RoleChanges struct {
	db  *sql.DB
	log *slog.Logger
	now func() time.Time

	mu       sync.RWMutex
	changed  map[member]time.Time // when each member's roles last changed
	syncedAt time.Time
	lastID   int64
	syncing  sync.Mutex
}

// member identifies a user in an organization (a struct key: no string
// building on the per-request path).
type member struct{ orgID, userID string }

// syncInterval bounds how stale another instance's view can be.
const syncInterval = time.Second

// NewRoleChanges loads the role_changes table (created by db's migrations).
func NewRoleChanges(ctx context.Context, db *sql.DB, log *slog.Logger) (*RoleChanges, error) {
	return newRoleChanges(ctx, db, log, time.Now)
}

func newRoleChanges(ctx context.Context, db *sql.DB, log *slog.Logger, now func() time.Time) (*RoleChanges, error) {
	c := &RoleChanges{db: db, log: log, now: now, changed: map[member]time.Time{}}
	if err := c.sync(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Record notes that the user's roles in the organization changed now.
func (c *RoleChanges) Record(ctx context.Context, orgID, userID string) error {
	at := c.now().UTC()
	if _, err := c.db.ExecContext(ctx,
		`INSERT INTO role_changes (org_id, user_id, changed_at) VALUES ($1, $2, $3)`,
		orgID, userID, at.UnixMilli()); err != nil {
		return fmt.Errorf("record role change: %w", err)
	}
	c.mu.Lock()
	c.changed[member{orgID, userID}] = at
	c.mu.Unlock()
	return nil
}

// ChangedAfter reports whether the user's roles changed at or after since,
// the moment a token's roles were read: its roles may then be out of date.
// For a bearer token since is its iat, in whole seconds, so a token minted
// in the same second as the change counts as stale (it may be); a session
// passes the precise time it asked the IdP for its tokens, so a token
// refreshed after the change is fresh at once.
func (c *RoleChanges) ChangedAfter(ctx context.Context, orgID, userID string, since time.Time) bool {
	if c.now().Sub(c.lastSync()) >= syncInterval {
		if err := c.sync(ctx); err != nil {
			c.log.WarnContext(ctx, "role changes: sync failed; using what is known", "err", err)
		}
	}
	c.mu.RLock()
	at, ok := c.changed[member{orgID, userID}]
	c.mu.RUnlock()
	return ok && !since.After(at)
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
		`SELECT id, org_id, user_id, changed_at FROM role_changes WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		return fmt.Errorf("sync role changes: %w", err)
	}
	defer rows.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for rows.Next() {
		var id, at int64
		var org, user string
		if err := rows.Scan(&id, &org, &user, &at); err != nil {
			return fmt.Errorf("sync role changes: %w", err)
		}
		if t := time.UnixMilli(at).UTC(); t.After(c.changed[member{org, user}]) {
			c.changed[member{org, user}] = t
		}
		c.lastID = id
	}
	c.syncedAt = c.now()
	return rows.Err()
}

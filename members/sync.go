package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Sync makes the organization's members here those the IdP lists: new ones
// become assignable before they ever sign in, names and roles follow the
// IdP, and those the IdP no longer lists are removed. Members the
// directory sync said had left (Forget) stay out until they sign in again.
// The app runs it at each sign-in, best effort.
func (d *Directory) Sync(ctx context.Context, idp IdP, orgID string) error {
	users, err := idp.ListOrganizationUsers(ctx, orgID)
	if err != nil {
		return fmt.Errorf("sync members of %s: %w", orgID, err)
	}
	if len(users) == 0 {
		// Someone of the organization just signed in: an empty list is a
		// fault somewhere, not a reason to forget everybody.
		return fmt.Errorf("sync members of %s: the IdP lists nobody", orgID)
	}
	if err := d.orgTx(ctx, orgID, func(tx *sql.Tx) error { return d.syncIn(ctx, tx, orgID, users) }); err != nil {
		return fmt.Errorf("sync members of %s: %w", orgID, err)
	}
	return nil
}

// syncIn writes the listing users in tx, which holds the organization's
// lock: a Forget cannot commit between the read of who left and the
// writes, only before (then its leaver stays out) or after (then it
// removes them).
func (d *Directory) syncIn(ctx context.Context, tx *sql.Tx, orgID string, users []scalekit.User) error {
	left := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT user_id FROM members_left WHERE org_id = $1`, orgID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		left[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if d.afterLeftRead != nil {
		d.afterLeftRead()
	}
	var ids []any
	for _, u := range users {
		if left[u.ID] {
			continue
		}
		if err := listMember(ctx, tx, orgID, u.ID, u.Email, u.Profile.Name, u.RolesIn(orgID)); err != nil {
			return err
		}
		ids = append(ids, u.ID)
	}
	// Forget the others. (The list goes as one JSON parameter, however
	// long it is: the one statement whose text differs between engines.)
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`DELETE FROM members WHERE org_id = $1 AND user_id NOT IN (SELECT value FROM `+d.dialect.JSONStrings(2)+`)`,
		orgID, string(list))
	return err
}

// OrgSync runs Directory.Sync for an organization at most once per
// interval, across every instance sharing the database: an organization of
// thousands should not cost a full listing at the IdP on every sign-in,
// nor one per instance. The time of the last listing is a row per
// organization, dated by the database's clock and taken by a conditional
// write, as a lease is: of instances signing members in at once, one lists.
type OrgSync struct {
	dir   *Directory
	idp   IdP
	every time.Duration
}

// NewOrgSync returns an OrgSync that syncs each organization at most once
// per every.
func NewOrgSync(dir *Directory, idp IdP, every time.Duration) *OrgSync {
	return &OrgSync{dir: dir, idp: idp, every: every}
}

// Refresh syncs the organization's members unless that was begun, by any
// instance, less than the interval ago. A failed sync is retried at the
// next call.
func (s *OrgSync) Refresh(ctx context.Context, orgID string) error {
	db, now := s.dir.db, s.dir.dialect.Now()
	var started int64
	err := db.QueryRowContext(ctx,
		`INSERT INTO org_syncs (org_id, started_at) VALUES ($1, `+now+`)
		 ON CONFLICT (org_id) DO UPDATE SET started_at = excluded.started_at
		 WHERE org_syncs.started_at <= excluded.started_at - $2
		 RETURNING started_at`, orgID, s.every.Milliseconds()).Scan(&started)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // synced within the interval
	}
	if err != nil {
		return fmt.Errorf("sync members of %s: %w", orgID, err)
	}
	if err := s.dir.Sync(ctx, s.idp, orgID); err != nil {
		// Give the turn back (unless a later one took it meanwhile).
		if _, derr := db.ExecContext(context.WithoutCancel(ctx),
			`DELETE FROM org_syncs WHERE org_id = $1 AND started_at = $2`, orgID, started); derr != nil {
			return fmt.Errorf("%w (and its turn was kept: %w)", err, derr)
		}
		return err
	}
	return nil
}

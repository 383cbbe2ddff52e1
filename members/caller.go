package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

// RememberCaller records the principal of a verified API token as a member
// of its organization, as Remember does for a sign-in: a user who only ever
// calls the API can be assigned tasks too, with an IdP that has no
// management API to list them. An access token carries no profile, so the
// email and name on file are kept. A token issued before the directory
// removed its user does not bring them back; one issued after does, as a
// sign-in would.
func (d *Directory) RememberCaller(ctx context.Context, p *auth.Principal) error {
	if p.OrgID == "" {
		return nil
	}
	roles, err := json.Marshal(p.Roles)
	if err != nil {
		return fmt.Errorf("remember API caller: %w", err)
	}
	// The read of the departure and the writes in one transaction under the
	// organization's lock: a Forget cannot slip in between and be undone.
	err = d.orgTx(ctx, p.OrgID, func(tx *sql.Tx) error {
		var leftAt int64
		err := tx.QueryRowContext(ctx, `SELECT left_at FROM members_left WHERE org_id = $1 AND user_id = $2`, p.OrgID, p.Subject).Scan(&leftAt)
		switch {
		case err == nil && p.IssuedAt.UnixMilli() <= leftAt:
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO members (org_id, user_id, roles, last_seen) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (org_id, user_id) DO UPDATE SET roles = excluded.roles, last_seen = excluded.last_seen`,
			p.OrgID, p.Subject, string(roles), d.now().UTC().UnixMilli()); err != nil {
			return err
		}
		return clearLeft(ctx, tx, p.OrgID, p.Subject)
	})
	if err != nil {
		return fmt.Errorf("remember API caller: %w", err)
	}
	return nil
}

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
	var leftAt int64
	err := d.db.QueryRowContext(ctx, `SELECT left_at FROM members_left WHERE org_id = $1 AND user_id = $2`, p.OrgID, p.Subject).Scan(&leftAt)
	switch {
	case err == nil && p.IssuedAt.UnixMilli() <= leftAt:
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("remember API caller: %w", err)
	}
	roles, err := json.Marshal(p.Roles)
	if err != nil {
		return fmt.Errorf("remember API caller: %w", err)
	}
	if _, err := d.db.ExecContext(ctx,
		`INSERT INTO members (org_id, user_id, roles, last_seen) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (org_id, user_id) DO UPDATE SET roles = excluded.roles, last_seen = excluded.last_seen`,
		p.OrgID, p.Subject, string(roles), d.now().UTC().UnixMilli()); err != nil {
		return fmt.Errorf("remember API caller: %w", err)
	}
	if err := clearLeft(ctx, d.db, p.OrgID, p.Subject); err != nil {
		return fmt.Errorf("remember API caller: %w", err)
	}
	return nil
}

package members

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Directory-sync events can arrive out of order: a sender retries a failed
// delivery after newer ones went through. The time of the last directory
// event applied to each member is kept, and an older event is skipped, so
// that a late retry never rolls a member back to roles they no longer have.

// errStale is a directory event older than one already applied.
var errStale = errors.New("an older directory event than the one already applied to this member")

// checkSyncOrder records at as the member's newest directory event, or
// returns errStale if a newer one was recorded: one conditional write, so
// check and record cannot be split by another event. An event as old as
// the newest passes: it is that event again, redelivered after a failure.
func (d *Directory) checkSyncOrder(ctx context.Context, orgID, userID string, at time.Time) error {
	res, err := d.db.ExecContext(ctx,
		`INSERT INTO directory_sync (org_id, user_id, occurred_at) VALUES ($1, $2, $3)
		 ON CONFLICT (org_id, user_id) DO UPDATE SET occurred_at = excluded.occurred_at
		 WHERE excluded.occurred_at >= directory_sync.occurred_at`,
		orgID, userID, at.UnixNano())
	if err != nil {
		return fmt.Errorf("directory sync order: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("directory sync order: %w", err)
	} else if n == 0 {
		return errStale
	}
	return nil
}

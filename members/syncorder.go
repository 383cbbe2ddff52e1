package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Directory-sync events can arrive out of order: a sender retries a failed
// delivery after newer ones went through. The time of the last directory
// event applied to each member is kept, and an older event is skipped, so
// that a late retry never rolls a member back to roles they no longer have.

const syncSchema = `
CREATE TABLE IF NOT EXISTS directory_sync (
	org_id      TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	occurred_at INTEGER NOT NULL, -- unix ns of the newest event applied to the member
	PRIMARY KEY (org_id, user_id)
);`

// errStale is a directory event older than one already applied.
var errStale = errors.New("an older directory event than the one already applied to this member")

// checkSyncOrder records at as the member's newest directory event, or
// returns errStale if a newer one was recorded. An event as old as the
// newest passes: it is that event again, redelivered after a failure.
// Callers hold the organization's lease, so check and record are one step.
func (d *Directory) checkSyncOrder(ctx context.Context, orgID, userID string, at time.Time) error {
	var last int64
	err := d.db.QueryRowContext(ctx, `SELECT occurred_at FROM directory_sync WHERE org_id = ? AND user_id = ?`,
		orgID, userID).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("directory sync order: %w", err)
	}
	if err == nil && at.UnixNano() < last {
		return errStale
	}
	if _, err := d.db.ExecContext(ctx,
		`INSERT INTO directory_sync (org_id, user_id, occurred_at) VALUES (?, ?, ?)
		 ON CONFLICT (org_id, user_id) DO UPDATE SET occurred_at = excluded.occurred_at`,
		orgID, userID, at.UnixNano()); err != nil {
		return fmt.Errorf("directory sync order: %w", err)
	}
	return nil
}

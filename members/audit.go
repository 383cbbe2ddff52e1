package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Sources of a role change, as the audit log shows them.
const (
	SourceApp           = "app"
	SourceDirectorySync = "directory_sync"
)

// Outcomes of a role-change attempt.
const (
	OutcomeChanged = "changed"
	OutcomeRefused = "refused"
	// OutcomeUnchanged: the member already had those roles.
	OutcomeUnchanged = "unchanged"
	// OutcomeSkipped: a directory event older than one already applied.
	OutcomeSkipped = "skipped"
)

// Entry is one line of the audit log: who tried to give whom which roles,
// in which organization, through what, and what came of it.
type Entry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	OrgID    string    `json:"org_id"`
	Actor    string    `json:"actor"` // user id, or the webhook id for directory sync
	Target   string    `json:"target"`
	OldRoles []string  `json:"old_roles"`
	NewRoles []string  `json:"new_roles"`
	Source   string    `json:"source"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
}

// AuditLog is where role changes are recorded: an interface so that
// another store can take the SQL one's place without touching handlers.
type AuditLog interface {
	Record(ctx context.Context, e Entry) error
	List(ctx context.Context, orgID string, limit int) ([]Entry, error)
}

// Audit is the append-only audit log of role changes, in the app's database.
type Audit struct {
	db  *sql.DB
	now func() time.Time
}

// NewAudit returns the audit log on db, whose migrations created its table.
func NewAudit(db *sql.DB) *Audit {
	return &Audit{db: db, now: time.Now}
}

// Record appends e (its ID and At are set here).
func (a *Audit) Record(ctx context.Context, e Entry) error {
	oldRoles, _ := json.Marshal(nonNil(e.OldRoles))
	newRoles, _ := json.Marshal(nonNil(e.NewRoles))
	_, err := a.db.ExecContext(ctx,
		`INSERT INTO audit_log (at, org_id, actor, target, old_roles, new_roles, source, outcome, reason)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.now().UTC().UnixMilli(), e.OrgID, e.Actor, e.Target, string(oldRoles), string(newRoles), e.Source, e.Outcome, e.Reason)
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// List returns the organization's entries, newest first, at most limit.
func (a *Audit) List(ctx context.Context, orgID string, limit int) ([]Entry, error) {
	rows, err := a.db.QueryContext(ctx,
		`SELECT id, at, org_id, actor, target, old_roles, new_roles, source, outcome, reason
		 FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	var list []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var oldRoles, newRoles string
		if err := rows.Scan(&e.ID, &at, &e.OrgID, &e.Actor, &e.Target, &oldRoles, &newRoles, &e.Source, &e.Outcome, &e.Reason); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		if err := json.Unmarshal([]byte(oldRoles), &e.OldRoles); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		if err := json.Unmarshal([]byte(newRoles), &e.NewRoles); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		list = append(list, e)
	}
	return list, rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

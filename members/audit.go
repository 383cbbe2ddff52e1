package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
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
	// ListBefore pages through the log: at most limit entries older than
	// the one with id before (0: from the newest), newest first.
	ListBefore(ctx context.Context, orgID string, before int64, limit int) ([]Entry, error)
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

// Record appends e (its ID and At are set here), cut to the bounds of
// an entry (see bound).
func (a *Audit) Record(ctx context.Context, e Entry) error {
	e = bound(e)
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
	return a.ListBefore(ctx, orgID, 0, limit)
}

// ListBefore returns at most limit of the organization's entries older
// than the one with id before (0: from the newest), newest first: keyset
// paging, so a page is one index range scan however long the log is.
func (a *Audit) ListBefore(ctx context.Context, orgID string, before int64, limit int) ([]Entry, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := a.db.QueryContext(ctx,
		`SELECT id, at, org_id, actor, target, old_roles, new_roles, source, outcome, reason
		 FROM audit_log WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, orgID, before, limit)
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

// Bounds of what one audit entry stores. Refused attempts are recorded
// before anything else looked at them, with the path and form their sender
// chose: these bounds are what keeps anyone who can post from filling the
// database, and the admin's /audit page, with their input. Whatever is
// sent, an entry stays a few hundred bytes.
const (
	maxIDLen     = 64  // of an id that is not a well-formed identifier (well-formed ones have at most 128)
	maxRoleLen   = 64  // of one role name (Scalekit's have at most 64)
	maxRolesLen  = 192 // of one list of role names, all together
	maxReasonLen = 160
	maxWordLen   = 32 // of the source and the outcome (the app's own words)
)

// bound cuts e's fields to the bounds above, marking every cut, so that the
// log still shows that someone sent something long, and what it began with.
func bound(e Entry) Entry {
	e.OrgID, e.Actor, e.Target = boundID(e.OrgID), boundID(e.Actor), boundID(e.Target)
	e.OldRoles, e.NewRoles = boundRoles(e.OldRoles), boundRoles(e.NewRoles)
	e.Reason = clip(e.Reason, maxReasonLen)
	e.Source, e.Outcome = clip(e.Source, maxWordLen), clip(e.Outcome, maxWordLen)
	return e
}

// boundID keeps a well-formed identifier as it is and cuts anything else.
func boundID(id string) string {
	if identifier.MatchString(id) {
		return id
	}
	return clip(id, maxIDLen)
}

// boundRoles cuts each name, then the list once the names together pass
// maxRolesLen: a form can repeat the role field thousands of times.
func boundRoles(roles []string) []string {
	var out []string
	total := 0
	for i, r := range roles {
		r = clip(r, maxRoleLen)
		if total += len(r); total > maxRolesLen {
			return append(out, fmt.Sprintf("…(%d more)", len(roles)-i))
		}
		out = append(out, r)
	}
	return out
}

// clip returns s if it is text (plaintext.Valid) of at most max bytes;
// otherwise its beginning, at most max bytes, with invalid UTF-8 and
// control characters as "?", and a marker saying how much was cut. A NUL
// or invalid UTF-8 stored as sent would fail the insert on PostgreSQL, and
// the attempt would leave no trace; line breaks would let a sender forge
// lines in anything that prints the log line by line.
func clip(s string, max int) string {
	return plaintext.Sanitize(plaintext.Cut(s, max))
}

// Package members knows the people of each organization: who has signed
// in, with which roles. Task assignment checks that an assignee belongs to
// the caller's organization here, and /members lists them.
package members

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
)

// Member is a user of an organization as last seen at sign-in.
type Member struct {
	UserID   string    `json:"user_id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Roles    []string  `json:"roles"`
	LastSeen time.Time `json:"last_seen"`
}

// DisplayName is the member's name, or their email, or their id.
func (m Member) DisplayName() string {
	switch {
	case m.Name != "":
		return m.Name
	case m.Email != "":
		return m.Email
	}
	return m.UserID
}

// Directory stores members.
//
// Who is a member is written from several places that read before they
// write: Sync reads who left the directory and lists the others, a caller
// is not brought back by a token older than their departure, Forget and
// Join undo each other. On PostgreSQL's READ COMMITTED, a Forget that
// committed between Sync's read and its writes was undone, making the
// leaver assignable again. So each of these runs in one transaction that
// holds its organization's lock (orgTx): they take turns, per
// organization, across instances.
type Directory struct {
	db      *sql.DB
	dialect database.Dialect
	now     func() time.Time

	// afterLeftRead, if set, runs in Sync between reading who left and
	// writing the members: tests interleave other writers there.
	afterLeftRead func()
}

// orgTx runs f in a transaction holding the organization's member lock
// (Dialect.LockXact: an advisory lock on PostgreSQL; SQLite's transactions
// take its one write lock at BEGIN). It commits if f succeeds.
func (d *Directory) orgTx(ctx context.Context, orgID string, f func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if lock := d.dialect.LockXact(1); lock != "" {
		if _, err := tx.ExecContext(ctx, lock, "members:"+orgID); err != nil {
			return fmt.Errorf("lock the members of %s: %w", orgID, err)
		}
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// NewDirectory returns the directory on db, whose migrations created its
// tables; d is db's dialect.
func NewDirectory(db *sql.DB, d database.Dialect) *Directory {
	return &Directory{db: db, dialect: d, now: time.Now}
}

// Remember records the signed-in principal as a member of its organization.
func (d *Directory) Remember(ctx context.Context, p *auth.Principal) error {
	if p.OrgID == "" {
		return nil // a user outside any organization has no team to join
	}
	roles, err := json.Marshal(p.Roles)
	if err != nil {
		return fmt.Errorf("remember member: %w", err)
	}
	err = d.orgTx(ctx, p.OrgID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO members (org_id, user_id, email, name, roles, last_seen) VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (org_id, user_id) DO UPDATE SET
			   email = excluded.email, name = excluded.name, roles = excluded.roles, last_seen = excluded.last_seen`,
			p.OrgID, p.Subject, p.Email, p.Name, string(roles), d.now().UTC().UnixMilli()); err != nil {
			return err
		}
		// Signed in with a token of this organization: a member again,
		// whatever the directory said before.
		return clearLeft(ctx, tx, p.OrgID, p.Subject)
	})
	if err != nil {
		return fmt.Errorf("remember member: %w", err)
	}
	return nil
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// listMember records a member the IdP or the directory lists. What the
// listing does not say is kept: when they last signed in here (0: never),
// and an email or name it leaves empty.
func listMember(ctx context.Context, db execer, orgID, userID, email, name string, roles []string) error {
	data, err := json.Marshal(roles)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx,
		`INSERT INTO members (org_id, user_id, email, name, roles, last_seen) VALUES ($1, $2, $3, $4, $5, 0)
		 ON CONFLICT (org_id, user_id) DO UPDATE SET roles = excluded.roles,
		   email = coalesce(nullif(excluded.email, ''), members.email),
		   name = coalesce(nullif(excluded.name, ''), members.name)`,
		orgID, userID, email, name, string(data))
	return err
}

// clearLeft takes back what Forget said of a member.
func clearLeft(ctx context.Context, db execer, orgID, userID string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM members_left WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	return err
}

// List returns the organization's members by name.
func (d *Directory) List(ctx context.Context, orgID string) ([]Member, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT user_id, email, name, roles, last_seen FROM members WHERE org_id = $1 ORDER BY name, email, user_id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var list []Member
	for rows.Next() {
		var m Member
		var roles string
		var seen int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &roles, &seen); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		if err := json.Unmarshal([]byte(roles), &m.Roles); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		m.LastSeen = time.UnixMilli(seen).UTC()
		list = append(list, m)
	}
	return list, rows.Err()
}

// IsMember reports whether the user belongs to the organization.
func (d *Directory) IsMember(ctx context.Context, orgID, userID string) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx,
		`SELECT 1 FROM members WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check member: %w", err)
	}
	return true, nil
}

// byEmail returns the id of the organization's member with the email, or
// "" if there is none here.
func (d *Directory) byEmail(ctx context.Context, orgID, email string) (string, error) {
	if email == "" {
		return "", nil
	}
	var id string
	err := d.db.QueryRowContext(ctx,
		`SELECT user_id FROM members WHERE org_id = $1 AND lower(email) = lower($2) ORDER BY last_seen DESC LIMIT 1`, orgID, email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find member by email: %w", err)
	}
	return id, nil
}

// SetRoles updates the roles recorded for a member, if known.
func (d *Directory) SetRoles(ctx context.Context, orgID, userID string, roles []string) error {
	data, err := json.Marshal(roles)
	if err != nil {
		return fmt.Errorf("set member roles: %w", err)
	}
	if _, err := d.db.ExecContext(ctx,
		`UPDATE members SET roles = $1 WHERE org_id = $2 AND user_id = $3`, string(data), orgID, userID); err != nil {
		return fmt.Errorf("set member roles: %w", err)
	}
	return nil
}

// Join records a member the directory sync reports, before they ever sign
// in: they can be assigned tasks at once, even if the directory said
// earlier that they had left. Nil roles are unknown: the roles recorded
// for the member stay as they are (none for a new one).
func (d *Directory) Join(ctx context.Context, orgID, userID, email string, roles []string) error {
	err := d.orgTx(ctx, orgID, func(tx *sql.Tx) error {
		var err error
		if roles == nil {
			_, err = tx.ExecContext(ctx,
				`INSERT INTO members (org_id, user_id, email, name, roles, last_seen) VALUES ($1, $2, $3, '', '[]', 0)
				 ON CONFLICT (org_id, user_id) DO UPDATE SET email = coalesce(nullif(excluded.email, ''), members.email)`,
				orgID, userID, email)
		} else {
			err = listMember(ctx, tx, orgID, userID, email, "", roles)
		}
		if err != nil {
			return err
		}
		return clearLeft(ctx, tx, orgID, userID)
	})
	if err != nil {
		return fmt.Errorf("join member: %w", err)
	}
	return nil
}

// Forget removes a member, as when they leave the organization's directory:
// tasks can no longer be assigned to them, and Sync does not bring them
// back; signing in again does.
func (d *Directory) Forget(ctx context.Context, orgID, userID string) error {
	err := d.orgTx(ctx, orgID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE org_id = $1 AND user_id = $2`, orgID, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO members_left (org_id, user_id, left_at) VALUES ($1, $2, $3)
			 ON CONFLICT (org_id, user_id) DO UPDATE SET left_at = excluded.left_at`,
			orgID, userID, d.now().UTC().UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("forget member: %w", err)
	}
	return nil
}

package members

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newAudit(t *testing.T, e database.Engine) (*Audit, *sql.DB) {
	t.Helper()
	db, _ := databasetest.OpenNew(t, e)
	return NewAudit(db), db
}

// storedBytes is what the newest entry takes in the table, all columns.
func storedBytes(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT 8 + 8 + octet_length(org_id) + octet_length(actor)
		+ octet_length(target) + octet_length(old_roles) + octet_length(new_roles)
		+ octet_length(source) + octet_length(outcome) + octet_length(reason)
		FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&n))
	return n
}

func TestAuditEntriesStayAFewHundredBytes(t *testing.T) {
	databasetest.Run(t, testAuditEntriesStayAFewHundredBytes)
}

func testAuditEntriesStayAFewHundredBytes(t *testing.T, e database.Engine) {
	refused := func(target string, roles ...string) Entry {
		return Entry{OrgID: "org_1", Actor: "usr_bob", Target: target, NewRoles: roles, Source: SourceApp, Outcome: OutcomeRefused,
			Reason: "not allowed: requires the admin role or the roles:assign permission"}
	}
	tests := []struct {
		name string
		e    Entry
	}{
		{"a 1 MB user id and a 64 KB role", refused("usr_"+strings.Repeat("a", 1<<20), strings.Repeat("r", 64<<10))},
		{"ten thousand roles", refused("usr_carol", strings.Split(strings.Repeat("role_", 10_000), "_")...)},
		{"an id of multibyte characters", refused(strings.Repeat("é", 1<<19), "admin")},
		{"invalid UTF-8", refused(string([]byte{0xff, 0xfe, 'x'})+strings.Repeat("\xff", 1<<16), "admin")},
		{"a long reason", Entry{OrgID: "org_1", Actor: "usr_bob", Target: "usr_carol", Outcome: OutcomeRefused, Reason: strings.Repeat("why ", 1<<14)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, db := newAudit(t, e)
			require.NoError(t, a.Record(context.Background(), tt.e))
			assert.Less(t, storedBytes(t, db), 500)
			got, err := a.List(context.Background(), "org_1", 1)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.True(t, utf8.ValidString(got[0].Target), "the stored id is valid UTF-8")
		})
	}
}

func TestAuditKeepsWellFormedValuesAndMarksCuts(t *testing.T) {
	databasetest.Run(t, testAuditKeepsWellFormedValuesAndMarksCuts)
}

func testAuditKeepsWellFormedValuesAndMarksCuts(t *testing.T, e database.Engine) {
	a, _ := newAudit(t, e)
	ctx := context.Background()
	ok := Entry{OrgID: "org_1", Actor: "usr_alice", Target: "usr_" + strings.Repeat("b", 124), OldRoles: []string{"project_manager"},
		NewRoles: []string{"team_member", "viewer"}, Source: SourceApp, Outcome: OutcomeChanged}
	require.NoError(t, a.Record(ctx, ok))
	require.NoError(t, a.Record(ctx, Entry{OrgID: "org_1", Actor: "usr_alice", Target: "usr bad " + strings.Repeat("x", 100),
		NewRoles: []string{strings.Repeat("r", 100)}, Outcome: OutcomeRefused}))

	got, err := a.List(ctx, "org_1", 2)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, ok.Target, got[1].Target, "a well-formed id of 128 characters is kept whole")
	assert.Equal(t, ok.NewRoles, got[1].NewRoles)
	assert.Equal(t, "usr bad "+strings.Repeat("x", 56)+"…(44 bytes cut)", got[0].Target)
	assert.Equal(t, []string{strings.Repeat("r", 64) + "…(36 bytes cut)"}, got[0].NewRoles)
}

func TestAuditListBeforePagesNewestFirst(t *testing.T) {
	databasetest.Run(t, testAuditListBeforePagesNewestFirst)
}

func testAuditListBeforePagesNewestFirst(t *testing.T, e database.Engine) {
	a, _ := newAudit(t, e)
	ctx := context.Background()
	for i := range 120 {
		require.NoError(t, a.Record(ctx, Entry{OrgID: "org_1", Actor: "usr_alice", Target: fmt.Sprintf("usr_%03d", i), Outcome: OutcomeChanged}))
		require.NoError(t, a.Record(ctx, Entry{OrgID: "org_2", Actor: "usr_erin", Target: "usr_other", Outcome: OutcomeChanged}))
	}
	var targets []string
	for before := int64(0); ; {
		page, err := a.ListBefore(ctx, "org_1", before, 50)
		require.NoError(t, err)
		for _, e := range page {
			targets = append(targets, e.Target)
		}
		if len(page) < 50 {
			break
		}
		before = page[len(page)-1].ID
	}
	require.Len(t, targets, 120, "every entry of the organization once, none of another")
	assert.Equal(t, "usr_119", targets[0])
	assert.Equal(t, "usr_000", targets[119])
}

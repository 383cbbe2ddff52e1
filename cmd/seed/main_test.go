package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

const (
	acme  = "org_100000000000000001"
	carol = "usr_100000000000000003" // team_member at Acme
	dave  = "usr_100000000000000004" // viewer at Acme
)

func TestTheFirstRunRegistersTheFileAndTheSecondWritesNothing(t *testing.T) {
	e := start(t, freshModel(t), freshUsers()...)
	seed, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)

	first := e.run(t, "-f", "../../rbac.seed.json")
	require.Equal(t, exitOK, first.code, first.stderr)
	// Every permission and role is created, except admin and member, which
	// every environment has: they are updated to the file's permissions.
	assert.Equal(t, len(seed.Permissions), countLines(first.stdout, "permission", "created"))
	assert.Equal(t, len(seed.Roles)-2, countLines(first.stdout, "role", "created"))
	assert.Equal(t, 2, countLines(first.stdout, "role", "updated"))
	assert.Equal(t, int64(len(seed.Permissions)+len(seed.Roles)), first.writes, "one write per permission and role")
	assert.Contains(t, first.stdout, "legacy:read", "a permission the file lacks is reported")
	assert.Contains(t, first.stdout, "Done: 16 created, 2 updated")
	// Scalekit's own permissions of admin and member are neither a
	// difference nor lost: the role PUT sends them back.
	assert.NotContains(t, first.stdout, "sk_")
	for _, r := range seed.Roles {
		want := mockidp.ScalekitPermissions(r.Name)
		for _, p := range seed.Effective(r.Name) {
			want = append(want, string(p))
		}
		assert.ElementsMatch(t, want, e.effective(t, r.Name), "effective permissions of %s", r.Name)
	}
	assert.Contains(t, e.effective(t, "admin"), "sk_org_users_role_change")
	assert.Contains(t, e.effective(t, "member"), "sk_org_users_read")

	second := e.run(t, "-f", "../../rbac.seed.json")
	require.Equal(t, exitOK, second.code, second.stderr)
	assert.Zero(t, second.writes, "a second run writes nothing")
	assert.Contains(t, second.stdout, "Nothing to change.")
	assert.Contains(t, second.stdout, "0 to create, 0 to update, 19 unchanged, 1 only in the environment, 0 to delete.")
	for _, role := range []string{"admin", "member"} {
		assert.Subset(t, e.effective(t, role), mockidp.ScalekitPermissions(role), "%s keeps Scalekit's permissions", role)
	}
}

func TestAChangedFileYieldsExactlyThoseUpdates(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*seedFile)
		wantLine string // the one progress line that is not "unchanged"
		role     string
	}{
		{"a permission added to a role updates that role",
			func(f *seedFile) { f.role("editor").Permissions = append(f.role("editor").Permissions, "tasks:assign") },
			"role          editor                             updated", "editor"},
		{"a different base role updates that role",
			func(f *seedFile) { f.role("project_owner").Extends = "viewer" },
			"role          project_owner                      updated", "project_owner"},
		{"a new role is created",
			func(f *seedFile) {
				f.Roles = append(f.Roles, rbac.Role{Name: "auditor", DisplayName: "Auditor", Extends: "viewer", Permissions: []rbac.Permission{"members:read"}})
			},
			"role          auditor                            created", "auditor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed, err := rbac.Load("../../rbac.seed.json")
			require.NoError(t, err)
			e := start(t, seed)
			file, changed := writeSeed(t, tt.edit)

			got := e.run(t, "-f", file)
			require.Equal(t, exitOK, got.code, got.stderr)
			assert.Equal(t, int64(1), got.writes, "exactly one write")
			assert.Contains(t, got.stdout, tt.wantLine)
			assert.Equal(t, 1, countLines(got.stdout, "", "updated")+countLines(got.stdout, "", "created"), got.stdout)
			assert.ElementsMatch(t, names(changed.Effective(tt.role)), e.effective(t, tt.role))

			again := e.run(t, "-f", file)
			assert.Zero(t, again.writes)
		})
	}
}

func TestASeededRoleChangeReachesTheNextToken(t *testing.T) {
	seed, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)
	e := start(t, seed)
	before, err := e.idp.AccessToken(carol, mockidp.DemoClientID)
	require.NoError(t, err)
	require.NotContains(t, tokenPermissions(t, before), "tasks:assign")

	file, changed := writeSeed(t, func(f *seedFile) {
		f.role("team_member").Permissions = append(f.role("team_member").Permissions, "tasks:assign")
	})
	require.Equal(t, exitOK, e.run(t, "-f", file).code)

	// Minted by the token endpoint, as for a signed-in user.
	after, err := e.idp.AccessToken(carol, mockidp.DemoClientID)
	require.NoError(t, err)
	assert.Equal(t, names(changed.Effective("team_member")), tokenPermissions(t, after))
	assert.Contains(t, tokenPermissions(t, after), "tasks:assign")
}

func TestExitCodes(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(badFile, []byte(`{"permissions":[{"name":"users.write"}],"roles":[{"name":"a","display_name":"A"}]}`), 0o600))
	changedFile, _ := writeSeed(t, func(f *seedFile) { f.role("viewer").DisplayName = "Reader" })
	tests := []struct {
		name       string
		vars       map[string]string // overrides; "" unsets
		fail       int               // management calls the mock refuses with 401
		args       []string
		want       int
		wantStderr string
		wantSent   bool
	}{
		{"an invalid file exits 1 and sends nothing", nil, 0, []string{"-f", badFile}, exitInvalid, `permission "users.write": name must match`, false},
		{"a missing file exits 1", nil, 0, []string{"-f", "nope.json"}, exitInvalid, "nope.json", false},
		{"an unknown flag exits 1 and shows the usage", nil, 0, []string{"--force"}, exitInvalid, "flag provided but not defined", false},
		{"an unset environment URL exits 1 naming it", map[string]string{"SCALEKIT_ENVIRONMENT_URL": ""}, 0, nil, exitInvalid, "SCALEKIT_ENVIRONMENT_URL is not set", false},
		{"a malformed environment URL exits 1 naming it", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "yourapp.scalekit.dev"}, 0, nil, exitInvalid, "SCALEKIT_ENVIRONMENT_URL=", false},
		{"an unset client ID exits 1 naming it", map[string]string{"SCALEKIT_CLIENT_ID": ""}, 0, nil, exitInvalid, "SCALEKIT_CLIENT_ID is not set", false},
		{"an unset secret exits 1 naming it", map[string]string{"SCALEKIT_CLIENT_SECRET": ""}, 0, nil, exitInvalid, "SCALEKIT_CLIENT_SECRET is not set", false},
		{"a refused secret exits 2 and says what to check", map[string]string{"SCALEKIT_CLIENT_SECRET": "wrong-secret"}, 0, nil, exitRemote, "check SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET", false},
		{"a 401 from the API exits 2 with a clear error", nil, 10, []string{"-f", changedFile}, exitRemote, "401 Unauthorized", true},
		{"a dry run exits 0", nil, 0, []string{"-f", changedFile, "--dry-run"}, exitOK, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed, err := rbac.Load("../../rbac.seed.json")
			require.NoError(t, err)
			e := start(t, seed)
			for k, v := range tt.vars {
				e.vars[k] = v
			}
			e.idp.FailManagement(tt.fail, http.StatusUnauthorized, "")

			got := e.run(t, append([]string{"-f", "../../rbac.seed.json"}, tt.args...)...)
			assert.Equal(t, tt.want, got.code, got.stderr)
			assert.Contains(t, got.stderr, tt.wantStderr)
			assert.Zero(t, got.writes, "nothing was changed")
			assert.Equal(t, tt.wantSent, e.idp.ManagementRequests() > 0)
			assert.NotContains(t, got.stdout+got.stderr, "wrong-secret", "a secret is never printed")
			if tt.want != exitOK && tt.args == nil {
				assert.Equal(t, 1, strings.Count(strings.TrimSpace(strings.Split(got.stderr, "\n(")[0]), "\n")+1, "one line: %q", got.stderr)
			}
		})
	}
}

func TestTheSummarySaysWhatWasAppliedBeforeAnError(t *testing.T) {
	seed, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)
	e := start(t, seed)
	// rbac accepts the long display name; Scalekit allows 100 characters.
	file, _ := writeSeed(t, func(f *seedFile) {
		f.Permissions = append(f.Permissions, rbac.PermissionDef{Name: "tasks:delete", Description: "Delete tasks"})
		f.Roles = append(f.Roles, rbac.Role{Name: "archivist", DisplayName: strings.Repeat("A", 101), Permissions: []rbac.Permission{"tasks:delete"}})
	})

	got := e.run(t, "-f", file)
	assert.Equal(t, exitRemote, got.code)
	assert.Contains(t, got.stdout, "Stopped at role archivist. Applied before it: 1 created")
	assert.Contains(t, got.stderr, "display_name")
	_, err = e.client(t).GetPermission(context.Background(), "tasks:delete")
	assert.NoError(t, err, "what was applied before the error stays")
}

func TestPruneDeletesOnlyWithTheFlagAndNeverTheBuiltInRoles(t *testing.T) {
	// The environment has a role and a permission the file lacks.
	_, withLegacy := writeSeed(t, func(f *seedFile) {
		f.Permissions = append(f.Permissions, rbac.PermissionDef{Name: "legacy:read"})
		f.Roles = append(f.Roles, rbac.Role{Name: "legacy", DisplayName: "Legacy", Extends: "viewer", Permissions: []rbac.Permission{"legacy:read"}})
	})
	e := start(t, withLegacy)
	// And the file lacks admin and member too.
	file, _ := writeSeed(t, func(f *seedFile) {
		f.Roles = f.Roles[2:]
		f.DefaultCreatorRole, f.DefaultMemberRole = "", ""
	})

	kept := e.run(t, "-f", file)
	require.Equal(t, exitOK, kept.code, kept.stderr)
	assert.Zero(t, kept.writes, "without --prune nothing is deleted")
	assert.Contains(t, kept.stdout, "not in the file; --prune deletes it")

	pruned := e.run(t, "-f", file, "--prune")
	require.Equal(t, exitOK, pruned.code, pruned.stderr)
	assert.Equal(t, int64(2), pruned.writes, "the legacy role, then its permission")
	assert.Contains(t, pruned.stdout, "built in, never deleted")
	roles, err := e.client(t).ListRoles(context.Background(), scalekit.IncludeNone)
	require.NoError(t, err)
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	assert.Contains(t, names, "admin")
	assert.Contains(t, names, "member")
	assert.NotContains(t, names, "legacy")
	assert.NotContains(t, pruned.stdout, "sk_", "Scalekit's own permissions are not the file's to prune")
	for _, p := range mockidp.ScalekitPermissions("admin", "member") {
		_, err := e.client(t).GetPermission(context.Background(), p)
		assert.NoError(t, err, "%s is still there", p)
	}
	assert.Subset(t, e.effective(t, "admin"), mockidp.ScalekitPermissions("admin"))
}

func TestOrganizationRolesAreRegisteredUnderTheirOrganization(t *testing.T) {
	seed, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)
	e := start(t, seed)
	file, changed := writeSeed(t, func(f *seedFile) {
		f.OrganizationRoles = []rbac.OrgRoles{{OrganizationID: acme, Roles: []rbac.Role{
			{Name: "auditor", DisplayName: "Auditor", Description: "Acme's auditors", Extends: "viewer", Permissions: []rbac.Permission{"members:read"}},
		}}}
	})

	got := e.run(t, "-f", file)
	require.Equal(t, exitOK, got.code, got.stderr)
	assert.Equal(t, int64(1), got.writes)
	assert.Contains(t, got.stdout, acme+"/auditor")
	assert.Zero(t, e.run(t, "-f", file).writes, "a second run writes nothing")

	_, err = e.client(t).UpdateMemberRoles(context.Background(), acme, dave, []string{"auditor"})
	require.NoError(t, err)
	tok, err := e.idp.AccessToken(dave, mockidp.DemoClientID)
	require.NoError(t, err)
	assert.Equal(t, names(changed.EffectiveIn(acme, "auditor")), tokenPermissions(t, tok))
}

func TestTheMockFlagFillsOnlyWhatIsUnset(t *testing.T) {
	env := map[string]string{"SCALEKIT_CLIENT_SECRET": "other-secret"}
	cfg, err := loadConfig(func(k string) string { return env[k] }, true)
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8081", cfg.EnvironmentURL)
	assert.Equal(t, mockidp.DemoClientID, cfg.ClientID)
	assert.Equal(t, "other-secret", cfg.ClientSecret)

	_, err = loadConfig(func(string) string { return "" }, false)
	assert.ErrorContains(t, err, "--mock")
}

// countLines counts output lines that start with kind (after the indent)
// and end with result.
func countLines(out, kind, result string) int {
	n := 0
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, kind) && strings.HasSuffix(line, " "+result) {
			n++
		}
	}
	return n
}

// tokenPermissions reads the permissions claim of a token the mock minted.
func tokenPermissions(t testing.TB, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c struct {
		Permissions []string `json:"permissions"`
	}
	require.NoError(t, json.Unmarshal(payload, &c))
	return c.Permissions
}

package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// formValues is what a browser submits for the form as it stands: hidden
// fields, ticked checkboxes that are not disabled, selected options.
func formValues(form *goquery.Selection) url.Values {
	v := url.Values{}
	form.Find(`input[name]:not([disabled])`).Each(func(_ int, in *goquery.Selection) {
		typ := in.AttrOr("type", "text")
		if (typ == "checkbox" || typ == "radio") && !in.Is("[checked]") {
			return
		}
		v.Add(in.AttrOr("name", ""), in.AttrOr("value", "on"))
	})
	form.Find(`select[name]:not([disabled]) option[selected]`).Each(func(_ int, o *goquery.Selection) {
		v.Add(o.ParentsFiltered("select").AttrOr("name", ""), o.AttrOr("value", ""))
	})
	return v
}

func TestChangingOneRoleKeepsTheMembersOthers(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testChangingOneRoleKeepsTheMembersOthers)
}

func testChangingOneRoleKeepsTheMembersOthers(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	require.NoError(t, e.IdP.SetUserRoles(carol.ID, []string{"team_member", "viewer"}))
	admin := e.SignIn(alice)

	doc := apptest.ParseHTML(t, admin.Get("/members").Body)
	form := doc.Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, carol.ID))
	require.Equal(t, 1, form.Length(), "the admin sees a role picker for Carol")
	ticked := form.Find(`input[type="checkbox"][checked]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") })
	assert.ElementsMatch(t, []string{"team_member", "viewer"}, ticked, "the picker shows both of Carol's roles")

	// Alice swaps one role, viewer for project_manager, and saves.
	sent := formValues(form)
	sent["role"] = slices.DeleteFunc(sent["role"], func(r string) bool { return r == "viewer" })
	sent.Add("role", "project_manager")
	resp := admin.Post(form.AttrOr("action", ""), sent)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)

	assert.ElementsMatch(t, []string{"team_member", "project_manager"}, e.IdPRoles(carol.ID), "team_member stays at the IdP")
	after := apptest.ParseHTML(t, admin.Get(resp.Header.Get("Location")).Body)
	assert.ElementsMatch(t, []string{"team_member", "project_manager"},
		allText(after, fmt.Sprintf(`tr[data-user="%s"] [data-testid="member-roles"] .role`, carol.ID)), "the page shows both")
}

func TestAStaleRolesFormDoesNotUndoAChangeMadeSince(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAStaleRolesFormDoesNotUndoAChangeMadeSince)
}

func testAStaleRolesFormDoesNotUndoAChangeMadeSince(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	admin := e.SignIn(alice)
	form := apptest.ParseHTML(t, admin.Get("/members").Body).Find(fmt.Sprintf(`tr[data-user="%s"] [data-testid="role-form"]`, carol.ID))
	require.Equal(t, 1, form.Length())

	// Meanwhile, someone else (the dashboard, another admin) makes Carol a viewer.
	require.NoError(t, e.IdP.SetUserRoles(carol.ID, []string{"viewer"}))

	// Alice saves the page she loaded before, adding a role to what it showed.
	sent := formValues(form)
	sent.Add("role", "viewer")
	resp := admin.Post(form.AttrOr("action", ""), sent)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "refused: the roles it was based on are gone")
	assert.Contains(t, resp.Body, "changed since the page was loaded")
	assert.Equal(t, []string{"viewer"}, e.IdPRoles(carol.ID), "the change made in between stands")
}

// auditRowBytes is how many bytes the audit log's rows hold, all columns.
func auditRowBytes(t *testing.T, e *apptest.Env) []int {
	t.Helper()
	db, _ := databasetest.Open(t, database.Config{URL: e.Config.DatabaseURL, Path: e.Config.DatabasePath})
	rows, err := db.Query(`SELECT 8 + 8 + octet_length(org_id) + octet_length(actor) + octet_length(target)
		+ octet_length(old_roles) + octet_length(new_roles) + octet_length(source)
		+ octet_length(outcome) + octet_length(reason) FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var sizes []int
	for rows.Next() {
		var n int
		require.NoError(t, rows.Scan(&n))
		sizes = append(sizes, n)
	}
	require.NoError(t, rows.Err())
	return sizes
}

func TestARefusedRoleChangeStoresAFewHundredBytesWhateverItSends(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testARefusedRoleChangeStoresAFewHundredBytesWhateverItSends)
}

func testARefusedRoleChangeStoresAFewHundredBytesWhateverItSends(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	bob := e.SignIn(e.User("bob@acme.example")) // signed in, without the right to change roles
	hugeID := "usr_" + strings.Repeat("a", 1_000_000)
	hugeRole := strings.Repeat("r", 60<<10) // as much as the 64 KB form limit lets through
	tests := []struct {
		name   string
		target string
		form   url.Values
	}{
		{"a 1 MB user id and a 60 KB role", hugeID, url.Values{"role": {hugeRole}}},
		{"a thousand roles", "usr_100000000000000003", url.Values{"role": slices.Repeat([]string{strings.Repeat("x", 50)}, 1000)}},
		{"an id of multibyte characters", strings.Repeat("é", 150_000), url.Values{"role": {"admin"}}},
		// PostgreSQL refuses NUL and invalid UTF-8 in text: stored as sent,
		// they would make the insert fail and the attempt leave no trace.
		{"an id and a role with a NUL", "usr_\x00evil", url.Values{"role": {"ad\x00min"}}},
		{"an id and a role that are not UTF-8", "usr_\xff\xfe", url.Values{"role": {"\xc3"}}},
		{"an id with line breaks", "usr_1\r\nrefused", url.Values{"role": {"admin\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := bob.Post("/members/"+url.PathEscape(tt.target)+"/role", tt.form)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			sizes := auditRowBytes(t, e)
			require.NotEmpty(t, sizes, "the refusal is audited")
			assert.Less(t, sizes[len(sizes)-1], 500, "bytes stored for the refusal")
		})
	}

	rows := auditRows(t, e.SignIn(e.User("alice@acme.example")))
	require.Len(t, rows, len(tests))
	assert.Contains(t, rows[len(rows)-1], "usr_aaaa", "the log still shows what the id began with")
	assert.Contains(t, rows[len(rows)-1], "bytes cut", "and that it was cut")
}

func TestAuditLogIsPaged(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAuditLogIsPaged)
}

func testAuditLogIsPaged(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	bob := e.SignIn(e.User("bob@acme.example"))
	const n = 120
	for i := range n {
		resp := bob.Post(fmt.Sprintf("/members/usr_%d/role", i), url.Values{"role": {"admin"}})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	}
	admin := e.SignIn(e.User("alice@acme.example"))

	var sizes []int
	seen := map[string]bool{}
	for path, pages := "/audit", 0; path != "" && pages < 10; pages++ {
		resp := admin.Get(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		doc := apptest.ParseHTML(t, resp.Body)
		targets := doc.Find(`[data-testid="audit-log"] tbody tr td:nth-child(3) code`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		sizes = append(sizes, len(targets))
		for _, id := range targets {
			assert.False(t, seen[id], "%s listed twice", id)
			seen[id] = true
		}
		if pages == 0 {
			assert.Equal(t, fmt.Sprintf("usr_%d", n-1), targets[0], "newest first")
		}
		path = doc.Find(`[data-testid="older-page"]`).AttrOr("href", "")
	}
	assert.Equal(t, []int{50, 50, 20}, sizes, "one page of 50 at a time")
	assert.Len(t, seen, n, "the Older links reach every entry once")
	assert.Equal(t, http.StatusBadRequest, admin.Get("/audit?before=x").StatusCode)
}

func TestMembersPagesListTheOrganizationAtTheIdPOncePerCopy(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testMembersPagesListTheOrganizationAtTheIdPOncePerCopy)
}

func testMembersPagesListTheOrganizationAtTheIdPOncePerCopy(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, bob := e.User("alice@acme.example"), e.User("bob@acme.example")
	admin := e.SignIn(alice)
	memberRoles := func(b *apptest.Browser, u string) []string {
		t.Helper()
		resp := b.Get("/members")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return allText(apptest.ParseHTML(t, resp.Body), fmt.Sprintf(`tr[data-user="%s"] [data-testid="member-roles"] .role`, u))
	}

	require.Equal(t, []string{"admin"}, memberRoles(admin, alice.ID))
	calls := e.IdP.ManagementRequests()
	for range 5 {
		memberRoles(admin, alice.ID)
		require.Equal(t, http.StatusOK, admin.Get("/audit").StatusCode)
	}
	assert.Equal(t, calls, e.IdP.ManagementRequests(), "views after the first list nobody at the IdP")

	// Out of the app's sight, the IdP makes Bob an admin too. The pages
	// may show the copy for a while, but a role change reads the IdP
	// afresh: Alice is no longer the last admin, so she may step down.
	require.NoError(t, e.IdP.SetUserRoles(bob.ID, []string{"admin"}))
	resp := admin.Post("/members/"+alice.ID+"/role", url.Values{"role": {"project_manager"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, resp.Body)
	assert.Equal(t, []string{"project_manager"}, e.IdPRoles(alice.ID))

	// The change made the copy stale: the next view lists afresh.
	bobBrowser := e.SignIn(bob)
	calls = e.IdP.ManagementRequests()
	assert.Equal(t, []string{"admin"}, memberRoles(bobBrowser, bob.ID), "the new listing shows what the IdP says")
	assert.Greater(t, e.IdP.ManagementRequests(), calls)
}

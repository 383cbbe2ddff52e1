package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
)

// directoryEvent is a Scalekit directory-sync event for the user with
// the email, whose directory groups map to the roles.
func directoryEvent(typ, orgID, email string, roles ...string) string {
	return directoryEventAt("2026-11-22T10:00:00Z", typ, orgID, email, roles...)
}

// directoryEventAt is directoryEvent with the time the directory changed.
func directoryEventAt(occurredAt, typ, orgID, email string, roles ...string) string {
	var rs []string
	for _, r := range roles {
		rs = append(rs, `{"role_name":"`+r+`"}`)
	}
	return `{"spec_version":"1","id":"evt_1","type":"` + typ + `","object":"DirectoryUser","organization_id":"` + orgID +
		`","occurred_at":"` + occurredAt + `","data":{"id":"diruser_1","organization_id":"` + orgID +
		`","email":"` + email + `","roles":[` + strings.Join(rs, ",") + `]}}`
}

func TestDirectorySyncWebhook(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testDirectorySyncWebhook)
}

func testDirectorySyncWebhook(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	admin := e.SignIn(alice)
	promote := directoryEvent("organization.directory.user_updated", carol.OrgID, carol.Email, "project_manager")
	now := time.Now()

	tests := []struct {
		name       string
		secret, id string
		at         time.Time
		body       string
		wantStatus int
		wantResult string
		wantRoles  []string
	}{
		{"a bad signature is refused", "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "msg_1", now, promote, http.StatusUnauthorized, "", []string{"team_member"}},
		{"a stale timestamp is refused", testkit.WebhookSecret, "msg_2", now.Add(-10 * time.Minute), promote, http.StatusUnauthorized, "", []string{"team_member"}},
		{"a timestamp from the future is refused", testkit.WebhookSecret, "msg_3", now.Add(10 * time.Minute), promote, http.StatusUnauthorized, "", []string{"team_member"}},
		{"an unknown event type is acknowledged and ignored", testkit.WebhookSecret, "msg_4", now, directoryEvent("organization.directory.group_created", carol.OrgID, carol.Email), http.StatusOK, `"status":"ignored"`, []string{"team_member"}},
		{"an unknown role is acknowledged, refused and audited", testkit.WebhookSecret, "msg_5", now, directoryEvent("organization.directory.user_updated", carol.OrgID, carol.Email, "superuser"), http.StatusOK, `"status":"refused"`, []string{"team_member"}},
		{"a valid delivery applies the directory's roles", testkit.WebhookSecret, "msg_6", now, promote, http.StatusOK, `"status":"applied"`, []string{"project_manager"}},
		{"a redelivery of the same id is not applied again", testkit.WebhookSecret, "msg_6", now, promote, http.StatusOK, `"status":"duplicate"`, []string{"project_manager"}},
		{"a user leaving the directory is granted nothing: roles unchanged", testkit.WebhookSecret, "msg_7", now, directoryEvent("organization.directory.user_deleted", carol.OrgID, carol.Email), http.StatusOK, `"status":"applied"`, []string{"project_manager"}},
		{"not JSON is a bad request", testkit.WebhookSecret, "msg_8", now, `{`, http.StatusBadRequest, "", []string{"project_manager"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.Deliver(t, tt.secret, tt.id, tt.at, tt.body)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, resp.Body)
			assert.Contains(t, resp.Body, tt.wantResult)
			assert.Equal(t, tt.wantRoles, e.IdPRoles(carol.ID))
		})
	}

	rows := auditRows(t, admin)
	var synced int
	for _, r := range rows {
		if strings.Contains(r, "directory sync") {
			synced++
		}
	}
	assert.Equal(t, 3, synced, "the refused, the applied and the departure are audited; the duplicate is not")
	assert.Contains(t, rows[1], "webhook:msg_6")
	assert.Contains(t, rows[1], "team_member project_manager directory sync changed")
}

func TestLateDirectoryEventsNeverRollAMemberBack(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testLateDirectoryEventsNeverRollAMemberBack)
}

func testLateDirectoryEventsNeverRollAMemberBack(t *testing.T, engine database.Engine) {
	// The directory moved Carol to team_member at 10:00 and to
	// project_manager at 10:05; the 10:00 delivery failed, and its retry
	// arrives after the 10:05 one.
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	admin := e.SignIn(alice)
	event := func(at, typ string, roles ...string) string {
		return directoryEventAt(at, typ, carol.OrgID, carol.Email, roles...)
	}
	const updated = "organization.directory.user_updated"

	tests := []struct {
		name       string
		id, body   string
		wantStatus int
		wantResult string
		wantRoles  []string
	}{
		{"the newer event applies", "msg_b", event("2026-11-22T10:05:00Z", updated, "project_manager"), http.StatusOK, `"status":"applied"`, []string{"project_manager"}},
		{"the older one, arriving late, is skipped", "msg_a", event("2026-11-22T10:00:00.5Z", updated, "team_member"), http.StatusOK, `"status":"ignored"`, []string{"project_manager"}},
		{"an older user_deleted is skipped too", "msg_c", event("2026-11-22T10:01:00Z", "organization.directory.user_deleted"), http.StatusOK, `"status":"ignored"`, []string{"project_manager"}},
		{"the same moment again (a resent event) passes", "msg_d", event("2026-11-22T10:05:00Z", updated, "project_manager"), http.StatusOK, `"status":"applied"`, []string{"project_manager"}},
		{"times are compared across zones: 10:10+01:00 is older", "msg_e", event("2026-11-22T10:10:00+01:00", updated, "team_member"), http.StatusOK, `"status":"ignored"`, []string{"project_manager"}},
		{"a later event applies", "msg_f", event("2026-11-22T10:10:00Z", updated, "team_member"), http.StatusOK, `"status":"applied"`, []string{"team_member"}},
		{"a malformed time is a bad request and changes nothing", "msg_g", event("yesterday", updated, "project_manager"), http.StatusBadRequest, "occurred_at", []string{"team_member"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.Deliver(t, testkit.WebhookSecret, tt.id, time.Now(), tt.body)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, resp.Body)
			assert.Contains(t, resp.Body, tt.wantResult)
			assert.Equal(t, tt.wantRoles, e.IdPRoles(carol.ID))
		})
	}
	rows := auditRows(t, admin)
	skipped := 0
	for _, r := range rows {
		if strings.Contains(r, "skipped") {
			skipped++
		}
	}
	assert.Equal(t, 3, skipped, "each skipped event is in the audit log:\n%s", strings.Join(rows, "\n"))
}

func TestDirectorySyncTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testDirectorySyncTakesEffectAtOnce)
}

func testDirectorySyncTakesEffectAtOnce(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	carol := e.User("carol@acme.example")
	b := e.SignIn(carol)
	require.Equal(t, http.StatusForbidden, b.Post("/projects", nil).StatusCode)

	resp := e.Deliver(t, testkit.WebhookSecret, "msg_1", time.Now(), directoryEvent("organization.directory.user_updated", carol.OrgID, carol.Email, "project_manager"))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)

	page := apptest.ParseHTML(t, b.Get("/projects").Body)
	assert.Equal(t, 1, page.Find(`[data-testid="new-project"]`).Length(), "Carol's next request carries her new role")
}

func TestADirectoryEventTheIdPAppliedFirstStillEndsOldTokens(t *testing.T) {
	databasetest.Run(t, testADirectoryEventTheIdPAppliedFirstStillEndsOldTokens)
}

// Scalekit maps directory groups to roles itself: by the time the event
// arrives, the IdP may already hold the new roles, and the app finds
// nothing to change there. The member's older tokens still carry the old
// roles, so they must stop counting all the same.
func testADirectoryEventTheIdPAppliedFirstStillEndsOldTokens(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	bob := e.User("bob@acme.example")
	b := e.SignIn(bob)
	token := e.Token(bob)
	require.NoError(t, e.IdP.SetUserRoles(bob.ID, []string{"viewer"})) // the directory, through the IdP; no webhook here

	now := time.Now().UTC().Format(time.RFC3339)
	resp := e.Deliver(t, testkit.WebhookSecret, "msg_1", time.Now(), directoryEventAt(now, "organization.directory.user_updated", bob.OrgID, bob.Email, "viewer"))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)

	assert.Equal(t, http.StatusForbidden, b.Post("/projects", url.Values{"name": {"Still a manager?"}}).StatusCode, "the session refreshed: Bob is a viewer")
	assert.Equal(t, http.StatusUnauthorized, e.API(token, "GET", "/api/projects", nil).StatusCode, "the older bearer token is stale")
}

func TestWebhookRouteIsAbsentWithoutASecret(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testWebhookRouteIsAbsentWithoutASecret)
}

func testWebhookRouteIsAbsentWithoutASecret(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine, NoWebhookSecret: true})
	resp := e.Deliver(t, testkit.WebhookSecret, "msg_1", time.Now(), `{}`)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestTheFirstToSignInCanAssignAnyoneInTheOrganization(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTheFirstToSignInCanAssignAnyoneInTheOrganization)
}

func testTheFirstToSignInCanAssignAnyoneInTheOrganization(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	b := e.SignIn(alice) // nobody else has ever signed in
	projectID, taskID := e.ProjectWithTask(alice)

	page := apptest.ParseHTML(t, b.Get(fmt.Sprintf("/projects/%d", projectID)).Body)
	var offered []string
	page.Find(`select[name="assignee"] option`).Each(func(_ int, s *goquery.Selection) {
		if v, _ := s.Attr("value"); v != "" {
			offered = append(offered, s.Text())
		}
	})
	var want []string
	for _, u := range e.IdP.Users() {
		if u.OrgID == alice.OrgID {
			want = append(want, u.Name)
		}
	}
	assert.ElementsMatch(t, want, offered, "everyone the IdP lists in Acme, not only who signed in here")

	assign := e.API(e.Token(alice), "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": carol.ID})
	assert.Equal(t, http.StatusOK, assign.StatusCode, "Carol never signed in, and is assignable: %s", assign.Body)
}

func TestAMemberWhoLeftTheDirectoryCannotBeAssignedTasks(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAMemberWhoLeftTheDirectoryCannotBeAssignedTasks)
}

func testAMemberWhoLeftTheDirectoryCannotBeAssignedTasks(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")
	e.SignIn(carol)
	_, taskID := e.ProjectWithTask(alice)
	assign := func() int {
		return e.API(e.Token(alice), "POST", "/api/tasks/"+strconv.FormatInt(taskID, 10)+"/assign", map[string]string{"assignee": carol.ID}).StatusCode
	}
	require.Equal(t, http.StatusOK, assign())

	resp := e.Deliver(t, testkit.WebhookSecret, "msg_gone", time.Now(), directoryEvent("organization.directory.user_deleted", carol.OrgID, carol.Email))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	assert.Equal(t, http.StatusBadRequest, assign(), "no longer a member to assign to")

	back := directoryEventAt("2026-11-22T11:00:00Z", "organization.directory.user_updated", carol.OrgID, carol.Email, "team_member")
	resp = e.Deliver(t, testkit.WebhookSecret, "msg_back", time.Now(), back)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	assert.Equal(t, http.StatusOK, assign(), "back in the directory: assignable at once, before she signs in")
}

func TestADirectoryUserIsAssignableBeforeSigningIn(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testADirectoryUserIsAssignableBeforeSigningIn)
}

func testADirectoryUserIsAssignableBeforeSigningIn(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	_, taskID := e.ProjectWithTask(alice) // nobody has signed in through the browser
	carol := e.User("carol@acme.example")
	assign := func() int {
		return e.API(e.Token(alice), "POST", "/api/tasks/"+strconv.FormatInt(taskID, 10)+"/assign", map[string]string{"assignee": carol.ID}).StatusCode
	}
	require.Equal(t, http.StatusBadRequest, assign(), "unknown here yet")
	resp := e.Deliver(t, testkit.WebhookSecret, "msg_new", time.Now(), directoryEvent("organization.directory.user_created", carol.OrgID, carol.Email, "team_member"))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	assert.Equal(t, http.StatusOK, assign())
}

func TestADirectoryEventWithoutRolesChangesNoRoles(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testADirectoryEventWithoutRolesChangesNoRoles)
}

func testADirectoryEventWithoutRolesChangesNoRoles(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	bob := e.User("bob@acme.example")
	for i, typ := range []string{"organization.directory.user_updated", "organization.directory.user_created"} {
		resp := e.Deliver(t, testkit.WebhookSecret, fmt.Sprintf("msg_%d", i), time.Now(), directoryEvent(typ, bob.OrgID, bob.Email))
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		assert.Contains(t, resp.Body, `"status":"applied"`)
		assert.Equal(t, []string{"project_manager"}, e.IdPRoles(bob.ID), "%s with no roles keeps his roles", typ)
	}
}

func TestAUserLeavingTheDirectoryIsSignedOutAtOnceAndGainsNothing(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAUserLeavingTheDirectoryIsSignedOutAtOnceAndGainsNothing)
}

func testAUserLeavingTheDirectoryIsSignedOutAtOnceAndGainsNothing(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice, dave := e.User("alice@acme.example"), e.User("dave@acme.example")
	daveBrowser := e.SignIn(dave)
	aliceBrowser := e.SignIn(alice)
	daveToken := e.Token(dave)
	require.Equal(t, http.StatusOK, daveBrowser.Get("/projects").StatusCode)

	resp := e.Deliver(t, testkit.WebhookSecret, "msg_gone", time.Now(), directoryEvent("organization.directory.user_deleted", dave.OrgID, dave.Email))
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)

	next := daveBrowser.Get("/projects")
	assert.Equal(t, http.StatusFound, next.StatusCode, "his session ended: sign in again")
	assert.Contains(t, next.Header.Get("Location"), "/login")
	roleChangedRefusal(t, e.API(daveToken, "GET", "/api/projects", nil))
	assert.Equal(t, []string{"viewer"}, e.IdPRoles(dave.ID), "no role granted: a viewer does not become a member")
	assert.Equal(t, http.StatusOK, aliceBrowser.Get("/projects").StatusCode, "others stay signed in")
}

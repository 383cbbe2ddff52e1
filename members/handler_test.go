package members

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
	"github.com/scalekit-samples/go-rbac-projects/templates"
)

// staticLister lists the same members every time.
type staticLister []scalekit.User

func (s staticLister) ListOrganizationUsers(context.Context, string) ([]scalekit.User, error) {
	return s, nil
}

func TestThePickerKeepsTheRolesItsViewerMayNotGrant(t *testing.T) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	r, err := render.New(templates.FS, nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	carol := scalekit.User{ID: "usr_carol", Email: "carol@example.com", Memberships: []scalekit.Membership{{
		OrganizationID: "org_1", Roles: []scalekit.RoleRef{{Name: "project_admin"}, {Name: "viewer"}},
	}}}
	h := NewHandler(staticLister{carol}, model, nil, nil, nil, auth.Need(rbac.RolesAssign), r)
	// A people manager: roles:assign with a project manager's permissions,
	// so project_admin (which can delete projects) is not theirs to grant.
	viewer := &auth.Principal{Subject: "usr_pm", OrgID: "org_1", Permissions: append(model.Effective("project_manager"), rbac.RolesAssign)}

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/members", nil)
	require.NoError(t, h.List(rec, req.WithContext(auth.WithPrincipal(req.Context(), viewer))))
	doc, err := goquery.NewDocumentFromReader(rec.Body)
	require.NoError(t, err)
	form := doc.Find(`tr[data-user="usr_carol"] [data-testid="role-form"]`)
	require.Equal(t, 1, form.Length())

	editable := form.Find(`input[type="checkbox"][name="role"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") })
	assert.NotContains(t, editable, "project_admin", "not offered to tick or untick")
	assert.NotContains(t, editable, "admin")
	assert.Contains(t, editable, "viewer")
	assert.Equal(t, 1, form.Find(`input[type="checkbox"][disabled][checked]`).Length(), "shown as held")
	assert.Contains(t, form.Find(`label.muted`).Text(), "project_admin")

	// What the browser sends: the ticked boxes and the kept role.
	var sent []string
	form.Find(`input[name="role"]:not([disabled])`).Each(func(_ int, s *goquery.Selection) {
		if s.AttrOr("type", "") == "hidden" || s.Is("[checked]") {
			sent = append(sent, s.AttrOr("value", ""))
		}
	})
	assert.ElementsMatch(t, []string{"viewer", "project_admin"}, sent, "saving keeps project_admin")
}

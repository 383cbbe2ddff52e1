package members

import (
	"net/http"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// Handler serves the members page (gated by members:read in app/routes.go).
type Handler struct {
	dir    *Directory
	render *render.Renderer
}

// NewHandler returns a Handler.
func NewHandler(dir *Directory, r *render.Renderer) *Handler {
	return &Handler{dir: dir, render: r}
}

type listPage struct {
	Members []Member
}

// List shows the organization's members and their roles.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	list, err := h.dir.List(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	return h.render.Page(w, r, http.StatusOK, "members", "Members", listPage{Members: list})
}

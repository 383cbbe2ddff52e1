package projects

import (
	"net/http"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/paging"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// The JSON API mirrors the pages; the same gates apply (app/routes.go).

type projectJSON struct {
	Project Project `json:"project"`
}

// listJSON is a page of projects; next_page_token is absent on the last.
type listJSON struct {
	Projects      []Project `json:"projects"`
	NextPageToken string    `json:"next_page_token,omitempty"`
}

// APIList answers {"projects": [...], "next_page_token": "..."}, newest
// first; ?page_size= (1-200, default 50) and ?page_token= page through.
func (h *Handler) APIList(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	page, err := PageFrom(r)
	if err != nil {
		return err
	}
	list, err := h.store.List(r.Context(), p.OrgID, page)
	if err != nil {
		return err
	}
	body := listJSON{Projects: []Project{}}
	if len(list) > 0 {
		body.Projects, body.NextPageToken = paging.Next(list, page.Size, projectID)
	}
	return h.render.JSON(w, http.StatusOK, body)
}

// APIGet answers {"project": {...}}.
func (h *Handler) APIGet(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	proj, err := h.store.Get(r.Context(), p.OrgID, id)
	if err != nil {
		return err
	}
	return h.render.JSON(w, http.StatusOK, projectJSON{proj})
}

// projectBody is the body of POST and PATCH; on PATCH an absent field is
// left as it is.
type projectBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// APICreate takes {"name","description"} and answers 201 {"project": {...}}.
func (h *Handler) APICreate(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	var body projectBody
	if err := render.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	in := Input{}
	if body.Name != nil {
		in.Name = *body.Name
	}
	if body.Description != nil {
		in.Description = *body.Description
	}
	proj, err := h.store.Create(r.Context(), p.OrgID, p.Subject, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api"+projectURL(proj.ID))
	return h.render.JSON(w, http.StatusCreated, projectJSON{proj})
}

// APIUpdate takes {"name","description"} (either may be absent).
func (h *Handler) APIUpdate(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	var body projectBody
	if err := render.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Name == nil && body.Description == nil {
		return problem.Invalid("body", `send "name", "description" or both`)
	}
	cur, err := h.store.Get(r.Context(), p.OrgID, id)
	if err != nil {
		return err
	}
	in := Input{Name: cur.Name, Description: cur.Description}
	if body.Name != nil {
		in.Name = *body.Name
	}
	if body.Description != nil {
		in.Description = *body.Description
	}
	proj, err := h.store.Update(r.Context(), p.OrgID, id, in)
	if err != nil {
		return err
	}
	return h.render.JSON(w, http.StatusOK, projectJSON{proj})
}

// APIDelete removes a project and answers 204.
func (h *Handler) APIDelete(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	if err := h.store.Delete(r.Context(), p.OrgID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

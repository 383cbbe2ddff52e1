package tasks

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/paging"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// The JSON API of a project's tasks; the gates are app/routes.go's.

// taskJSON is the answer about one task.
type taskJSON struct {
	Task Task `json:"task"`
}

// listJSON is a page of tasks; next_page_token is absent on the last.
type listJSON struct {
	Tasks         []Task `json:"tasks"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// PageFrom reads page_size and page_token from the query string, for a
// page of a project's tasks.
func PageFrom(r *http.Request) (Page, error) {
	size, token, err := paging.Params(r)
	return Page{Size: size, After: token}, err
}

// APIList answers {"tasks": [...], "next_page_token": "..."} for the
// project {id}, oldest first; ?page_size= (1-200, default 50) and
// ?page_token= page through, as for projects.
func (h *Handler) APIList(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	projectID, err := projectPathID(r)
	if err != nil {
		return err
	}
	page, err := PageFrom(r)
	if err != nil {
		return err
	}
	list, err := h.store.List(r.Context(), p.OrgID, projectID, page)
	if err != nil {
		return err
	}
	body := listJSON{Tasks: []Task{}}
	if len(list) > 0 {
		body.Tasks, body.NextPageToken = paging.Next(list, page.Size, func(t Task) int64 { return t.ID })
	}
	return h.render.JSON(w, http.StatusOK, body)
}

// APICreate takes {"title"} for the project {id} and answers 201
// {"task": {...}}.
func (h *Handler) APICreate(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	projectID, err := projectPathID(r)
	if err != nil {
		return err
	}
	var body struct {
		Title string `json:"title"`
	}
	if err := render.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	t, err := h.store.Create(r.Context(), p.OrgID, projectID, body.Title, p.Subject)
	if err != nil {
		return err
	}
	return h.render.JSON(w, http.StatusCreated, taskJSON{t})
}

// projectPathID reads the project's {id}. An id that is not a number names
// no project: not found, like another organization's.
func projectPathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("project id %q: %w", r.PathValue("id"), problem.ErrNotFound)
	}
	return id, nil
}

package projects

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/tasks"
)

// MemberLister lists an organization's members (for the assignee picker).
type MemberLister interface {
	List(ctx context.Context, orgID string) ([]members.Member, error)
}

// Handler serves the project pages and the projects API. Its routes are
// gated in app/routes.go; handlers only scope data to the caller's
// organization and decide what to show.
type Handler struct {
	store   Store
	tasks   tasks.Store
	members MemberLister
	render  *render.Renderer
}

// NewHandler returns a Handler.
func NewHandler(store Store, tasks tasks.Store, members MemberLister, r *render.Renderer) *Handler {
	return &Handler{store: store, tasks: tasks, members: members, render: r}
}

type listPage struct {
	Projects []Project
	Next     string            // page_token of the next page, if any
	Paged    bool              // this is not the first page
	Names    map[string]string // user id -> display name
	Form     Input
	Error    *problem.InputError
}

// List shows the organization's projects and, to those who may create
// one, the form to do so.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	return h.renderList(w, r, http.StatusOK, listPage{})
}

func (h *Handler) renderList(w http.ResponseWriter, r *http.Request, status int, page listPage) error {
	p := auth.PrincipalFrom(r.Context())
	pg, err := PageFrom(r)
	if err != nil {
		return err
	}
	list, err := h.store.List(r.Context(), p.OrgID, pg)
	if err != nil {
		return err
	}
	page.Projects, page.Next = nextToken(list, pg)
	page.Paged = pg.Before > 0
	if page.Names, err = h.names(r.Context(), p.OrgID); err != nil {
		return err
	}
	return h.render.Page(w, r, status, "projects", "Projects", page)
}

// Create adds a project, or shows the form again with the reason.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	in := Input{Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	proj, err := h.store.Create(r.Context(), p.OrgID, p.Subject, in)
	if ie := inputError(err); ie != nil {
		return h.renderList(w, r, http.StatusBadRequest, listPage{Form: in, Error: ie})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, projectURL(proj.ID), http.StatusSeeOther)
	return nil
}

type projectPage struct {
	Project   Project
	Tasks     []tasks.Task
	Members   []members.Member
	Names     map[string]string // user id -> display name, for assignees
	Form      Input
	Error     *problem.InputError
	TaskTitle string
	TaskError *problem.InputError
}

// Show shows a project; its tasks only to those with tasks:read.
func (h *Handler) Show(w http.ResponseWriter, r *http.Request) error {
	return h.renderProject(w, r, http.StatusOK, projectPage{})
}

func (h *Handler) renderProject(w http.ResponseWriter, r *http.Request, status int, page projectPage) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	proj, err := h.store.Get(r.Context(), p.OrgID, id)
	if err != nil {
		return err // another organization's project is ErrNotFound too
	}
	page.Project = proj
	if page.Error == nil {
		page.Form = Input{Name: proj.Name, Description: proj.Description}
	}
	if p.Can(rbac.TasksRead) {
		if page.Tasks, err = h.tasks.List(r.Context(), p.OrgID, id); err != nil {
			return err
		}
	}
	if page.Members, err = h.members.List(r.Context(), p.OrgID); err != nil {
		return err
	}
	page.Names = displayNames(page.Members)
	return h.render.Page(w, r, status, "project", proj.Name, page)
}

// Update changes a project's name and description.
func (h *Handler) Update(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	in := Input{Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	_, err = h.store.Update(r.Context(), p.OrgID, id, in)
	if ie := inputError(err); ie != nil {
		return h.renderProject(w, r, http.StatusBadRequest, projectPage{Form: in, Error: ie})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, projectURL(id), http.StatusSeeOther)
	return nil
}

// Delete removes a project and its tasks.
func (h *Handler) Delete(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	if err := h.store.Delete(r.Context(), p.OrgID, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/projects", http.StatusSeeOther)
	return nil
}

// CreateTask adds a task to the project, or shows the project page again
// with the reason.
func (h *Handler) CreateTask(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := PathID(r)
	if err != nil {
		return err
	}
	title := r.PostFormValue("title")
	_, err = h.tasks.Create(r.Context(), p.OrgID, id, title, p.Subject)
	if ie := inputError(err); ie != nil {
		return h.renderProject(w, r, http.StatusBadRequest, projectPage{TaskTitle: title, TaskError: ie})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, projectURL(id)+"#tasks", http.StatusSeeOther)
	return nil
}

// names maps the organization's user ids to display names.
func (h *Handler) names(ctx context.Context, orgID string) (map[string]string, error) {
	list, err := h.members.List(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return displayNames(list), nil
}

func displayNames(list []members.Member) map[string]string {
	names := make(map[string]string, len(list))
	for _, m := range list {
		names[m.UserID] = m.DisplayName()
	}
	return names
}

// PathID reads the {id} path value. An id that is not a number names no
// resource: ErrNotFound, like any other unknown id.
func PathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %q: %w", r.PathValue("id"), problem.ErrNotFound)
	}
	return id, nil
}

func projectURL(id int64) string { return "/projects/" + strconv.FormatInt(id, 10) }

func inputError(err error) *problem.InputError {
	var ie *problem.InputError
	if errors.As(err, &ie) {
		return ie
	}
	return nil
}

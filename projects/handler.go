package projects

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/paging"
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
	page.Projects, page.Next = paging.Next(list, pg.Size, projectID)
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

// inlinePickerMembers is the largest organization whose every task on the
// project page carries its own assignee picker. Beyond it, a task's picker
// opens on request (its Assign link), so that a page's size grows with
// neither tasks × members nor the organization: a page holds at most
// paging.MaxSize tasks, and one picker of every member.
const inlinePickerMembers = 20

type projectPage struct {
	Project   Project
	Tasks     []tasks.Task
	Next      string // page_token of the next page of tasks, if any
	Token     string // page_token of this page, "" on the first
	Members   []members.Member
	Names     map[string]string // user id -> display name, for assignees
	Pickers   bool              // every task shows its assignee picker
	Open      int64             // the task whose picker is open (?assign=), when not every task has one
	Form      Input
	Error     *problem.InputError
	TaskTitle string
	TaskError *problem.InputError
}

// Picker reports whether the task shows its assignee picker.
func (p projectPage) Picker(taskID int64) bool { return p.Pickers || p.Open == taskID }

// AssignURL is the link that opens a task's assignee picker, on this page.
func (p projectPage) AssignURL(taskID int64) string {
	q := url.Values{"assign": {strconv.FormatInt(taskID, 10)}}
	if p.Token != "" {
		q.Set("page_token", p.Token)
	}
	return projectURL(p.Project.ID) + "?" + q.Encode() + "#task-" + strconv.FormatInt(taskID, 10)
}

// Show shows a project; its tasks only to those with tasks:read, a page at
// a time (?page_size=, ?page_token=, as in the API).
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
		pg, err := tasks.PageFrom(r)
		if err != nil {
			return err
		}
		list, err := h.tasks.List(r.Context(), p.OrgID, id, pg)
		if err != nil {
			return err
		}
		page.Tasks, page.Next = paging.Next(list, pg.Size, func(t tasks.Task) int64 { return t.ID })
		if pg.After > 0 {
			page.Token = strconv.FormatInt(pg.After, 10)
		}
	}
	if page.Members, err = h.members.List(r.Context(), p.OrgID); err != nil {
		return err
	}
	page.Names = displayNames(page.Members)
	page.Pickers = len(page.Members) <= inlinePickerMembers
	if s := r.URL.Query().Get("assign"); s != "" && !page.Pickers {
		page.Open, _ = strconv.ParseInt(s, 10, 64) // not a task of the page: no picker opens
	}
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
	t, err := h.tasks.Create(r.Context(), p.OrgID, id, title, p.Subject)
	if ie := inputError(err); ie != nil {
		return h.renderProject(w, r, http.StatusBadRequest, projectPage{TaskTitle: title, TaskError: ie})
	}
	if err != nil {
		return err
	}
	// The new task is the project's last: when the first page does not
	// hold it, open the page that begins with it.
	first, err := h.tasks.List(r.Context(), p.OrgID, id, tasks.Page{Size: DefaultPageSize})
	if err != nil {
		return err
	}
	to := projectURL(id)
	if len(first) > DefaultPageSize {
		to += "?page_token=" + strconv.FormatInt(t.ID-1, 10)
	}
	http.Redirect(w, r, to+"#task-"+strconv.FormatInt(t.ID, 10), http.StatusSeeOther)
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

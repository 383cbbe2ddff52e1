package tasks

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// Membership tells whether a user belongs to an organization.
type Membership interface {
	IsMember(ctx context.Context, orgID, userID string) (bool, error)
}

// Handler serves task actions for pages and the API. Its routes are gated
// in app/routes.go (tasks:assign, tasks:update).
type Handler struct {
	store   Store
	members Membership
	render  *render.Renderer
}

// NewHandler returns a Handler.
func NewHandler(store Store, members Membership, r *render.Renderer) *Handler {
	return &Handler{store: store, members: members, render: r}
}

// Assign sets a task's assignee from the form and goes back to its project.
func (h *Handler) Assign(w http.ResponseWriter, r *http.Request) error {
	if !r.PostForm.Has("assignee") {
		return problem.Invalid("assignee", "Pick an assignee, or Nobody.")
	}
	t, err := h.assign(r, r.PostFormValue("assignee"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, taskURL(t, r), http.StatusSeeOther)
	return nil
}

// Done marks a task done (or, with done=false, not done).
func (h *Handler) Done(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var done bool
	switch r.PostFormValue("done") {
	case "true":
		done = true
	case "false":
	default:
		return problem.Invalid("done", `The form must say done=true or done=false.`)
	}
	t, err := h.store.SetDone(r.Context(), p.OrgID, id, done)
	if err != nil {
		return err
	}
	http.Redirect(w, r, taskURL(t, r), http.StatusSeeOther)
	return nil
}

// APIAssign takes {"assignee": "usr_..."} ("" unassigns).
func (h *Handler) APIAssign(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Assignee *string `json:"assignee"`
	}
	if err := render.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Assignee == nil {
		return problem.Invalid("assignee", `send {"assignee": "<user id>"}, or "" to unassign`)
	}
	t, err := h.assign(r, *body.Assignee)
	if err != nil {
		return err
	}
	return h.render.JSON(w, http.StatusOK, taskJSON{t})
}

// APIUpdate takes {"done": true|false}.
func (h *Handler) APIUpdate(w http.ResponseWriter, r *http.Request) error {
	p := auth.PrincipalFrom(r.Context())
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body struct {
		Done *bool `json:"done"`
	}
	if err := render.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Done == nil {
		return problem.Invalid("done", `send {"done": true} or {"done": false}`)
	}
	t, err := h.store.SetDone(r.Context(), p.OrgID, id, *body.Done)
	if err != nil {
		return err
	}
	return h.render.JSON(w, http.StatusOK, taskJSON{t})
}

// assign checks the task and the assignee, both in the caller's
// organization, then assigns.
func (h *Handler) assign(r *http.Request, assignee string) (Task, error) {
	p := auth.PrincipalFrom(r.Context())
	id, err := pathID(r)
	if err != nil {
		return Task{}, err
	}
	if _, err := h.store.Get(r.Context(), p.OrgID, id); err != nil {
		return Task{}, err
	}
	if assignee != "" {
		// No user id holds such bytes, and PostgreSQL would fail the lookup
		// itself on them (a 500): they name nobody of the organization.
		if !plaintext.Valid(assignee, false) {
			return Task{}, problem.Invalid("assignee", "That user is not a member of your organization.")
		}
		ok, err := h.members.IsMember(r.Context(), p.OrgID, assignee)
		if err != nil {
			return Task{}, err
		}
		if !ok {
			return Task{}, problem.Invalid("assignee", "That user is not a member of your organization.")
		}
	}
	return h.store.Assign(r.Context(), p.OrgID, id, assignee)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("task id %q: %w", r.PathValue("id"), problem.ErrNotFound)
	}
	return id, nil
}

// taskURL is the task on its project's page: the page of tasks the form
// was posted from (its page_token field), so the task is still in view.
func taskURL(t Task, r *http.Request) string {
	u := "/projects/" + strconv.FormatInt(t.ProjectID, 10)
	if token, err := strconv.ParseInt(r.PostFormValue("page_token"), 10, 64); err == nil && token > 0 {
		u += "?page_token=" + strconv.FormatInt(token, 10)
	}
	return u + "#task-" + strconv.FormatInt(t.ID, 10)
}

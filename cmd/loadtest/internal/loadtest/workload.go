package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
)

// endpoint is one kind of request of the workload.
type endpoint int

const (
	epHealthz endpoint = iota
	epMe
	epListProjects
	epGetProject
	epGetOtherOrgProject
	epCreateProject
	epCreateProjectDenied
	epCreateTask
	epUpdateTask
	numEndpoints
)

var endpointNames = [numEndpoints]string{
	"GET /healthz",
	"GET /api/me",
	"GET /api/projects",
	"GET /api/projects/{id}",
	"GET /api/projects/{id} (other org)",
	"POST /api/projects",
	"POST /api/projects (team_member)",
	"POST /api/projects/{id}/tasks",
	"PATCH /api/tasks/{id}",
}

// expected is the one status each kind of request must get: another
// organization's project is 404, a team member's project creation 403.
var expected = [numEndpoints]int{200, 200, 200, 200, 404, 201, 403, 201, 200}

type weighted struct {
	ep     endpoint
	weight int
}

// mixes are the workload of each role, in percent of its requests: what
// its permissions allow, plus requests that must be refused.
var mixes = map[string][]weighted{
	"admin": {
		{epListProjects, 20}, {epGetProject, 25}, {epGetOtherOrgProject, 3},
		{epCreateProject, 7}, {epCreateTask, 20}, {epUpdateTask, 15}, {epHealthz, 5}, {epMe, 5},
	},
	"project_manager": {
		{epListProjects, 20}, {epGetProject, 25}, {epGetOtherOrgProject, 3},
		{epCreateProject, 7}, {epCreateTask, 20}, {epUpdateTask, 15}, {epHealthz, 5}, {epMe, 5},
	},
	"team_member": {
		{epListProjects, 25}, {epGetProject, 35}, {epGetOtherOrgProject, 5},
		{epCreateProjectDenied, 5}, {epUpdateTask, 20}, {epHealthz, 5}, {epMe, 5},
	},
}

func pick(rng *rand.Rand, mix []weighted) endpoint {
	n := rng.IntN(100)
	for _, w := range mix {
		if n -= w.weight; n < 0 {
			return w.ep
		}
	}
	return mix[0].ep
}

// run is the state the workers share.
type run struct {
	*stack
	stats    [numEndpoints]endpointStats
	ledger   *ledger
	problems *problems
	mem      memory
	budget   atomic.Int64 // requests left
	lists    atomic.Int64 // project lists and projects checked for other orgs' rows
	rowsSeen atomic.Int64 // rows in those
	listRows atomic.Int64 // rows in the answers of GET /api/projects
}

func newRun(s *stack, maxRequests int64) *run {
	r := &run{stack: s, ledger: newLedger(len(s.orgs)), problems: &problems{}}
	r.budget.Store(maxRequests)
	return r
}

// member spreads workers over organizations and roles: worker i works in
// organization i mod orgs, and each round of orgs workers moves every
// organization on to its next role, so that a few workers already cover
// every role and every organization gets each role in turn.
func (r *run) member(worker int) member {
	n := len(r.orgs)
	o := r.orgs[worker%n]
	return o.members[(worker%n+worker/n)%len(o.members)]
}

// The JSON the workers read.
type (
	projectJSON struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	taskJSON struct {
		ID        int64  `json:"id"`
		ProjectID int64  `json:"project_id"`
		Title     string `json:"title"`
		Done      bool   `json:"done"`
	}
)

// setup gives every organization two projects with a task each, so that
// readers and task workers have something from the first request on.
func (r *run) setup() error {
	ctx := context.Background()
	for i, o := range r.orgs {
		admin := o.members[0]
		for n := range 2 {
			var p struct{ Project projectJSON }
			name := fmt.Sprintf("%s setup p%d", o.id, n)
			if err := r.expect(ctx, http.StatusCreated, "POST", "/api/projects", admin.token, map[string]string{"name": name}, &p); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			r.ledger.addProject(p.Project.ID, i, name)
			var t struct{ Task taskJSON }
			title := fmt.Sprintf("%s setup t%d", o.id, n)
			path := fmt.Sprintf("/api/projects/%d/tasks", p.Project.ID)
			if err := r.expect(ctx, http.StatusCreated, "POST", path, admin.token, map[string]string{"title": title}, &t); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			r.ledger.addTask(t.Task.ID, i, p.Project.ID, title)
		}
	}
	return nil
}

// worker sends requests until ctx ends (the run's deadline) or the
// request budget is spent. ctx only stops it from starting another
// request: one in flight finishes, so that the deadline never cuts a
// write half-way and leaves its fate unknown.
func (r *run) worker(ctx context.Context, id int, m member) {
	w := &worker{run: r, id: id, m: m, tag: r.orgs[m.org].id + " ", rng: rand.New(rand.NewPCG(uint64(id), 1))}
	for ctx.Err() == nil && r.budget.Add(-1) >= 0 {
		w.do(pick(w.rng, mixes[m.role]))
	}
}

type worker struct {
	*run
	id  int
	m   member
	tag string // every name this organization writes starts with it
	rng *rand.Rand
	seq int
}

func (w *worker) do(ep endpoint) {
	ctx := context.Background()
	tok, org := w.m.token, w.m.org
	switch ep {
	case epHealthz:
		w.call(ctx, ep, "GET", "/healthz", "", nil, nil)
	case epMe:
		var me struct {
			OID string `json:"oid"`
		}
		if w.call(ctx, ep, "GET", "/api/me", tok, nil, &me) && me.OID != w.orgs[org].id {
			w.problems.add(kindCrossTenant, "GET /api/me for %s answered oid %q", w.orgs[org].id, me.OID)
		}
	case epListProjects:
		var list struct{ Projects []projectJSON }
		if w.call(ctx, ep, "GET", "/api/projects", tok, nil, &list) {
			w.listRows.Add(int64(len(list.Projects)))
			w.checkOwn(list.Projects)
		}
	case epGetProject:
		id, _ := w.ledger.randomProject(w.rng, org)
		var p struct{ Project projectJSON }
		if w.call(ctx, ep, "GET", fmt.Sprintf("/api/projects/%d", id), tok, nil, &p) {
			w.checkOwn([]projectJSON{p.Project})
		}
	case epGetOtherOrgProject:
		if len(w.orgs) == 1 {
			return
		}
		other := (org + 1 + w.rng.IntN(len(w.orgs)-1)) % len(w.orgs)
		id, _ := w.ledger.randomProject(w.rng, other)
		if status := w.callStatus(ctx, ep, "GET", fmt.Sprintf("/api/projects/%d", id), tok, nil, nil); status < 300 && status != 0 {
			w.problems.add(kindCrossTenant, "%s read project %d of %s", w.orgs[org].id, id, w.orgs[other].id)
		}
	case epCreateProject:
		w.seq++
		name := fmt.Sprintf("%sw%02d p%d", w.tag, w.id, w.seq)
		var p struct{ Project projectJSON }
		if w.call(ctx, ep, "POST", "/api/projects", tok, map[string]string{"name": name, "description": "load test"}, &p) {
			w.ledger.addProject(p.Project.ID, org, name)
			if p.Project.Name != name {
				w.problems.add(kindWrongData, "created project %d is named %q, sent %q", p.Project.ID, p.Project.Name, name)
			}
		}
	case epCreateProjectDenied:
		w.seq++
		name := fmt.Sprintf("%sw%02d refused p%d", w.tag, w.id, w.seq)
		w.call(ctx, ep, "POST", "/api/projects", tok, map[string]string{"name": name}, nil)
	case epCreateTask:
		project, _ := w.ledger.randomProject(w.rng, org)
		w.seq++
		title := fmt.Sprintf("%sw%02d t%d", w.tag, w.id, w.seq)
		var t struct{ Task taskJSON }
		if w.call(ctx, ep, "POST", fmt.Sprintf("/api/projects/%d/tasks", project), tok, map[string]string{"title": title}, &t) {
			w.ledger.addTask(t.Task.ID, org, project, title)
			if t.Task.ProjectID != project || t.Task.Title != title {
				w.problems.add(kindWrongData, "created task %d is %q in project %d, sent %q to %d", t.Task.ID, t.Task.Title, t.Task.ProjectID, title, project)
			}
		}
	case epUpdateTask:
		id, _ := w.ledger.randomTask(w.rng, org)
		var t struct{ Task taskJSON }
		if w.call(ctx, ep, "PATCH", fmt.Sprintf("/api/tasks/%d", id), tok, map[string]bool{"done": true}, &t) {
			w.ledger.markDone(id)
			if !t.Task.Done {
				w.problems.add(kindWrongData, "PATCH task %d done=true answered done=false", id)
			}
		}
	}
}

// checkOwn reports any project in a list that belongs to another
// organization, by its name tag or by the ledger.
func (w *worker) checkOwn(list []projectJSON) {
	w.lists.Add(1)
	w.rowsSeen.Add(int64(len(list)))
	for _, p := range list {
		if o, known := w.ledger.projectOrg(p.ID); !strings.HasPrefix(p.Name, w.tag) || (known && o != w.m.org) {
			w.problems.add(kindCrossTenant, "%s was shown project %d %q", strings.TrimSpace(w.tag), p.ID, p.Name)
		}
	}
}

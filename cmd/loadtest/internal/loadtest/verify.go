package loadtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Verified counts what the read back at the end of a run found.
type Verified struct {
	Projects       int // acknowledged projects, each found with its name
	Tasks          int // acknowledged tasks, each found with its title in its project
	Done           int // tasks a PATCH marked done, each found done
	Unacknowledged int // rows found that no 2xx announced (a write whose answer was lost)
}

// verify reads every organization's projects, and the tasks of every
// project a task was written to, as that organization's admin, and checks
// them against the ledger: every acknowledged row is there (else a lost
// write) and nothing belongs to another organization (else a cross-tenant
// row). It uses up to workers requests at a time.
func (r *run) verify(workers int) Verified {
	var (
		mu  sync.Mutex
		v   Verified
		sem = make(chan struct{}, workers)
		wg  sync.WaitGroup
	)
	add := func(f func(*Verified)) {
		mu.Lock()
		defer mu.Unlock()
		f(&v)
	}
	for i, o := range r.orgs {
		projects, tasksByProject, tasks := r.ledger.snapshot(i)
		found, extra := r.verifyProjects(i, projects)
		add(func(v *Verified) { v.Projects += found; v.Unacknowledged += extra })
		for project, ids := range tasksByProject {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				found, done, extra := r.verifyTasks(o, i, project, ids, tasks)
				add(func(v *Verified) { v.Tasks += found; v.Done += done; v.Unacknowledged += extra })
			})
		}
	}
	wg.Wait()
	return v
}

// verifyProjects checks one organization's project list against the
// ledger. It returns how many acknowledged rows it found, and how many
// rows it holds that nobody acknowledged.
func (r *run) verifyProjects(org int, want map[int64]projectRow) (found, unacknowledged int) {
	o := r.orgs[org]
	var list struct{ Projects []projectJSON }
	for token := ""; ; {
		var page struct {
			Projects      []projectJSON
			NextPageToken string `json:"next_page_token"`
		}
		path := "/api/projects?page_size=200&page_token=" + token
		if err := r.expect(context.Background(), 200, "GET", path, o.members[0].token, nil, &page); err != nil {
			r.problems.add(kindLost, "read back of %s: %v", o.id, err)
			return 0, 0
		}
		list.Projects = append(list.Projects, page.Projects...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	got := map[int64]string{}
	for _, p := range list.Projects {
		got[p.ID] = p.Name
		owner, known := r.ledger.projectOrg(p.ID)
		switch {
		case !strings.HasPrefix(p.Name, o.id+" ") || (known && owner != org):
			r.problems.add(kindCrossTenant, "read back: %s lists project %d %q", o.id, p.ID, p.Name)
		case strings.Contains(p.Name, " refused "):
			r.problems.add(kindRefusedWrite, "read back: %s lists project %d %q, whose creation was refused", o.id, p.ID, p.Name)
		case !known:
			unacknowledged++
		}
	}
	for id, p := range want {
		name, ok := got[id]
		switch {
		case !ok:
			r.problems.add(kindLost, "project %d %q of %s was acknowledged but is gone", id, p.name, o.id)
		case name != p.name:
			r.problems.add(kindWrongData, "project %d of %s is named %q, want %q", id, o.id, name, p.name)
		default:
			found++
		}
	}
	return found, unacknowledged
}

// verifyTasks checks the tasks of one project.
func (r *run) verifyTasks(o org, orgIndex int, project int64, ids []int64, want map[int64]taskRow) (found, done, unacknowledged int) {
	var list struct{ Tasks []taskJSON }
	path := fmt.Sprintf("/api/projects/%d/tasks", project)
	if err := r.expect(context.Background(), 200, "GET", path, o.members[0].token, nil, &list); err != nil {
		r.problems.add(kindLost, "read back of the tasks of project %d of %s: %v", project, o.id, err)
		return 0, 0, 0
	}
	got := map[int64]taskJSON{}
	for _, t := range list.Tasks {
		got[t.ID] = t
		owner, known := r.ledger.taskOrg(t.ID)
		switch {
		case !strings.HasPrefix(t.Title, o.id+" ") || (known && owner != orgIndex) || t.ProjectID != project:
			r.problems.add(kindCrossTenant, "read back: project %d of %s lists task %d %q", project, o.id, t.ID, t.Title)
		case !known:
			unacknowledged++
		}
	}
	for _, id := range ids {
		w := want[id]
		t, ok := got[id]
		switch {
		case !ok:
			r.problems.add(kindLost, "task %d %q of project %d was acknowledged but is gone", id, w.title, project)
		case t.Title != w.title:
			r.problems.add(kindWrongData, "task %d is titled %q, want %q", id, t.Title, w.title)
		case w.done && !t.Done:
			r.problems.add(kindLost, "task %d was marked done (answered 200) but is not done", id)
		default:
			found++
			if w.done {
				done++
			}
		}
	}
	return found, done, unacknowledged
}

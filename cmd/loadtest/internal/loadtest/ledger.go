package loadtest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// ledger remembers every write the app acknowledged with a 2xx: the read
// back at the end must find each of them, in the right organization.
type ledger struct {
	mu         sync.Mutex
	projects   map[int64]projectRow
	tasks      map[int64]taskRow
	orgProject [][]int64 // project ids by organization index
	orgTasks   [][]int64 // task ids by organization index
}

type projectRow struct {
	org  int
	name string
}

type taskRow struct {
	org     int
	project int64
	title   string
	done    bool // a PATCH {"done": true} was answered 200
}

func newLedger(orgs int) *ledger {
	return &ledger{
		projects:   map[int64]projectRow{},
		tasks:      map[int64]taskRow{},
		orgProject: make([][]int64, orgs),
		orgTasks:   make([][]int64, orgs),
	}
}

func (l *ledger) addProject(id int64, org int, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.projects[id] = projectRow{org: org, name: name}
	l.orgProject[org] = append(l.orgProject[org], id)
}

func (l *ledger) addTask(id int64, org int, project int64, title string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tasks[id] = taskRow{org: org, project: project, title: title}
	l.orgTasks[org] = append(l.orgTasks[org], id)
}

func (l *ledger) markDone(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tasks[id]
	t.done = true
	l.tasks[id] = t
}

// projectOrg returns the organization that created project id, if the
// ledger knows it.
func (l *ledger) projectOrg(id int64) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.projects[id]
	return p.org, ok
}

func (l *ledger) taskOrg(id int64) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.tasks[id]
	return t.org, ok
}

// randomProject picks one of org's acknowledged projects.
func (l *ledger) randomProject(rng *rand.Rand, org int) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.orgProject[org]
	if len(ids) == 0 {
		return 0, false
	}
	return ids[rng.IntN(len(ids))], true
}

func (l *ledger) randomTask(rng *rand.Rand, org int) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.orgTasks[org]
	if len(ids) == 0 {
		return 0, false
	}
	return ids[rng.IntN(len(ids))], true
}

// snapshot copies the rows of one organization, for the read back.
func (l *ledger) snapshot(org int) (map[int64]projectRow, map[int64][]int64, map[int64]taskRow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	projects := map[int64]projectRow{}
	for _, id := range l.orgProject[org] {
		projects[id] = l.projects[id]
	}
	tasksByProject := map[int64][]int64{}
	tasks := map[int64]taskRow{}
	for _, id := range l.orgTasks[org] {
		t := l.tasks[id]
		tasks[id] = t
		tasksByProject[t.project] = append(tasksByProject[t.project], id)
	}
	return projects, tasksByProject, tasks
}

// Problem kinds, each counted in the report.
const (
	kindServerError  = "5xx response"
	kindTransport    = "transport error"
	kindUnexpected   = "unexpected status"
	kindCrossTenant  = "cross-tenant row"
	kindLost         = "lost write"
	kindWrongData    = "wrong data"
	kindRefusedWrite = "refused write stored"
)

// problems counts what went wrong and keeps the first few descriptions.
type problems struct {
	mu      sync.Mutex
	counts  map[string]int64
	samples []string
	total   atomic.Int64
}

const maxSamples = 20

func (p *problems) add(kind, format string, args ...any) {
	p.total.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[string]int64{}
	}
	p.counts[kind]++
	if len(p.samples) < maxSamples {
		p.samples = append(p.samples, kind+": "+fmt.Sprintf(format, args...))
	}
}

func (p *problems) count(kind string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[kind]
}

func (p *problems) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.samples...)
}

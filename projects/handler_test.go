package projects_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/projects"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/tasks"
	"github.com/scalekit-samples/go-rbac-projects/templates"
)

// bigProject is a project of 10,000 tasks in an organization of 2,000
// members, on the real stores and templates: the size at which the project
// page once weighed 44 MB.
type bigProject struct {
	mux     *http.ServeMux
	project int64
	tasks   int
}

const org = "org_big"

func newBigProject(t *testing.T, e database.Engine) bigProject {
	t.Helper()
	ctx := context.Background()
	db, d := databasetest.OpenNew(t, e)
	ps, err := projects.NewSQLStore(ctx, db)
	require.NoError(t, err)
	ts := tasks.NewSQLStore(db)
	dir := members.NewDirectory(db, d)
	r, err := render.New(templates.FS, nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)

	for i := range 2000 {
		require.NoError(t, dir.Remember(ctx, &auth.Principal{Subject: fmt.Sprintf("usr_%04d", i), OrgID: org, Name: fmt.Sprintf("Member %04d", i)}))
	}
	proj, err := ps.Create(ctx, org, "usr_0000", projects.Input{Name: "Big"})
	require.NoError(t, err)
	const n = 10_000
	// One statement: 10,000 round trips would be most of the test's time.
	_, err = db.ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
		INSERT INTO tasks (org_id, project_id, title, created_by, created_at)
		SELECT CAST($2 AS TEXT), CAST($3 AS BIGINT), 'Task ' || i, 'usr_0000', 0 FROM seq`,
		n, org, proj.ID)
	require.NoError(t, err)

	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	admin := &auth.Principal{Subject: "usr_0000", OrgID: org, Roles: []string{"admin"}, Permissions: model.Effective("admin")}
	h := projects.NewHandler(ps, ts, dir, r)
	th := tasks.NewHandler(ts, dir, r)
	mux := http.NewServeMux()
	for pattern, handle := range map[string]func(http.ResponseWriter, *http.Request) error{
		"GET /projects/{id}":           h.Show,
		"GET /api/projects/{id}/tasks": th.APIList,
	} {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			err := handle(w, r.WithContext(auth.WithPrincipal(r.Context(), admin)))
			var input *problem.InputError
			switch {
			case errors.As(err, &input):
				http.Error(w, input.Message, http.StatusBadRequest)
			case err != nil:
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	return bigProject{mux: mux, project: proj.ID, tasks: n}
}

func (b bigProject) get(t *testing.T, path string) (int, string) {
	t.Helper()
	path, _, _ = strings.Cut(path, "#") // a browser keeps the fragment to itself
	rec := httptest.NewRecorder()
	b.mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

func TestABigProjectRendersABoundedPage(t *testing.T) {
	databasetest.Run(t, testABigProjectRendersABoundedPage)
}

func testABigProjectRendersABoundedPage(t *testing.T, e database.Engine) {
	b := newBigProject(t, e)
	page := "/projects/" + strconv.FormatInt(b.project, 10)

	status, body := b.get(t, page)
	require.Equal(t, http.StatusOK, status, body)
	assert.Less(t, len(body), 200<<10, "the page's size in bytes")
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	assert.Equal(t, projects.DefaultPageSize, doc.Find(`[data-testid="task-list"] li`).Length(), "one page of tasks")
	assert.Zero(t, doc.Find(`[data-testid="assign-form"]`).Length(), "no picker of 2,000 members per task")
	links := doc.Find(`[data-testid="assign-link"]`)
	assert.Equal(t, projects.DefaultPageSize, links.Length(), "an Assign link per task instead")

	// The link opens that task's picker, on the same page, without JavaScript.
	status, body = b.get(t, links.Eq(2).AttrOr("href", ""))
	require.Equal(t, http.StatusOK, status, body)
	doc, err = goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	pickers := doc.Find(`[data-testid="assign-form"]`)
	require.Equal(t, 1, pickers.Length(), "one picker")
	assert.Equal(t, 2001, pickers.Find("option").Length(), "Nobody and every member")
	assert.Equal(t, "Task 3", strings.TrimSpace(pickers.ParentsFiltered("li").Find(".item-title").Text()), "on the task whose link was followed")
	assert.Less(t, len(body), 400<<10)

	next := doc.Find(`[data-testid="next-tasks"]`).AttrOr("href", "")
	require.NotEmpty(t, next, "the page links to the next tasks")
	_, body = b.get(t, next)
	doc, err = goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	assert.Equal(t, "Task 51", strings.TrimSpace(doc.Find(`[data-testid="task-list"] li:first-child .item-title`).Text()))
}

func TestTheTasksAPIPagesThroughEveryTaskOnce(t *testing.T) {
	databasetest.Run(t, testTheTasksAPIPagesThroughEveryTaskOnce)
}

func testTheTasksAPIPagesThroughEveryTaskOnce(t *testing.T, e database.Engine) {
	b := newBigProject(t, e)
	path := "/api/projects/" + strconv.FormatInt(b.project, 10) + "/tasks"

	seen := map[int64]bool{}
	last, pages := int64(0), 0
	for token := ""; ; pages++ {
		require.Less(t, pages, 100, "the walk ends")
		status, body := b.get(t, path+"?page_size=200&page_token="+token)
		require.Equal(t, http.StatusOK, status, body)
		var page struct {
			Tasks         []tasks.Task `json:"tasks"`
			NextPageToken string       `json:"next_page_token"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &page))
		for _, task := range page.Tasks {
			assert.False(t, seen[task.ID], "task %d listed twice", task.ID)
			assert.Greater(t, task.ID, last, "oldest first")
			seen[task.ID], last = true, task.ID
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	assert.Len(t, seen, b.tasks, "every task exactly once")
	assert.Equal(t, b.tasks/200-1, pages, "200 a page")

	_, body := b.get(t, path)
	var first struct{ Tasks []tasks.Task }
	require.NoError(t, json.Unmarshal([]byte(body), &first))
	assert.Len(t, first.Tasks, projects.DefaultPageSize, "50 by default")
	for _, q := range []string{"page_size=0", "page_size=201", "page_token=abc"} {
		status, _ := b.get(t, path+"?"+q)
		assert.Equal(t, http.StatusBadRequest, status, q)
	}
}

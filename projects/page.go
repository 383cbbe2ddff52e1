package projects

import (
	"net/http"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/tasks"
)

// Page sizes of project and task lists. Lists are paged so that a
// request's cost does not grow with the organization: keyset paging on the
// id (projects newest first, a project's tasks oldest first), so a page is
// one index range scan however deep it is.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Page selects part of a list: at most Size projects older than the one
// with id Before (0: start from the newest).
type Page struct {
	Size   int
	Before int64
}

// PageFrom reads page_size and page_token from the query string, as
// Scalekit's list endpoints name them. The token is opaque to clients.
func PageFrom(r *http.Request) (Page, error) {
	size, id, err := pageParams(r)
	return Page{Size: size, Before: id}, err
}

// TaskPageFrom reads the same parameters for a project's tasks.
func TaskPageFrom(r *http.Request) (tasks.Page, error) {
	size, id, err := pageParams(r)
	return tasks.Page{Size: size, After: id}, err
}

// pageParams reads page_size and page_token: the token is the id of the
// last item of the previous page.
func pageParams(r *http.Request) (size int, id int64, err error) {
	q := r.URL.Query()
	size = DefaultPageSize
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return 0, 0, problem.Invalid("page_size", "page_size must be a number from 1 to %d", MaxPageSize)
		}
		size = n
	}
	if s := q.Get("page_token"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, problem.Invalid("page_token", "page_token must be a next_page_token from a previous answer")
		}
		id = n
	}
	return size, id, nil
}

// nextToken is the page_token of the page after list, or "" when list was
// the last page (the store returns one item more than asked to tell).
func nextToken[T any](list []T, size int, id func(T) int64) ([]T, string) {
	if len(list) <= size {
		return list, ""
	}
	list = list[:size]
	return list, strconv.FormatInt(id(list[len(list)-1]), 10)
}

func projectID(p Project) int64 { return p.ID }
func taskID(t tasks.Task) int64 { return t.ID }

// Package paging reads and writes the pages of the API's lists, as
// Scalekit's list endpoints name them: page_size and page_token in the
// query, next_page_token in the answer. Lists are paged so that a
// request's cost does not grow with the organization; the stores page by
// keyset on the id, so a page is one index range scan however deep it is.
package paging

import (
	"net/http"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// Page sizes.
const (
	DefaultSize = 50
	MaxSize     = 200
)

// Params reads page_size and page_token from the query string. The token,
// opaque to clients, is the id of the last item of the previous page (0:
// the first page).
func Params(r *http.Request) (size int, token int64, err error) {
	q := r.URL.Query()
	size = DefaultSize
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxSize {
			return 0, 0, problem.Invalid("page_size", "page_size must be a number from 1 to %d", MaxSize)
		}
		size = n
	}
	if s := q.Get("page_token"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, problem.Invalid("page_token", "page_token must be a next_page_token from a previous answer")
		}
		token = n
	}
	return size, token, nil
}

// Next cuts list to size and returns the page_token of the page after it,
// or "" when list was the last page: stores return one item more than
// asked when there are more.
func Next[T any](list []T, size int, id func(T) int64) ([]T, string) {
	if len(list) <= size {
		return list, ""
	}
	list = list[:size]
	return list, strconv.FormatInt(id(list[len(list)-1]), 10)
}

package projects

import (
	"net/http"
	"strconv"

	"github.com/scalekit-samples/go-rbac-projects/problem"
)

// Page sizes of project lists. Lists are paged so that a request's cost
// does not grow with the organization: keyset paging on the id, newest
// first, so a page is one index range scan however deep it is.
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
	q := r.URL.Query()
	page := Page{Size: DefaultPageSize}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return Page{}, problem.Invalid("page_size", "page_size must be a number from 1 to %d", MaxPageSize)
		}
		page.Size = n
	}
	if s := q.Get("page_token"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return Page{}, problem.Invalid("page_token", "page_token must be a next_page_token from a previous answer")
		}
		page.Before = id
	}
	return page, nil
}

// nextToken is the page_token of the page after list, or "" when list was
// the last page (the store returns one item more than asked to tell).
func nextToken(list []Project, page Page) ([]Project, string) {
	if len(list) <= page.Size {
		return list, ""
	}
	list = list[:page.Size]
	return list, strconv.FormatInt(list[len(list)-1].ID, 10)
}

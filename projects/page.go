package projects

import (
	"net/http"

	"github.com/scalekit-samples/go-rbac-projects/paging"
)

// DefaultPageSize is the size of a page of projects, or of a project's
// tasks, when the request names none.
const DefaultPageSize = paging.DefaultSize

// Page selects part of a list: at most Size projects older than the one
// with id Before (0: start from the newest).
type Page struct {
	Size   int
	Before int64
}

// PageFrom reads page_size and page_token from the query string.
func PageFrom(r *http.Request) (Page, error) {
	size, token, err := paging.Params(r)
	return Page{Size: size, Before: token}, err
}

func projectID(p Project) int64 { return p.ID }

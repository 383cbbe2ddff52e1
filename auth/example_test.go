package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// projectsAPI stands for a domain handler whose actions return an error.
type projectsAPI struct{}

func (projectsAPI) APICreate(w http.ResponseWriter, _ *http.Request) error {
	w.WriteHeader(http.StatusCreated)
	return nil
}

// Example is the README's one-line chi route: the gate as middleware, the
// error-returning handler adapted by Handle, and one error writer for both.
func Example() {
	// fail is the one place where errors become responses.
	fail := func(w http.ResponseWriter, _ *http.Request, err error) {
		var denied *auth.DeniedError
		switch {
		case errors.As(err, &denied):
			http.Error(w, "requires "+denied.Requirement(), http.StatusForbidden)
		case errors.Is(err, auth.ErrUnauthenticated):
			http.Error(w, "sign in", http.StatusUnauthorized)
		default:
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}
	h := projectsAPI{}

	r := chi.NewRouter()
	r.With(auth.Require(rbac.ProjectsCreate, fail)).Post("/api/projects", auth.Handle(h.APICreate, fail))

	// In an app, auth.Bearer puts the verified token's principal into the
	// request's context; here it is set by hand.
	for _, p := range []*auth.Principal{
		nil,
		{Subject: "usr_viewer", Permissions: []rbac.Permission{rbac.ProjectsRead}},
		{Subject: "usr_admin", Permissions: []rbac.Permission{rbac.ProjectsRead, rbac.ProjectsCreate}},
	} {
		req := httptest.NewRequest("POST", "/api/projects", nil)
		if p != nil {
			req = req.WithContext(auth.WithPrincipal(req.Context(), p))
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	// Output:
	// 401
	// 403
	// 201
}

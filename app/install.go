package app

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/templates"
)

// install builds the router. The middleware order, outermost first:
//
//	recover -> log -> security headers -> body limit ->
//	  browser: cross-origin protection -> session (refresh, verify) -> gate -> handler
//	  API:     bearer token (verify)                                -> gate -> handler
func (a *App) install(routes []Route) (http.Handler, error) {
	r := chi.NewRouter()
	r.Use(a.recoverer, a.logRequests, a.securityHeaders, limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, fmt.Errorf("no route %s: %w", r.URL.Path, problem.ErrNotFound))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, errMethodNotAllowed)
	})
	r.Handle("GET /static/*", http.StripPrefix("/static/", http.FileServerFS(templates.Static)))

	// Browser forms are protected against cross-site POSTs by checking
	// Sec-Fetch-Site and Origin (Go's CrossOriginProtection): no tokens to
	// thread through forms.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, errCrossOrigin)
	}))
	browser := r.With(csrf.Handler, a.rp.Sessions(a.fail))
	api := r.With(auth.Bearer(a.rp.Verifier(), a.rolesChanged, a.fail))

	for _, rt := range routes {
		if !rt.Gate.Valid() {
			return nil, fmt.Errorf("route %s %s has no gate: use auth.Public to make it public", rt.Method, rt.Pattern)
		}
		h := a.gated(rt)
		switch {
		case rt.Pattern == "/healthz":
			r.Method(rt.Method, rt.Pattern, h) // no session: the cheapest path, for probes
		case rt.API():
			api.Method(rt.Method, rt.Pattern, h)
		default:
			browser.Method(rt.Method, rt.Pattern, h)
		}
	}
	return r, nil
}

// gated checks the route's gate against the request's principal, then runs
// the handler; every refusal and error goes to fail.
func (a *App) gated(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rt.Gate.Check(auth.PrincipalFrom(r.Context())); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := rt.Handle(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/templates"
)

// install builds the router. The middleware order, outermost first:
//
//	request id -> recover -> log -> security headers -> body limit ->
//	  browser: cross-origin protection -> session (refresh, verify) -> gate -> handler
//	           (POST /logout: no session middleware; it reads the session itself)
//	  API:     bearer token (verify)                                -> gate -> handler
func (a *App) install(routes []Route, refused map[string]func(*http.Request, string)) (http.Handler, error) {
	r := chi.NewRouter()
	r.Use(requestIDs, a.recoverer, a.logRequests, a.securityHeaders, limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, fmt.Errorf("no route %s: %w", r.URL.Path, problem.ErrNotFound))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, errMethodNotAllowed)
	})
	static := a.staticFiles(templates.Static)
	r.Method(http.MethodGet, "/static/*", static)
	r.Method(http.MethodHead, "/static/*", static)

	// Browser forms are protected against cross-site POSTs by checking
	// Sec-Fetch-Site and Origin (Go's CrossOriginProtection): no tokens to
	// thread through forms. The check runs per route (in gated), so that a
	// refused attempt can be audited like any other refusal.
	a.csrf = http.NewCrossOriginProtection()
	browser := r.With(a.rp.Sessions(a.fail))
	api := r.With(auth.Bearer(a.rp.Verifier(), a.tokensStale, a.apiCallerSeen, a.fail))

	for _, rt := range routes {
		if !rt.Gate.Valid() {
			return nil, fmt.Errorf("route %s %s has no gate: use auth.Public to make it public", rt.Method, rt.Pattern)
		}
		h := a.gated(rt, refused[rt.Method+" "+rt.Pattern])
		mux := browser
		switch {
		case rt.Pattern == "/healthz", rt.Webhook():
			mux = r // no session, no token: probes, and senders that sign
		case rt.Pattern == "/logout":
			// Signing out reads the session itself and needs no principal:
			// it must not wait on a refresh that a down IdP would fail.
			mux = r
		case rt.API():
			mux = api
		}
		mux.Method(rt.Method, rt.Pattern, h)
		if rt.Method == http.MethodGet {
			// HEAD is GET without the body (RFC 9110 9.3.2): the same
			// middleware, gate and handler; net/http drops what it writes.
			mux.Method(http.MethodHead, rt.Pattern, h)
		}
	}
	return r, nil
}

// staticFiles serves the files of fsys, and only files: a directory
// answers 404, never a listing of what is there.
func (a *App) staticFiles(fsys fs.FS) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		// fs.Stat refuses "", "a/" and ".." (not valid fs paths) as well.
		if info, err := fs.Stat(fsys, name); err != nil || info.IsDir() {
			a.fail(w, r, fmt.Errorf("no static file %s: %w", capped(name, maxLoggedPath), problem.ErrNotFound))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// gated checks that a browser form comes from this site and that the
// route's gate lets the request's principal through, then runs the
// handler; every refusal and error goes to fail.
func (a *App) gated(rt Route, refused func(*http.Request, string)) http.Handler {
	browser := !rt.API() && !rt.Webhook()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		err := rt.Gate.Check(p)
		if browser && a.csrf.Check(r) != nil {
			err = errCrossOrigin
		}
		if err != nil {
			// Refusals of signed-in users are worth a trace; anonymous ones
			// would let anybody write to the audit log.
			if refused != nil && p != nil {
				refused(r, refusalReason(err))
			}
			a.fail(w, r, err)
			return
		}
		// A form that cannot be read (malformed encoding, over the size
		// limit) is refused as a whole: handlers must never act on the
		// empty values PostFormValue would return for it.
		if browser && r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				a.fail(w, r, problem.Invalid("form", "The form could not be read (malformed, or larger than %d KB).", render.MaxBody>>10))
				return
			}
		}
		if err := rt.Handle(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// refusalReason words a refusal for the audit log.
func refusalReason(err error) string {
	if errors.Is(err, errCrossOrigin) {
		return "cross-site request refused"
	}
	return members.RefusalReason(err)
}

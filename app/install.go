package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/templates"
)

// group is a part of the route table mounted with its own middleware and
// its own error writer: which chain a route gets is said by the table it is
// in, never guessed from its path.
type group struct {
	name   string
	routes []Route
	// prefix, if set, is where the group is mounted: it also answers the
	// unknown paths and methods under it, with its own error writer.
	prefix  string
	use     []func(http.Handler) http.Handler
	fail    auth.ErrorWriter
	browser bool // forms: cross-origin protection, and unreadable forms refused
}

// stack is what install needs besides the route table: the middleware
// that authenticates each group's callers.
type stack struct {
	sessions   func(http.Handler) http.Handler // the session cookie's principal, or none
	bearer     func(http.Handler) http.Handler // the bearer token's principal, or none
	endSession string                          // the IdP's logout URL, for the CSP's form-action
}

// install builds the router. The middleware order, outermost first:
//
//	request id -> recover -> log -> security headers -> body limit ->
//	  Pages:  session (refresh, verify) -> cross-origin check -> gate -> handler
//	  SignIn:                              cross-origin check -> gate -> handler (reads the session itself)
//	  API:    bearer token (verify)                           -> gate -> handler
//	  Signed:                                                    gate -> handler (checks the signature)
func (a *App) install(t Routes, s stack) (http.Handler, error) {
	r := chi.NewRouter()
	r.Use(requestIDs, a.recoverer(a.failPage), a.logRequests, securityHeaders(a.cfg, s.endSession), limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.failPage(w, r, fmt.Errorf("no route %s: %w", r.URL.Path, problem.ErrNotFound))
	})
	r.MethodNotAllowed(notAllowed(r, a.failPage))
	static := a.staticFiles(templates.Static)
	r.Method(http.MethodGet, "/static/*", static)
	r.Method(http.MethodHead, "/static/*", static)

	// Browser forms are protected against cross-site POSTs by checking
	// Sec-Fetch-Site and Origin (Go's CrossOriginProtection): no tokens to
	// thread through forms. The check runs per route (in gated), so that a
	// refused attempt can be audited like any other refusal.
	csrf := http.NewCrossOriginProtection()
	groups := []group{
		{name: "Pages", routes: t.Pages, use: []func(http.Handler) http.Handler{s.sessions}, fail: a.failPage, browser: true},
		{name: "SignIn", routes: t.SignIn, fail: a.failPage, browser: true},
		{name: "API", routes: t.API, prefix: "/api", use: []func(http.Handler) http.Handler{s.bearer}, fail: a.failJSON},
		{name: "Signed", routes: t.Signed, prefix: "/webhooks", fail: a.failJSON},
	}
	for _, g := range groups {
		if err := g.mount(r, csrf, a.recoverer(g.fail), notAllowed(r, g.fail)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// mount registers the group's routes on r, each behind its gate. A route
// without a gate, or outside the group's prefix, stops start-up.
func (g group) mount(r chi.Router, csrf *http.CrossOriginProtection, recoverer func(http.Handler) http.Handler, notAllowed http.HandlerFunc) error {
	for _, rt := range g.routes {
		if !rt.Gate.Valid() {
			return fmt.Errorf("route %s %s has no gate: use auth.Public to make it public", rt.Method, rt.Pattern)
		}
		if g.prefix != "" && !strings.HasPrefix(rt.Pattern, g.prefix+"/") {
			return fmt.Errorf("route %s %s is in the %s table, which is mounted at %s", rt.Method, rt.Pattern, g.name, g.prefix)
		}
	}
	register := func(mux chi.Router) {
		mux.Use(recoverer) // a panic is answered in the group's own format
		mux.Use(g.use...)
		for _, rt := range g.routes {
			h := gated(rt, g.browser, csrf, g.fail)
			pattern := strings.TrimPrefix(rt.Pattern, g.prefix)
			mux.Method(rt.Method, pattern, h)
			if rt.Method == http.MethodGet {
				// HEAD is GET without the body (RFC 9110 9.3.2): the same
				// middleware, gate and handler; net/http drops what it writes.
				mux.Method(http.MethodHead, pattern, h)
			}
		}
	}
	if g.prefix == "" {
		r.Group(register)
		return nil
	}
	r.Route(g.prefix, func(sub chi.Router) {
		sub.NotFound(func(w http.ResponseWriter, r *http.Request) {
			g.fail(w, r, fmt.Errorf("no route %s: %w", plaintext.Cut(r.URL.Path, maxLoggedPath), problem.ErrNotFound))
		})
		sub.MethodNotAllowed(notAllowed)
		register(sub)
	})
	return nil
}

// notAllowed answers 405 with the Allow header that RFC 9110 (15.5.6)
// requires: the methods the path does answer, asked of the whole router.
func notAllowed(routes chi.Routes, fail func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range methods {
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		fail(w, r, errMethodNotAllowed)
	}
}

// staticFiles serves the files of fsys, and only files: a directory
// answers 404, never a listing of what is there.
func (a *App) staticFiles(fsys fs.FS) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		// fs.Stat refuses "", "a/" and ".." (not valid fs paths) as well.
		if info, err := fs.Stat(fsys, name); err != nil || info.IsDir() {
			a.failPage(w, r, fmt.Errorf("no static file %s: %w", plaintext.Cut(name, maxLoggedPath), problem.ErrNotFound))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// gated checks that a browser form comes from this site and that the
// route's gate lets the request's principal through, then runs the
// handler; every refusal and error goes to fail.
func gated(rt Route, browser bool, csrf *http.CrossOriginProtection, fail auth.ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		err := rt.Gate.Check(p)
		if browser && csrf.Check(r) != nil {
			err = errCrossOrigin
		}
		if err != nil {
			// Refusals of signed-in users are worth a trace; anonymous ones
			// would let anybody write to the audit log.
			if rt.Refused != nil && p != nil {
				rt.Refused(r, refusalReason(err))
			}
			fail(w, r, err)
			return
		}
		// A form that cannot be read (malformed encoding, over the size
		// limit) is refused as a whole: handlers must never act on the
		// empty values PostFormValue would return for it.
		if browser && r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				fail(w, r, problem.Invalid("form", "The form could not be read (malformed, or larger than %d KB).", render.MaxBody>>10))
				return
			}
		}
		if err := rt.Handle(w, r); err != nil {
			fail(w, r, err)
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

package app

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// securityHeaders sets the headers every response carries. The CSP allows
// no script at all (the app needs none) and forms may post only here and
// to the IdP (logout redirects there).
func securityHeaders(cfg Config, endSession string) func(http.Handler) http.Handler {
	// Browsers apply form-action to the redirects that follow a form post:
	// the sign-out form ends at the IdP's end-session endpoint, which may
	// live on another host than the issuer.
	formAction := "'self'"
	for _, u := range []string{cfg.Issuer, endSession} {
		if o := origin(u); o != "" && !strings.Contains(formAction, o) {
			formAction += " " + o
		}
	}
	csp := "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action " + formAction +
		"; frame-ancestors 'none'; base-uri 'none'"
	hsts := isHTTPS(cfg.BaseURL)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=63072000")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// origin returns the scheme://host of an absolute URL, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// limitBody caps request bodies (forms and JSON alike).
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, render.MaxBody)
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request. It logs the path only: query
// strings carry authorization codes and state, and headers carry tokens
// and cookies, so neither is ever logged. The path and method are the
// client's own bytes, up to the server's 1 MB header limit: both are
// cut (plaintext.Cut), so that anonymous requests cannot fill the disk through the log.
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		a.log.LogAttrs(r.Context(), levelFor(rec.status), "request",
			slog.String("method", plaintext.Cut(r.Method, maxLoggedMethod)), slog.String("path", logPath(r)),
			slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	})
}

// Bounds of what a log line repeats from a request. Real paths of this app
// are well under 100 bytes; real methods under 10.
const (
	maxLoggedPath   = 256
	maxLoggedMethod = 16
)

// logPath is the request's path as logged: never the query, at most
// maxLoggedPath bytes.
func logPath(r *http.Request) string { return plaintext.Cut(r.URL.Path, maxLoggedPath) }

// recoverer turns a panic into a logged 500, answered by fail, instead of
// a dropped connection.
func (a *App) recoverer(fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					a.log.ErrorContext(r.Context(), "panic", "path", logPath(r), "panic", v)
					fail(w, r, errPanic)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

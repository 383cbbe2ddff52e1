package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
)

// BenchmarkRequests measures whole requests through the app's router and
// middleware stack (no network), side by side in one run, so the ratios
// between them hold on a noisy machine:
//
//   - healthz: the baseline, no authentication;
//   - healthz-token: the same, sent the bearer token api-me gets (unread);
//   - api-me: a bearer token verified (cached after first sight) and gated,
//     no database;
//   - api-projects: the same plus a SQLite query;
//   - page-signed-out / page-signed-in: the landing page without and with a
//     browser session (session lookup in SQLite, token check, render).
//
// go test -run '^$' -bench Requests -benchmem ./app
func BenchmarkRequests(b *testing.B) {
	e := apptest.Start(b, apptest.Options{Quiet: true})
	alice := e.User("alice@acme.example")
	authorization := "Bearer " + e.Token(alice)
	e.ProjectWithTask(alice)
	browser := e.SignIn(alice)
	cookies := browser.Client.Jar.Cookies(apptest.MustURL(b, e.URL))
	h := e.App.Handler()

	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"healthz", func() *http.Request { return httptest.NewRequest("GET", "/healthz", nil) }},
		{"healthz-token", func() *http.Request {
			r := httptest.NewRequest("GET", "/healthz", nil)
			r.Header.Set("Authorization", authorization)
			return r
		}},
		{"api-me", func() *http.Request {
			r := httptest.NewRequest("GET", "/api/me", nil)
			r.Header.Set("Authorization", authorization)
			return r
		}},
		{"api-projects", func() *http.Request {
			r := httptest.NewRequest("GET", "/api/projects", nil)
			r.Header.Set("Authorization", authorization)
			return r
		}},
		{"page-signed-out", func() *http.Request { return httptest.NewRequest("GET", "/", nil) }},
		{"page-signed-in", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			return r
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, c.req())
				if w.Code != http.StatusOK {
					b.Fatalf("%s: status %d: %s", c.name, w.Code, w.Body)
				}
			}
		})
	}
}

package session_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/session"
)

// BenchmarkSessionMiddleware measures what a browser session adds to a
// request: cookie check, session lookup in SQLite, refresh check, access
// token check (cached after first sight), principal in the context. The
// handler behind it does nothing, so the difference between the two cases
// is the session's own cost.
//
// go test -run '^$' -bench SessionMiddleware -benchmem ./session
func BenchmarkSessionMiddleware(b *testing.B) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(b, err)
	idp := mockidptest.Start(b, mockidp.Config{Model: model})
	db, d := databasetest.OpenNew(b, database.SQLite)
	ctx := context.Background()
	store, err := session.NewSessionStore(ctx, db, lease.New(db, d), []byte(strings.Repeat("s", 32)), time.Hour, false)
	require.NoError(b, err)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	rp, err := session.NewRelyingParty(ctx, session.Config{
		Issuer: idp.URL(), ClientID: mockidp.DemoClientID, ClientSecret: mockidp.DemoClientSecret,
		BaseURL: srv.URL, Sessions: store,
	})
	require.NoError(b, err)
	fail := func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	handle := func(h func(http.ResponseWriter, *http.Request) error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				fail(w, r, err)
			}
		})
	}
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.PrincipalFrom(r.Context()) == nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	mux.Handle("GET /login", handle(rp.Login))
	mux.Handle("GET /auth/callback", handle(rp.Callback))
	withSession := rp.Sessions(fail)(noop)

	// Sign in for real to get a session cookie.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(srv.URL + "/login")
	require.NoError(b, err)
	resp.Body.Close()
	form := resp.Request.URL.Query()
	form.Set("user_id", idp.Users()[1].ID)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = client.PostForm(idp.URL()+"/oauth/authorize", form)
	require.NoError(b, err)
	resp.Body.Close()
	resp, err = client.Get(resp.Header.Get("Location"))
	require.NoError(b, err)
	resp.Body.Close()
	require.Equal(b, http.StatusSeeOther, resp.StatusCode)
	cookies := jar.Cookies(mustParse(b, srv.URL))
	require.Len(b, cookies, 1)

	request := func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookies[0])
		return r
	}
	b.Run("handler alone", func(b *testing.B) {
		for b.Loop() {
			noop.ServeHTTP(httptest.NewRecorder(), request())
		}
	})
	b.Run("handler behind the session middleware", func(b *testing.B) {
		for b.Loop() {
			w := httptest.NewRecorder()
			withSession.ServeHTTP(w, request())
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

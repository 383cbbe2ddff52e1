package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/session"
)

// testApp is a relying party on a fresh database of engine e, served by an
// httptest server with the sign-in routes and one page behind the session
// middleware (200 signed in, 401 not); any error answers failStatus.
type testApp struct {
	url  string
	page http.Handler // GET /page, also mounted on the server
}

// startTestApp starts it for the IdP at issuer, the relying party's HTTP
// client and clock taken from cfg (both may be zero).
func startTestApp(t *testing.T, e database.Engine, issuer string, cfg session.Config, failStatus int) *testApp {
	t.Helper()
	ctx := context.Background()
	db, d := databasetest.OpenNew(t, e)
	store, err := session.NewSessionStore(ctx, db, lease.New(db, d), []byte(strings.Repeat("s", 32)), time.Hour, false)
	require.NoError(t, err)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret = issuer, mockidp.DemoClientID, mockidp.DemoClientSecret
	cfg.BaseURL, cfg.Sessions = srv.URL, store
	rp, err := session.NewRelyingParty(ctx, cfg)
	require.NoError(t, err)
	fail := func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), failStatus)
	}
	mux.Handle("GET /login", auth.Handle(rp.Login, fail))
	mux.Handle("GET /auth/callback", auth.Handle(rp.Callback, fail))
	page := rp.Sessions(fail)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.PrincipalFrom(r.Context()) == nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	mux.Handle("GET /page", page)
	return &testApp{url: srv.URL, page: page}
}

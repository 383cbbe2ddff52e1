package session_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/session"
)

// The client authenticates at the token endpoint the way the provider's
// discovery document says, for the code exchange and for every refresh.
func TestTokenRequestsAuthenticateTheWayDiscoveryAdvertises(t *testing.T) {
	databasetest.Run(t, testTokenRequestsAuthenticateTheWayDiscoveryAdvertises)
}

func testTokenRequestsAuthenticateTheWayDiscoveryAdvertises(t *testing.T, e database.Engine) {
	tests := []struct {
		name    string
		methods []string // token_endpoint_auth_methods_supported; nil: the mock's own document
		absent  bool     // the document has no such list
		want    string
	}{
		{"the mock, which lists client_secret_post only, gets form fields", nil, false, "client_secret_post"},
		{"a provider that lists client_secret_basic only gets Basic", []string{"client_secret_basic"}, false, "client_secret_basic"},
		{"a provider that lists both gets form fields, as Scalekit documents", []string{"client_secret_basic", "client_secret_post"}, false, "client_secret_post"},
		{"a provider that lists nothing gets Basic, Discovery's default", nil, true, "client_secret_basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := startStrictIdP(t, tt.methods, tt.absent)
			app := startRelyingParty(t, e, idp)

			app.signIn(t, mockidp.DemoUsers()[1].ID)
			idp.clock.Advance(6 * time.Minute) // the access token has expired
			assert.Equal(t, http.StatusOK, app.get(t), "the session was refreshed")

			assert.Equal(t, []tokenCall{
				{"authorization_code", tt.want},
				{"refresh_token", tt.want},
			}, idp.calls(), "each token request, refused ones included")
		})
	}
}

// tokenCall is one request to the token endpoint: its grant and how the
// client authenticated.
type tokenCall struct{ grant, method string }

// strictIdP is the mock IdP behind a front that rewrites the discovery
// document's token_endpoint_auth_methods_supported and accepts exactly the
// method it then advertises: Basic, which the mock refuses, is translated
// to form fields when it is the one advertised.
type strictIdP struct {
	url   string
	clock *testkit.Clock
	basic bool // the front advertises and accepts client_secret_basic only

	mu  sync.Mutex
	log []tokenCall
}

func startStrictIdP(t *testing.T, methods []string, absent bool) *strictIdP {
	t.Helper()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	s := &strictIdP{clock: testkit.NewClock(time.Now())}
	// Basic only when that is all the document offers (or all Discovery's
	// default allows).
	s.basic = absent || len(methods) > 0 && !slices.Contains(methods, "client_secret_post")
	var mock *mockidp.Server
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			s.serveDiscovery(t, mock, w, r, methods, absent)
		case "/oauth/token":
			s.serveToken(mock, w, r)
		default:
			mock.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(front.Close)
	s.url = front.URL
	mock, err = mockidp.New(front.URL, mockidp.Config{Model: model, Now: s.clock.Now})
	require.NoError(t, err)
	return s
}

func (s *strictIdP) serveDiscovery(t *testing.T, mock http.Handler, w http.ResponseWriter, r *http.Request, methods []string, absent bool) {
	rec := httptest.NewRecorder()
	mock.ServeHTTP(rec, r)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Errorf("discovery: %v", err)
		http.Error(w, "bad discovery document", http.StatusInternalServerError)
		return
	}
	switch {
	case absent:
		delete(doc, "token_endpoint_auth_methods_supported")
	case methods != nil:
		doc["token_endpoint_auth_methods_supported"] = methods
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (s *strictIdP) serveToken(mock http.Handler, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, basic := r.BasicAuth()
	method := "none"
	switch {
	case basic:
		method = "client_secret_basic"
	case form.Has("client_secret"):
		method = "client_secret_post"
	}
	s.mu.Lock()
	s.log = append(s.log, tokenCall{form.Get("grant_type"), method})
	s.mu.Unlock()

	if s.basic {
		if !basic {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"client_secret_basic only"}`)
			return
		}
		// RFC 6749 section 2.3.1: the credentials are form-encoded first.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		form.Set("client_id", id)
		form.Set("client_secret", secret)
		r.Header.Del("Authorization")
	}
	enc := form.Encode()
	r.Body = io.NopCloser(bytes.NewBufferString(enc))
	r.ContentLength = int64(len(enc))
	r.Header.Set("Content-Length", strconv.Itoa(len(enc)))
	mock.ServeHTTP(w, r)
}

func (s *strictIdP) calls() []tokenCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tokenCall(nil), s.log...)
}

// relyingParty is an app with sign-in routes and one page behind the
// session middleware.
type relyingParty struct {
	url    string
	idp    *strictIdP
	client *http.Client
}

func startRelyingParty(t *testing.T, e database.Engine, idp *strictIdP) *relyingParty {
	t.Helper()
	app := startTestApp(t, e, idp.url, session.Config{Now: idp.clock.Now}, http.StatusInternalServerError)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &relyingParty{url: app.url, idp: idp, client: client}
}

// signIn goes through /login, the mock's picker and the callback.
func (a *relyingParty) signIn(t *testing.T, userID string) {
	t.Helper()
	resp, err := a.client.Get(a.url + "/login")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	authorize, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	form := authorize.Query()
	form.Set("user_id", userID)
	resp, err = a.client.PostForm(a.idp.url+"/oauth/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	resp, err = a.client.Get(resp.Header.Get("Location"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed in")
}

// get requests the page behind the session middleware.
func (a *relyingParty) get(t *testing.T) int {
	t.Helper()
	resp, err := a.client.Get(a.url + "/page")
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

package app_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// testWebhookSecret signs the directory-sync webhooks of the tests.
const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// env is the real app and the mock IdP, each on a random loopback port.
type env struct {
	t     testing.TB
	URL   string
	App   *app.App
	IdP   *mockidp.Server
	Model *rbac.Model
	Logs  *testkit.Buffer
	cfg   app.Config
	log   *slog.Logger // the first instance's
}

type envOptions struct {
	engine          database.Engine // the database's; empty: SQLite
	accessTokenTTL  time.Duration
	quiet           bool // discard logs (benchmarks)
	noWebhookSecret bool
	idpNow          func() time.Time // the mock IdP's clock; nil: time.Now
	appNow          func() time.Time // the app's clock; nil: time.Now
	roleChangeWait  time.Duration    // app.Config.RoleChangeWait; 0: the app's 5 s
	idpWebhooks     bool             // the mock IdP reports role changes to the app's webhook
	emptyDatabase   bool             // not migrated: the instances migrate it as they start
	database        *database.Config // a database of the test's own (a throwaway server); nil: a fresh one of engine
	users           []mockidp.User   // the mock IdP's users; nil: mockidp.DemoUsers (mockidp.DemoCast adds Casey, in two organizations)
}

func startEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := newEnv(t, opts, "http://"+ln.Addr().String())
	e.App = e.startInstance(ln, e.log).App
	return e
}

// newEnv is the configuration every instance of a test's app shares: one
// mock IdP, one database, one SESSION_SECRET, and base, the URL browsers
// reach the app at (an instance's, or a load balancer's: startCluster).
// It starts no instance.
func newEnv(t testing.TB, opts envOptions, base string) *env {
	t.Helper()
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	idp := mockidptest.Start(t, mockidp.Config{Model: model, AccessTokenTTL: opts.accessTokenTTL, Now: opts.idpNow, Users: opts.users})

	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.quiet {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := app.Config{
		Issuer:        idp.URL(),
		ClientID:      mockidp.DemoClientID,
		ClientSecret:  mockidp.DemoClientSecret,
		BaseURL:       base,
		Addr:          strings.TrimPrefix(base, "http://"),
		SessionSecret: bytes.Repeat([]byte("k"), 32),
		SeedFile:      "../rbac.seed.json",
		WebhookSecret: testWebhookSecret,
		Now:           opts.appNow,

		RoleChangeWait: opts.roleChangeWait,
	}
	var db database.Config
	if opts.database != nil {
		db = *opts.database
	} else if opts.emptyDatabase {
		db = databasetest.Empty(t, cmp.Or(opts.engine, database.SQLite))
	} else {
		db = databasetest.New(t, cmp.Or(opts.engine, database.SQLite))
	}
	cfg.DatabaseURL, cfg.DatabasePath = db.URL, db.Path
	if opts.noWebhookSecret {
		cfg.WebhookSecret = ""
	}
	t.Cleanup(func() { // registered before any instance's: runs after they stopped
		if t.Failed() {
			t.Logf("app logs:\n%s", logs.String())
		}
	})
	if opts.idpWebhooks {
		require.NoError(t, idp.SetWebhook(mockidp.WebhookTarget{URL: base + "/webhooks/scalekit", Secret: testWebhookSecret}))
	}
	return &env{t: t, URL: base, IdP: idp, Model: model, Logs: logs, cfg: cfg, log: log}
}

// instance is one running copy of the app, serving on its own listener,
// started as cmd/server starts it (app.Start).
type instance struct {
	URL     string
	App     *app.App
	ln      *trackedListener
	running *app.Running
	killed  atomic.Bool
}

// startInstance builds an app on the env's configuration and serves it on
// ln until stopped (at the latest when the test ends).
func (e *env) startInstance(ln net.Listener, log *slog.Logger) *instance {
	e.t.Helper()
	cfg := e.cfg
	cfg.Addr = ln.Addr().String()
	tracked := &trackedListener{Listener: ln}
	r, err := app.Start(context.Background(), cfg, log, app.StartOptions{Listener: tracked})
	require.NoError(e.t, err)
	in := &instance{URL: "http://" + r.Addr, App: r.App, ln: tracked, running: r}
	e.t.Cleanup(func() {
		if err := in.stop(); err != nil {
			e.t.Errorf("serve %s: %v", in.URL, err)
		}
	})
	return in
}

// stop shuts the instance down gracefully (requests in flight finish) and
// closes its database pool; later calls do nothing.
func (in *instance) stop() error {
	err := in.running.Close()
	if in.killed.Load() {
		return nil // Serve reports the listener that kill closed
	}
	return err
}

// kill cuts the instance off at once, as a crash would for its clients:
// the listener and every open connection close, requests in flight get no
// answer. Its goroutines and pool are cleaned up afterwards by stop.
func (in *instance) kill() {
	in.killed.Store(true)
	in.ln.closeAll()
	_ = in.stop()
}

// trackedListener remembers the connections it accepted, so that kill can
// cut them.
type trackedListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *trackedListener) closeAll() {
	l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// eachEngine runs an end-to-end test once per database engine, as
// subtests named sqlite and postgres (databasetest.Run).
func eachEngine(t *testing.T, test func(t *testing.T, engine database.Engine)) {
	t.Helper()
	databasetest.Run(t, test)
}

// secondInstance starts another instance of the app on the same database
// and IdP, as behind a load balancer, and returns its base URL.
func (e *env) secondInstance() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(e.t, err)
	return e.startInstance(ln, slog.New(slog.NewTextHandler(e.Logs, nil))).URL
}

// user returns the demo user with the given email.
func (e *env) user(email string) mockidp.User {
	e.t.Helper()
	for _, u := range e.IdP.Users() {
		if u.Email == email {
			return u
		}
	}
	e.t.Fatalf("no demo user %s", email)
	return mockidp.User{}
}

// browser is a cookie-jar client that does not follow redirects, so tests
// see every status; signIn follows them by hand, like a browser would.
type browser struct {
	t      testing.TB
	e      *env
	client *http.Client
}

func (e *env) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &browser{t: e.t, e: e, client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signIn goes through the real redirects: app /login -> IdP picker ->
// pick the user -> app callback -> landing page. It returns the browser.
func (e *env) signIn(u mockidp.User) *browser {
	e.t.Helper()
	b := e.newBrowser()
	b.mustSignIn(u, "/")
	return b
}

func (b *browser) mustSignIn(u mockidp.User, returnTo string) {
	b.t.Helper()
	resp := b.get("/login?return_to=" + url.QueryEscape(returnTo))
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "GET /login")
	b.finishSignIn(u, resp, returnTo)
}

// finishSignIn continues from the app's redirect to the IdP: it picks the
// user and follows the callback, which must land on wantPath.
func (b *browser) finishSignIn(u mockidp.User, login response, wantPath string) {
	b.t.Helper()
	resp := b.pickUser(u, login)
	callback := resp.Header.Get("Location")
	require.True(b.t, strings.HasPrefix(callback, b.e.URL+"/auth/callback"), "IdP redirects to the callback, got %s", callback)
	resp = b.do("GET", callback, nil, "")
	require.Equal(b.t, http.StatusSeeOther, resp.StatusCode, "callback: %s", resp.Body)
	require.Equal(b.t, wantPath, resp.Header.Get("Location"))
}

// pickUser opens the IdP's picker that login redirected to and picks u; it
// returns the IdP's answer (a redirect to the callback). A member of
// several organizations then meets the IdP's chooser, and picks u.OrgID
// there (inOrg names which).
func (b *browser) pickUser(u mockidp.User, login response) response {
	b.t.Helper()
	authorize, err := url.Parse(login.Header.Get("Location"))
	require.NoError(b.t, err)
	require.True(b.t, strings.HasPrefix(authorize.String(), b.e.IdP.URL()), "login redirects to the IdP")

	// The picker page is a form that posts the request back with user_id.
	resp := b.do("GET", authorize.String(), nil, "")
	require.Equal(b.t, http.StatusOK, resp.StatusCode, "IdP picker")
	form := authorize.Query()
	form.Set("user_id", u.ID)
	resp = b.do("POST", b.e.IdP.URL()+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	if len(u.Memberships) > 1 && form.Get("organization_id") == "" {
		resp = b.chooseOrganization(resp, u.OrgID)
	}
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "picker submit: %.300s", resp.Body)
	return resp
}

// chooseOrganization submits the IdP's organization chooser (page) with
// the button of orgID, as a person clicking it would.
func (b *browser) chooseOrganization(page response, orgID string) response {
	b.t.Helper()
	require.Equal(b.t, http.StatusOK, page.StatusCode, "the IdP asks which organization")
	doc := parseHTML(b.t, page.Body)
	form := url.Values{}
	doc.Find(`form input[type="hidden"]`).Each(func(_ int, in *goquerySelection) {
		form.Set(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	require.Equal(b.t, 1, doc.Find(`button[name="organization_id"][value="`+orgID+`"]`).Length(), "the chooser offers %s", orgID)
	form.Set("organization_id", orgID)
	return b.do("POST", b.e.IdP.URL()+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// inOrg is u as a member of orgID: the organization and roles its sign-ins
// and tokens there carry.
func inOrg(t testing.TB, u mockidp.User, orgID string) mockidp.User {
	t.Helper()
	m, ok := u.Membership(orgID)
	require.True(t, ok, "%s is a member of %s", u.Email, orgID)
	u.OrgID, u.OrgName, u.Roles = m.OrgID, m.OrgName, m.Roles
	return u
}

// response is a read response: status, headers, body.
type response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func (b *browser) get(path string) response { return b.do("GET", b.e.URL+path, nil, "") }

// post submits a form, as the app's pages do.
func (b *browser) post(path string, form url.Values) response {
	return b.do("POST", b.e.URL+path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

func (b *browser) do(method, u string, body io.Reader, contentType string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(b.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return send(b.t, b.client, req)
}

func send(t testing.TB, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{StatusCode: resp.StatusCode, Header: resp.Header, Body: string(data)}
}

// api calls the JSON API with a bearer token ("" sends none).
func (e *env) api(token, method, path string, body any) response {
	e.t.Helper()
	return e.apiAt(e.URL, token, method, path, body)
}

// apiAt is api on the app at base: one instance of several, say.
func (e *env) apiAt(base, token, method, path string, body any) response {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(e.t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, base+path, r)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(e.t, http.DefaultClient, req)
}

// token mints an access token for the demo user, as the IdP's token
// endpoint would.
func (e *env) token(u mockidp.User) string {
	e.t.Helper()
	tok, err := e.IdP.OrgAccessToken(u.ID, u.OrgID, mockidp.DemoClientID)
	require.NoError(e.t, err)
	return tok
}

// decode parses a JSON response body.
func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(r.Body), &v), "body: %s", r.Body)
	return v
}

// parseHTML parses a page for CSS-selector checks.
func parseHTML(t testing.TB, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	return doc
}

// text is the trimmed text of the elements matching selector.
func text(doc *goquery.Document, selector string) string {
	return strings.TrimSpace(doc.Find(selector).Text())
}

func cookie(t testing.TB, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %q in %v", name, h.Values("Set-Cookie"))
	return nil
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

type goquerySelection = goquery.Selection

package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// Chaos: server processes sharing one database and one mock IdP (served
// by the test, so that it can hold a request at the moment a test wants
// to kill the server that sent it), SIGKILLed in the middle of what
// must not be lost. Skipped with -short.

// chaosIdP is a mock IdP served by the test behind a hand that can hold
// one request: hold returns a hold that fires on the first request
// matching it.
type chaosIdP struct {
	*mockidp.Server
	url   string
	mu    sync.Mutex
	holds []*hold
}

// hold stops one IdP request: before the mock sees it (nothing happens at
// the IdP), or after the mock answered (the IdP acted; the answer waits).
type hold struct {
	match   func(r *http.Request, form url.Values) bool
	after   bool
	arrived chan struct{} // closed when the request is held
	release chan bool     // send true to let it go on, false to drop it
	fired   bool
}

func startChaosIdP(t *testing.T, ttl time.Duration) *chaosIdP {
	t.Helper()
	model, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &chaosIdP{url: "http://" + ln.Addr().String()}
	c.Server, err = mockidp.New(c.url, mockidp.Config{Model: model, AccessTokenTTL: ttl})
	require.NoError(t, err)
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		c.mu.Lock()
		for _, h := range c.holds {
			if h.fired {
				select {
				case h.release <- false:
				default:
				}
			}
		}
		c.mu.Unlock()
		_ = srv.Close()
	})
	return c
}

// URL is the issuer.
func (c *chaosIdP) URL() string { return c.url }

func (c *chaosIdP) hold(after bool, match func(r *http.Request, form url.Values) bool) *hold {
	h := &hold{match: match, after: after, arrived: make(chan struct{}), release: make(chan bool, 1)}
	c.mu.Lock()
	c.holds = append(c.holds, h)
	c.mu.Unlock()
	return h
}

func (c *chaosIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	form, _ := url.ParseQuery(string(body))
	c.mu.Lock()
	var h *hold
	for _, cand := range c.holds {
		if !cand.fired && cand.match(r, form) {
			h, cand.fired = cand, true
			break
		}
	}
	c.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if h == nil {
		c.Server.ServeHTTP(w, r)
		return
	}
	if !h.after {
		close(h.arrived)
		if !<-h.release {
			return // dropped before the IdP saw it
		}
		c.Server.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	c.Server.ServeHTTP(rec, r)
	close(h.arrived)
	if !<-h.release {
		return // the IdP acted; its answer is lost
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// isRefresh matches the token endpoint's refresh_token grant.
func isRefresh(r *http.Request, form url.Values) bool {
	return strings.HasSuffix(r.URL.Path, "/oauth/token") && form.Get("grant_type") == "refresh_token"
}

// isRoleWrite matches a change of userID's roles at the management API.
func isRoleWrite(userID string) func(*http.Request, url.Values) bool {
	return func(r *http.Request, _ url.Values) bool {
		return r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/users/"+userID)
	}
}

// waitHeld waits for a held request.
func waitHeld(t *testing.T, h *hold, what string) {
	t.Helper()
	select {
	case <-h.arrived:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never reached the IdP", what)
	}
}

// kill SIGKILLs the server and waits until it is gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10 s after SIGKILL")
	}
}

// chaosUser returns the demo user with the given email.
func chaosUser(t *testing.T, idp *chaosIdP, email string) mockidp.User {
	t.Helper()
	i := slices.IndexFunc(idp.Users(), func(u mockidp.User) bool { return u.Email == email })
	require.GreaterOrEqual(t, i, 0, "no demo user %s", email)
	return idp.Users()[i]
}

// signInAt signs u in at server s through the real redirects; the cookie
// goes to every server on 127.0.0.1, whatever its port.
func signInAt(t *testing.T, s *server, idp *chaosIdP, u mockidp.User) *apptest.Browser {
	t.Helper()
	b := apptest.NewBrowser(t, s.base, idp.URL())
	b.Client.Timeout = 40 * time.Second // a request may wait on an IdP answer held by the test
	b.SignInTo(u, "/")
	return b
}

// chaosDatabase is a fresh database of engine e that several server
// processes can share: a SQLite file, or a PostgreSQL URL.
func chaosDatabase(t *testing.T, e database.Engine) string {
	t.Helper()
	cfg := databasetest.New(t, e)
	if cfg.URL != "" {
		return cfg.URL
	}
	return cfg.Path
}

// lapseLeases makes every lease and webhook claim of the database lapse,
// as they do by its clock some time after their holder was killed: the
// test moves that time rather than wait for it (15 s for a session's
// refresh, 60 s for an organization's role changes and a webhook claim).
func lapseLeases(t *testing.T, db string) {
	t.Helper()
	conn, _ := databasetest.Open(t, chaosConfig(db))
	for _, q := range []string{`UPDATE leases SET until = 0`, `UPDATE webhook_events SET until = 0 WHERE state = 'processing'`} {
		_, err := conn.Exec(q)
		require.NoError(t, err, q)
	}
}

// chaosConfig opens what chaosDatabase returned.
func chaosConfig(db string) database.Config {
	if strings.HasPrefix(db, "postgres://") {
		return database.Config{URL: db}
	}
	return database.Config{Path: db}
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs and kills server binaries; skipped with -short")
	}
}

// TestChaos runs the chaos scenarios below, each on both engines where it
// applies, all at once: most of their time is spent waiting out a killed
// instance's lease (20 s for a session refresh), so together they take
// about as long as the longest. (Subtests started from goroutines run
// concurrently without t.Parallel, whose default limit here is the number
// of CPUs.)
func TestChaos(t *testing.T) {
	skipShort(t)
	bin := serverBinary(t)
	both := []database.Engine{database.SQLite, database.Postgres}
	postgres := []database.Engine{database.Postgres}
	scenarios := []struct {
		name    string
		engines []database.Engine
		run     func(t *testing.T, bin string, e database.Engine)
	}{
		{"kill mid-refresh before the IdP rotated the token", both, func(t *testing.T, bin string, e database.Engine) { testKillMidRefresh(t, bin, e, false) }},
		{"kill mid-refresh after the IdP rotated the token", both, func(t *testing.T, bin string, e database.Engine) { testKillMidRefresh(t, bin, e, true) }},
		{"kill mid-role-change", both, testKillMidRoleChange},
		{"kill mid-webhook", both, testKillMidWebhook},
		// On SQLite: TestWritesAnsweredBeforeKillDashNineSurviveTheRestart.
		{"kill during a write burst", postgres, testKillDuringAWriteBurst},
		{"the database crashes and comes back", postgres, testDatabaseCrashesAndComesBack},
	}
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		for _, e := range sc.engines {
			wg.Go(func() {
				t.Run(string(e)+" "+sc.name, func(t *testing.T) {
					databasetest.Require(t, e)
					sc.run(t, bin, e)
				})
			})
		}
	}
	wg.Wait()
}

// testKillMidRefresh SIGKILLs the instance refreshing a session while its
// refresh is at the IdP, before the IdP rotated the refresh token or
// after, then carries on on another instance. Before: nothing was spent,
// the other instance refreshes once the killed one's lease lapses, and the
// sign-in survives. After: the rotated token died with the instance; the
// session must end cleanly (sign in again, no 5xx), and ideally without
// replaying the spent token.
func testKillMidRefresh(t *testing.T, bin string, e database.Engine, after bool) {
	idp := startChaosIdP(t, 2*time.Second)
	db := chaosDatabase(t, e)
	a, b := startServer(t, bin, idp.URL(), db), startServer(t, bin, idp.URL(), db)
	browser := signInAt(t, a, idp, chaosUser(t, idp, "bob@acme.example"))
	require.Equal(t, http.StatusOK, browser.Do("GET", b.base+"/projects", nil, "").StatusCode, "the session works on both")
	time.Sleep(2100 * time.Millisecond) // past the access token's expiry

	h := idp.hold(after, isRefresh)
	go func() { _, _ = browser.Client.Get(a.base + "/projects") }() // cut by the kill
	waitHeld(t, h, "the refresh")
	a.kill(t)
	h.release <- false // before: the IdP never sees it; after: it rotated, and the answer is lost
	spent := idp.Refreshes()

	// The killed instance still holds the session's refresh lease: the
	// other instance waits a few seconds, then says when to come back.
	start := time.Now()
	resp := browser.Do("GET", b.base+"/projects", nil, "")
	t.Logf("next request on the other instance: %d after %v, Retry-After %q", resp.StatusCode, time.Since(start).Round(time.Millisecond), resp.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "busy behind the dead holder, not a hang: %s", resp.Body)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	lapseLeases(t, db)
	resp = browser.Do("GET", b.base+"/projects", nil, "")
	t.Logf("once the lease lapsed: %d; %d refreshes, %d replays", resp.StatusCode, idp.Refreshes(), idp.RefreshReplays())
	assert.Less(t, resp.StatusCode, 500, "no 5xx: %s", resp.Body)
	if !after {
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the sign-in survived")
		assert.Equal(t, spent+1, idp.Refreshes(), "refreshed once, with the token that was never spent")
		assert.Zero(t, idp.RefreshReplays(), "no refresh token replayed")
		assert.Equal(t, http.StatusOK, browser.Do("GET", b.base+"/projects", nil, "").StatusCode)
		return
	}
	assert.Equal(t, http.StatusFound, resp.StatusCode, "the session ended: sign in again")
	assert.Contains(t, resp.Header.Get("Location"), "/login")
	// The new refresh token died with the instance before anyone could
	// save it, so the one the session holds is spent, and only the IdP
	// knows: the next refresh presents it once, the IdP refuses (this
	// mock revokes the sign-in, as strict providers do), and the session
	// ends. No instance presents it again.
	assert.LessOrEqual(t, idp.RefreshReplays(), int64(1), "the spent token was presented at most once")
}

// testKillMidRoleChange SIGKILLs the instance through which one of
// two admins demotes the other, once the IdP applied the change and before
// the instance recorded it; the demoted admin then tries to demote the
// other through another instance. The organization keeps an admin.
func testKillMidRoleChange(t *testing.T, bin string, e database.Engine) {
	idp := startChaosIdP(t, 0)
	alice, bob := chaosUser(t, idp, "alice@acme.example"), chaosUser(t, idp, "bob@acme.example")
	require.NoError(t, idp.SetUserRoles(bob.ID, []string{"admin"}))
	db := chaosDatabase(t, e)
	a, b := startServer(t, bin, idp.URL(), db), startServer(t, bin, idp.URL(), db)
	aliceBrowser, bobBrowser := signInAt(t, a, idp, alice), signInAt(t, b, idp, bob)

	h := idp.hold(true, isRoleWrite(bob.ID))
	go func() {
		_, _ = aliceBrowser.Client.PostForm(a.base+"/members/"+bob.ID+"/role", url.Values{"role": {"viewer"}})
	}()
	waitHeld(t, h, "Alice's demotion of Bob")
	a.kill(t)
	h.release <- false // applied at the IdP; the instance died before recording it

	start := time.Now()
	resp := bobBrowser.Post("/members/"+alice.ID+"/role", url.Values{"role": {"viewer"}})
	t.Logf("Bob's demotion of Alice on the other instance: %d after %v", resp.StatusCode, time.Since(start).Round(time.Millisecond))
	// The killed instance's lease on the organization's role changes
	// outlives the wait: refused, to be retried, never applied blind.
	assert.NotEqual(t, http.StatusSeeOther, resp.StatusCode, "not applied")
	assert.Contains(t, []int{http.StatusConflict, http.StatusServiceUnavailable}, resp.StatusCode, "busy, not a 500: %s", resp.Body)
	var admins []string
	for _, u := range idp.Users() {
		if u.OrgID == alice.OrgID && slices.Contains(u.Roles, "admin") {
			admins = append(admins, u.Email)
		}
	}
	assert.Equal(t, []string{alice.Email}, admins, "the last admin kept")
	assert.Equal(t, http.StatusOK, bobBrowser.Do("GET", b.base+"/projects", nil, "").StatusCode, "the other instance serves on")
}

// testKillMidWebhook SIGKILLs the instance applying a directory
// event before its role change reached the IdP; the sender redelivers to
// another instance, which must apply it: exactly once.
func testKillMidWebhook(t *testing.T, bin string, e database.Engine) {
	idp := startChaosIdP(t, 0)
	carol := chaosUser(t, idp, "carol@acme.example")
	db := chaosDatabase(t, e)
	a, b := startServer(t, bin, idp.URL(), db), startServer(t, bin, idp.URL(), db)
	event := `{"spec_version":"1","id":"evt_chaos","type":"organization.directory.user_updated","object":"DirectoryUser","organization_id":"` +
		carol.OrgID + `","occurred_at":"2026-11-22T10:00:00Z","data":{"id":"diruser_1","organization_id":"` + carol.OrgID +
		`","email":"` + carol.Email + `","roles":[{"role_name":"project_manager"}]}}`
	sent := time.Now()

	h := idp.hold(false, isRoleWrite(carol.ID))
	go func() { _, _, _ = deliverWebhook(a.base, "msg_chaos", sent, event) }()
	waitHeld(t, h, "the event's role change")
	a.kill(t)
	h.release <- false // never reached the IdP
	writes := idp.ManagementWrites()

	status, body, err := deliverWebhook(b.base, "msg_chaos", sent, event)
	require.NoError(t, err)
	t.Logf("redelivery to the other instance while the killed one's claim is live: %d %s", status, body)
	assert.Equal(t, http.StatusServiceUnavailable, status, "the sender is told to retry: %s", body)

	// The claim, and the organization's lease the killed instance held,
	// lapse by the database's clock (60 s); the test moves that time
	// instead of waiting for it.
	lapseLeases(t, db)
	status, body, err = deliverWebhook(b.base, "msg_chaos", sent, event)
	require.NoError(t, err)
	t.Logf("redelivery once the claim lapsed: %d %s", status, body)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"applied"`)
	i := slices.IndexFunc(idp.Users(), func(u mockidp.User) bool { return u.ID == carol.ID })
	assert.Equal(t, []string{"project_manager"}, idp.Users()[i].Roles)
	assert.Equal(t, writes+1, idp.ManagementWrites(), "applied exactly once")
	status, body, err = deliverWebhook(b.base, "msg_chaos", sent, event)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"duplicate"`, "and not again")
}

// testKillDuringAWriteBurst is the SQLite crash test on PostgreSQL with
// two instances: one is SIGKILLed during a burst of
// writes through it; every write it answered 201 is there, read through
// the other.
func testKillDuringAWriteBurst(t *testing.T, bin string, e database.Engine) {
	db := chaosDatabase(t, e)
	idp := startChaosIdP(t, 0)
	token, err := idp.AccessToken(chaosUser(t, idp, "alice@acme.example").ID, mockidp.DemoClientID)
	require.NoError(t, err)
	survivor := startServer(t, bin, idp.URL(), db)
	answered := burstUntilKilled(t, startServer(t, bin, idp.URL(), db), token, "pg crash")
	require.NotEmpty(t, answered)
	got := listProjects(t, survivor.base, token)
	var lost []string
	for id, name := range answered {
		if got[id] != name {
			lost = append(lost, fmt.Sprintf("%d %q", id, name))
		}
	}
	assert.Empty(t, lost, "writes answered 201 before the kill, missing on the other instance")
	t.Logf("%d writes answered before SIGKILL, %d rows on the survivor", len(answered), len(got))
}

// listProjects reads every project of the token's organization.
func listProjects(t *testing.T, base, token string) map[int64]string {
	t.Helper()
	got := map[int64]string{}
	for next := ""; ; {
		var page struct {
			Projects []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"projects"`
			NextPageToken string `json:"next_page_token"`
		}
		status, body, err := apiCall(http.DefaultClient, base, token, "GET", "/api/projects?page_size=200&page_token="+next, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &page))
		for _, p := range page.Projects {
			got[p.ID] = p.Name
		}
		if next = page.NextPageToken; next == "" {
			return got
		}
	}
}

// testDatabaseCrashesAndComesBack stops a PostgreSQL server of the
// test's own abruptly (immediate shutdown: every backend killed, crash
// recovery at the next start) under writes through two instances, and
// starts it again. Outside the outage, every answer is 201; during it,
// 503 with Retry-After (never another 5xx, never a hang); both instances
// reconnect by themselves, and no write answered 201 is lost.
func testDatabaseCrashesAndComesBack(t *testing.T, bin string, _ database.Engine) {
	pg := databasetest.StartServer(t)
	idp := startChaosIdP(t, 0)
	token, err := idp.AccessToken(chaosUser(t, idp, "alice@acme.example").ID, mockidp.DemoClientID)
	require.NoError(t, err)
	servers := []*server{startServer(t, bin, idp.URL(), pg.URL), startServer(t, bin, idp.URL(), pg.URL)}

	var (
		mu       sync.Mutex
		answered = map[int64]string{}
		outside  []string // answers other than 201 outside the outage
		during   = map[int]int{}
		outage   atomic.Bool
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d #%d", w, n)
				wasDown := outage.Load()
				status, body, err := apiCall(client, servers[n%2].base, token, "POST", "/api/projects", map[string]string{"name": name})
				down := wasDown || outage.Load()
				mu.Lock()
				switch {
				case err != nil:
					outside = append(outside, "no answer: "+err.Error())
				case status == http.StatusCreated:
					var p struct {
						Project struct {
							ID int64 `json:"id"`
						} `json:"project"`
					}
					if json.Unmarshal(body, &p) == nil {
						answered[p.Project.ID] = name
					}
				case down:
					during[status]++
				default:
					outside = append(outside, fmt.Sprintf("%d %s", status, body))
				}
				mu.Unlock()
				if down {
					time.Sleep(20 * time.Millisecond) // a client backing off
				}
			}
		})
	}
	time.Sleep(time.Second)
	outage.Store(true)
	crashed := time.Now()
	pg.Crash()
	time.Sleep(time.Second)
	pg.Start()
	// The outage ends when both instances answer a write again.
	for _, s := range servers {
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, _, err := apiCall(client, s.base, token, "GET", "/api/projects", nil)
			if err == nil && status == http.StatusOK {
				break
			}
			require.True(t, time.Now().Before(deadline), "instance %s did not reconnect within 15 s of the restart", s.base)
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("outage: %v from the crash until both instances answered again", time.Since(crashed).Round(time.Millisecond))
	outage.Store(false)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes answered 201; during the outage: %v", len(answered), during)
	assert.Empty(t, outside, "answers other than 201 outside the outage")
	for status := range during {
		assert.Equal(t, http.StatusServiceUnavailable, status, "the outage is answered 503, nothing else")
	}
	got := listProjects(t, servers[0].base, token)
	var lost []string
	for id, name := range answered {
		if got[id] != name {
			lost = append(lost, fmt.Sprintf("%d %q", id, name))
		}
	}
	assert.Empty(t, lost, "writes answered 201, missing after the crash")
}

// deliverWebhook posts a signed directory event to the server at base.
func deliverWebhook(base, id string, at time.Time, body string) (int, string, error) {
	return signedWebhook(base, testkit.WebhookSecret, id, at, body)
}

// signedWebhook posts body as a Standard Webhooks delivery signed with
// secret, as Scalekit sends them.
func signedWebhook(base, secret, id string, at time.Time, body string) (int, string, error) {
	req, err := apptest.WebhookRequest(base, secret, id, at, body)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

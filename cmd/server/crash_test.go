package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// TestWritesAnsweredBeforeKillDashNineSurviveTheRestart builds the server,
// runs it against a mock IdP, kills it with SIGKILL in the middle of a
// burst of concurrent writes, three times over, and restarts it on the
// same database: every write that was answered 201 must still be there,
// and the database must pass SQLite's integrity check after each crash.
func TestWritesAnsweredBeforeKillDashNineSurviveTheRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server binary; skipped with -short")
	}
	bin := serverBinary(t)

	model, err := rbac.Load("../../rbac.seed.json")
	require.NoError(t, err)
	idp := mockidptest.Start(t, mockidp.Config{Model: model})
	token, err := idp.AccessToken(adminOfAcme(t, idp).ID, mockidp.DemoClientID)
	require.NoError(t, err)
	db := filepath.Join(t.TempDir(), "app.db")

	// Three crashes in a row: each restart must also recover from the last.
	answered := map[int64]string{}
	for round := range 3 {
		srv := startServer(t, bin, idp.URL(), db)
		got := burstUntilKilled(t, srv, token, fmt.Sprintf("crash %d", round))
		require.NotEmpty(t, got, "no write was answered before the kill")
		maps.Copy(answered, got)
		assertIntegrity(t, db) // the server is down: nothing else has the file open
	}

	srv := startServer(t, bin, idp.URL(), db)
	got := map[int64]string{} // every project, following the pages
	for next := ""; ; {
		var page struct {
			Projects []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"projects"`
			NextPageToken string `json:"next_page_token"`
		}
		status, body, err := apiCall(http.DefaultClient, srv.base, token, "GET", "/api/projects?page_size=200&page_token="+next, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &page))
		for _, p := range page.Projects {
			got[p.ID] = p.Name
		}
		if next = page.NextPageToken; next == "" {
			break
		}
	}
	var lost []string
	for id, name := range answered {
		if got[id] != name {
			lost = append(lost, fmt.Sprintf("%d %q", id, name))
		}
	}
	assert.Empty(t, lost, "writes answered 201 before the kill, missing after the restart")
	assert.GreaterOrEqual(t, len(got), len(answered), "rows after the restart")
	t.Logf("%d writes answered before SIGKILL, %d rows after the restart", len(answered), len(got))

	// And the database still takes writes.
	status, body, err := apiCall(http.DefaultClient, srv.base, token, "POST", "/api/projects", map[string]string{"name": "after the crash"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, status, "%s", body)
	srv.stop(t)
	assertIntegrity(t, db)
}

// The server binary, built once for every test of the package that runs
// it (TestMain removes it at the end).
var (
	binDir    string
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "server-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// serverBinary builds this package's binary on first use, with the race
// detector if this test has it: the build then reuses the packages the
// test was built from, and the crashes run under the detector too.
func serverBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH, so the server binary cannot be built")
	}
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		bin := filepath.Join(binDir, "server")
		args := []string{"build", "-o", bin}
		if raceEnabled() {
			args = append(args, "-race")
		}
		out, err := exec.CommandContext(ctx, goTool, append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			return
		}
		builtBin = bin
	})
	require.NoError(t, buildErr)
	return builtBin
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// adminOfAcme is the demo user Alice, who may create projects.
func adminOfAcme(t *testing.T, idp *mockidp.Server) mockidp.User {
	t.Helper()
	for _, u := range idp.Users() {
		if u.Email == "alice@acme.example" {
			return u
		}
	}
	t.Fatal("no demo user alice@acme.example")
	return mockidp.User{}
}

// server is a running server binary.
type server struct {
	cmd    *exec.Cmd
	base   string
	log    string // the server's stderr
	exited chan struct{}
}

// startServer runs the binary in external-IdP mode on a free loopback port
// and waits until /healthz answers. db is a SQLite file, or a postgres://
// URL.
func startServer(t *testing.T, bin, issuer, db string) *server {
	t.Helper()
	addr := freeAddr(t)
	s := &server{cmd: exec.Command(bin), base: "http://" + addr, log: filepath.Join(t.TempDir(), "server.log"), exited: make(chan struct{})}
	s.cmd.Env = []string{
		"SCALEKIT_ENVIRONMENT_URL=" + issuer,
		"SCALEKIT_CLIENT_ID=" + mockidp.DemoClientID,
		"SCALEKIT_CLIENT_SECRET=" + mockidp.DemoClientSecret,
		"SESSION_SECRET=" + strings.Repeat("s", 32),
		"ADDR=" + addr,
		"APP_BASE_URL=" + s.base,
		databaseVariable(db),
		"RBAC_SEED_FILE=../../rbac.seed.json",
		"SCALEKIT_WEBHOOK_SECRET=" + testkit.WebhookSecret,
		"TMPDIR=" + t.TempDir(),
	}
	s.cmd.Stdout = io.Discard
	logFile, err := os.Create(s.log)
	require.NoError(t, err)
	defer logFile.Close() // the child has its own copy
	s.cmd.Stderr = logFile
	require.NoError(t, s.cmd.Start())
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("server at %s:\n%s", s.base, s.logs())
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("server exited before serving: %v\n%s", s.cmd.ProcessState, s.logs())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer /healthz within 15 s:\n%s", s.logs())
		}
	}
}

// databaseVariable is the setting that points the server at db.
func databaseVariable(db string) string {
	if strings.HasPrefix(db, "postgres://") {
		return "DATABASE_URL=" + db
	}
	return "DATABASE_PATH=" + db
}

// logs returns what the server wrote to stderr.
func (s *server) logs() string {
	data, _ := os.ReadFile(s.log)
	return string(data)
}

// stop ends the server gracefully (SIGTERM) and waits for it.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15 s of SIGTERM")
	}
}

// burstUntilKilled has several clients create projects as fast as they
// can, sends SIGKILL once enough writes were answered (while more are in
// flight), and returns the projects whose creation was answered 201.
func burstUntilKilled(t *testing.T, s *server, token, prefix string) map[int64]string {
	t.Helper()
	const (
		writers   = 8
		killAfter = 150 // answered writes
	)
	var (
		mu       sync.Mutex
		answered = map[int64]string{}
		count    atomic.Int64
		inFlight atomic.Int64
		cut      atomic.Int64 // requests that got no answer: cut by the kill
		wg       sync.WaitGroup
		enough   = make(chan struct{})
	)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	defer client.CloseIdleConnections()
	for w := range writers {
		wg.Go(func() {
			for n := 0; ; n++ {
				name := fmt.Sprintf("%s w%d #%d", prefix, w, n)
				inFlight.Add(1)
				status, body, err := apiCall(client, s.base, token, "POST", "/api/projects", map[string]string{"name": name})
				inFlight.Add(-1)
				if err != nil {
					cut.Add(1)
					return // the server is gone
				}
				if status != http.StatusCreated {
					t.Errorf("POST /api/projects answered %d: %s", status, body)
					return
				}
				var p struct {
					Project struct {
						ID int64 `json:"id"`
					} `json:"project"`
				}
				if err := json.Unmarshal(body, &p); err != nil {
					t.Errorf("POST /api/projects: %v: %s", err, body)
					return
				}
				mu.Lock()
				answered[p.Project.ID] = name
				mu.Unlock()
				if count.Add(1) == killAfter {
					close(enough)
				}
			}
		})
	}

	select {
	case <-enough:
	case <-s.exited:
		wg.Wait()
		t.Fatalf("server exited during the burst, before SIGKILL:\n%s", s.logs())
	case <-time.After(15 * time.Second):
		t.Logf("only %d writes answered within 15 s; killing anyway", count.Load())
	}
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	flying := inFlight.Load()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10 s after SIGKILL")
	}
	wg.Wait()
	t.Logf("SIGKILL after %d answered writes, with %d in flight; %d requests cut", count.Load(), flying, cut.Load())

	mu.Lock()
	defer mu.Unlock()
	return answered
}

// apiCall sends a JSON API request with a bearer token and reads the
// whole answer.
func apiCall(c *http.Client, base, token, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// assertIntegrity opens the database as the app does (recovering the WAL
// if a crash left one) and runs SQLite's integrity check. Call it only
// while no server has the file open.
func assertIntegrity(t *testing.T, path string) {
	t.Helper()
	db, _, err := database.Open(context.Background(), database.Config{Path: path}, slog.New(slog.DiscardHandler))
	require.NoError(t, err, "the database does not open")
	defer db.Close()
	var got string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&got))
	assert.Equal(t, "ok", got, "PRAGMA integrity_check")
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. The server binds it next; nothing else in the test listens there.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

package databasetest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// Server is a PostgreSQL server of one test's own, in a temporary
// directory on a random loopback port: a test may stop it abruptly and
// start it again, which it must never do to the shared TEST_DATABASE_URL
// server that other tests use.
type Server struct {
	t      testing.TB
	bin    string // the directory of initdb, pg_ctl, postgres
	dir    string // the data directory (and the socket's)
	port   int
	runAs  []string // runuser -u postgres --, when the test runs as root
	URL    string   // postgres:// URL of its database "app"
	logDir string
}

// StartServer initializes and starts a throwaway PostgreSQL server, or
// skips the test saying why it cannot (no PostgreSQL binaries; running as
// root with no postgres user, as initdb refuses root). It is gated like
// every PostgreSQL test: it needs TEST_DATABASE_URL (a sign that the
// PostgreSQL pass runs) even though it does not use that server.
func StartServer(t testing.TB) *Server {
	t.Helper()
	Require(t, database.Postgres)
	bin, err := postgresBinaries()
	if err != nil {
		t.Skipf("postgres: no throwaway server: %v", err)
	}
	s := &Server{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("postgres: no throwaway server: initdb refuses to run as root and there is no postgres user to run it as")
		}
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.dir, err = os.MkdirTemp("", "pgtest-")
		require.NoError(t, err)
		require.NoError(t, os.Chown(s.dir, uid, gid))
	} else {
		s.dir, err = os.MkdirTemp("", "pgtest-")
		require.NoError(t, err)
	}
	s.logDir = s.dir
	t.Cleanup(func() {
		_ = s.pgctl("stop", "-m", "immediate")
		os.RemoveAll(s.dir)
	})
	data := filepath.Join(s.dir, "data")
	out, err := s.command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-N", "--no-instructions").CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)
	s.port = freePort(t)
	s.Start()
	admin, err := sql.Open("pgx", s.url("postgres"))
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.Exec(`CREATE DATABASE app`)
	require.NoError(t, err)
	s.URL = s.url("app")
	return s
}

// Start starts the server (again) and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -F -c max_connections=100", s.port, s.dir)
	require.NoError(s.t, s.pgctl("start", "-w", "-t", "30", "-o", opts, "-l", filepath.Join(s.logDir, "server.log")), "pg_ctl start:\n%s", s.Log())
}

// Crash stops the server the hard way (pg_ctl stop -m immediate: every
// backend killed, no checkpoint, crash recovery at the next start), as a
// power cut or an OOM kill would.
func (s *Server) Crash() {
	s.t.Helper()
	require.NoError(s.t, s.pgctl("stop", "-m", "immediate", "-w"), "pg_ctl stop:\n%s", s.Log())
}

// Log is what the server wrote to its log.
func (s *Server) Log() string {
	data, _ := os.ReadFile(filepath.Join(s.logDir, "server.log"))
	return string(data)
}

// Config opens the server's database "app".
func (s *Server) Config() database.Config { return database.Config{URL: s.URL} }

func (s *Server) pgctl(args ...string) error {
	args = append([]string{"-D", filepath.Join(s.dir, "data")}, args...)
	out, err := s.command(filepath.Join(s.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	s.t.Cleanup(cancel)
	argv := append(append(append([]string{}, s.runAs...), name), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir
	return cmd
}

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// postgresBinaries finds the directory of initdb and pg_ctl: PG_BINDIR,
// else what pg_config says, else Debian's /usr/lib/postgresql/N/bin.
func postgresBinaries() (string, error) {
	candidates := []string{os.Getenv("PG_BINDIR")}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	candidates = append(candidates, debian...)
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("initdb not found (set PG_BINDIR, or install the postgresql package)")
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

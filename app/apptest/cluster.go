package apptest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// Cluster is N instances of the app on one configuration (one mock IdP,
// one SESSION_SECRET, one database) behind a round-robin reverse proxy,
// the "load balancer": APP_BASE_URL is the proxy's URL, so Env's browser,
// sign-in and API helpers go through it unchanged. Tests reach a given
// instance directly by its URL (cookies do not depend on the port, so a
// browser's session goes with it).
type Cluster struct {
	*Env
	mu    sync.Mutex
	nodes []*Instance // in start order; stopped ones stay, marked down
	down  map[*Instance]bool
	next  atomic.Uint64
	db    *sql.DB // AdminDB's
}

// InstanceHeader names, on every answer that went through the proxy, the
// index of the instance that served it.
const InstanceHeader = "X-Test-Instance"

type nodeKey struct{}

// StartCluster starts n instances together (concurrently, as a deployment
// rolls them out) behind a proxy on a random loopback port.
func StartCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if testing.Short() {
		// Like the browser and crash tests: whole deployments, for the
		// full run (and CI), not for the quick one.
		t.Skip("cluster test (several app instances behind a proxy): skipped with -short")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &Cluster{down: map[*Instance]bool{}}
	c.Env = newEnv(t, opts, "http://"+ln.Addr().String())

	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			in := r.In.Context().Value(nodeKey{}).(*Instance)
			r.SetURL(MustURL(t, in.URL))
			r.Out.Host = r.In.Host // the app sees the public host, as behind a real balancer
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(InstanceHeader, strconv.Itoa(c.index(resp.Request.Context().Value(nodeKey{}).(*Instance))))
			return nil
		},
		ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := c.pick()
		if in == nil {
			http.Error(w, "no instance up", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nodeKey{}, in)))
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// Listeners first, so that every instance starts at the same moment.
	lns := make([]net.Listener, n)
	for i := range lns {
		lns[i], err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
	}
	nodes := make([]*Instance, n)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i] = c.StartInstance(lns[i], c.log.With("instance", i)) })
	}
	wg.Wait()
	for _, in := range nodes {
		require.NotNil(t, in, "every instance started")
	}
	c.nodes = nodes
	c.App = nodes[0].App
	return c
}

// pick is the proxy's round robin over the instances that are up, as a
// balancer's health check would keep them.
func (c *Cluster) pick() *Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []*Instance
	for _, in := range c.nodes {
		if !c.down[in] {
			up = append(up, in)
		}
	}
	if len(up) == 0 {
		return nil
	}
	return up[c.next.Add(1)%uint64(len(up))]
}

func (c *Cluster) index(in *Instance) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.nodes {
		if n == in {
			return i
		}
	}
	return -1
}

// Node returns the i-th instance started.
func (c *Cluster) Node(i int) *Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Stop takes instance i out of the rotation and shuts it down gracefully.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	in := c.markDown(i)
	require.NoError(c.t, in.Stop())
}

// Kill takes instance i out of the rotation and cuts it off at once: its
// listener and open connections close mid-request, as in a crash.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.markDown(i).Kill()
}

func (c *Cluster) markDown(i int) *Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.nodes[i]
	c.down[in] = true
	return in
}

// Add starts one more instance and puts it in the rotation.
func (c *Cluster) Add() *Instance {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(c.t, err)
	c.mu.Lock()
	i := len(c.nodes)
	c.mu.Unlock()
	in := c.StartInstance(ln, c.log.With("instance", i))
	c.mu.Lock()
	c.nodes = append(c.nodes, in)
	c.mu.Unlock()
	return in
}

// Listeners returns how many connections LISTEN on the cluster's database
// (PostgreSQL only; 0 on SQLite, or before role changes are propagated
// with LISTEN/NOTIFY).
func (c *Cluster) Listeners() int {
	c.t.Helper()
	if c.Config.DatabaseURL == "" {
		return 0
	}
	var n int
	require.NoError(c.t, c.AdminDB().QueryRow(
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen %'`).Scan(&n))
	return n
}

// KillListeners ends, on the server's side, every connection that LISTENs
// on the cluster's database, as a network cut or a restarted proxy would:
// role changes must then still arrive, by the poll. It returns how many.
func (c *Cluster) KillListeners() int {
	c.t.Helper()
	if c.Config.DatabaseURL == "" {
		return 0
	}
	var n int
	require.NoError(c.t, c.AdminDB().QueryRow(
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen %'`).Scan(&n))
	return n
}

// AdminDB is a pool of the test's own on the cluster's database.
func (c *Cluster) AdminDB() *sql.DB {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db != nil {
		return c.db
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, _, err := database.Open(ctx, c.Config.Database(), slog.New(slog.DiscardHandler))
	require.NoError(c.t, err)
	c.t.Cleanup(func() { db.Close() })
	c.db = db
	return db
}

// At is u with its scheme and host replaced by instance i's: a request the
// balancer would have sent there.
func (c *Cluster) At(i int, u string) string {
	c.t.Helper()
	parsed := MustURL(c.t, u)
	base := MustURL(c.t, c.Node(i).URL)
	parsed.Scheme, parsed.Host = base.Scheme, base.Host
	return parsed.String()
}

// String names the cluster in failure messages.
func (c *Cluster) String() string {
	return fmt.Sprintf("cluster of %d behind %s", len(c.nodes), c.URL)
}

package app_test

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

// cluster is N instances of the app on one configuration (one mock IdP,
// one SESSION_SECRET, one database) behind a round-robin reverse proxy,
// the "load balancer": APP_BASE_URL is the proxy's URL, so env's browser,
// sign-in and API helpers go through it unchanged. Tests reach a given
// instance directly by its URL (cookies do not depend on the port, so a
// browser's session goes with it).
type cluster struct {
	*env
	mu    sync.Mutex
	nodes []*instance // in start order; stopped ones stay, marked down
	down  map[*instance]bool
	next  atomic.Uint64
	db    *sql.DB // adminDB's
}

// instanceHeader names, on every answer that went through the proxy, the
// index of the instance that served it.
const instanceHeader = "X-Test-Instance"

type nodeKey struct{}

// startCluster starts n instances together (concurrently, as a deployment
// rolls them out) behind a proxy on a random loopback port.
func startCluster(t testing.TB, n int, opts envOptions) *cluster {
	t.Helper()
	if testing.Short() {
		// Like the browser and crash tests: whole deployments, for the
		// full run (and CI), not for the quick one.
		t.Skip("cluster test (several app instances behind a proxy): skipped with -short")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &cluster{down: map[*instance]bool{}}
	c.env = newEnv(t, opts, "http://"+ln.Addr().String())

	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			in := r.In.Context().Value(nodeKey{}).(*instance)
			r.SetURL(mustURL(t, in.URL))
			r.Out.Host = r.In.Host // the app sees the public host, as behind a real balancer
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(instanceHeader, strconv.Itoa(c.index(resp.Request.Context().Value(nodeKey{}).(*instance))))
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
	nodes := make([]*instance, n)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i] = c.startInstance(lns[i], c.log.With("instance", i)) })
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
func (c *cluster) pick() *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []*instance
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

func (c *cluster) index(in *instance) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.nodes {
		if n == in {
			return i
		}
	}
	return -1
}

// node returns the i-th instance started.
func (c *cluster) node(i int) *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// stop takes instance i out of the rotation and shuts it down gracefully.
func (c *cluster) stop(i int) {
	c.t.Helper()
	in := c.markDown(i)
	require.NoError(c.t, in.stop())
}

// kill takes instance i out of the rotation and cuts it off at once: its
// listener and open connections close mid-request, as in a crash.
func (c *cluster) kill(i int) {
	c.t.Helper()
	c.markDown(i).kill()
}

func (c *cluster) markDown(i int) *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.nodes[i]
	c.down[in] = true
	return in
}

// add starts one more instance and puts it in the rotation.
func (c *cluster) add() *instance {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(c.t, err)
	c.mu.Lock()
	i := len(c.nodes)
	c.mu.Unlock()
	in := c.startInstance(ln, c.log.With("instance", i))
	c.mu.Lock()
	c.nodes = append(c.nodes, in)
	c.mu.Unlock()
	return in
}

// listeners returns how many connections LISTEN on the cluster's database
// (PostgreSQL only; 0 on SQLite, or before role changes are propagated
// with LISTEN/NOTIFY).
func (c *cluster) listeners() int {
	c.t.Helper()
	if c.cfg.DatabaseURL == "" {
		return 0
	}
	var n int
	require.NoError(c.t, c.adminDB().QueryRow(
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen %'`).Scan(&n))
	return n
}

// killListeners ends, on the server's side, every connection that LISTENs
// on the cluster's database, as a network cut or a restarted proxy would:
// role changes must then still arrive, by the poll. It returns how many.
func (c *cluster) killListeners() int {
	c.t.Helper()
	if c.cfg.DatabaseURL == "" {
		return 0
	}
	var n int
	require.NoError(c.t, c.adminDB().QueryRow(
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen %'`).Scan(&n))
	return n
}

// adminDB is a pool of the test's own on the cluster's database.
func (c *cluster) adminDB() *sql.DB {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db != nil {
		return c.db
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, _, err := database.Open(ctx, c.cfg.Database(), slog.New(slog.DiscardHandler))
	require.NoError(c.t, err)
	c.t.Cleanup(func() { db.Close() })
	c.db = db
	return db
}

// at is u with its scheme and host replaced by instance i's: a request the
// balancer would have sent there.
func (c *cluster) at(i int, u string) string {
	c.t.Helper()
	parsed := mustURL(c.t, u)
	base := mustURL(c.t, c.node(i).URL)
	parsed.Scheme, parsed.Host = base.Scheme, base.Host
	return parsed.String()
}

// String names the cluster in failure messages.
func (c *cluster) String() string {
	return fmt.Sprintf("cluster of %d behind %s", len(c.nodes), c.URL)
}

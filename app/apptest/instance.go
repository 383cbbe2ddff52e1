package apptest

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app"
)

// Instance is one running copy of the app, serving on its own listener,
// started as cmd/server starts it (app.Start).
type Instance struct {
	URL     string
	App     *app.App
	ln      *trackedListener
	running *app.Running
	killed  atomic.Bool
}

// StartInstance builds an app on the env's configuration and serves it on
// ln until stopped (at the latest when the test ends).
func (e *Env) StartInstance(ln net.Listener, log *slog.Logger) *Instance {
	e.t.Helper()
	cfg := e.Config
	cfg.Addr = ln.Addr().String()
	tracked := &trackedListener{Listener: ln}
	r, err := app.Start(context.Background(), cfg, log, app.StartOptions{Listener: tracked})
	require.NoError(e.t, err)
	in := &Instance{URL: "http://" + r.Addr, App: r.App, ln: tracked, running: r}
	e.t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			e.t.Errorf("serve %s: %v", in.URL, err)
		}
	})
	return in
}

// Stop shuts the instance down gracefully (requests in flight finish) and
// closes its database pool; later calls do nothing.
func (in *Instance) Stop() error {
	err := in.running.Close()
	if in.killed.Load() {
		return nil // Serve reports the listener that kill closed
	}
	return err
}

// Kill cuts the instance off at once, as a crash would for its clients:
// the listener and every open connection close, requests in flight get no
// answer. Its goroutines and pool are cleaned up afterwards by Stop.
func (in *Instance) Kill() {
	in.killed.Store(true)
	in.ln.closeAll()
	_ = in.Stop()
}

// trackedListener remembers the connections it accepted, so that Kill can
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

// SecondInstance starts another instance of the app on the same database
// and IdP, as behind a load balancer, and returns its base URL.
func (e *Env) SecondInstance() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(e.t, err)
	return e.StartInstance(ln, slog.New(slog.NewTextHandler(e.Logs, nil))).URL
}

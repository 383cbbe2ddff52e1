package loadtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/app"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// The roles of each generated organization's members, in order: the
// first can do everything, the second create and assign, the third only
// read and complete tasks.
var roles = []string{"admin", "project_manager", "team_member"}

// Users returns the members of n generated organizations, len(roles) per
// organization, with fixed IDs: org_load_01's admin is usr_load_01_admin.
func Users(n int) []mockidp.User {
	var users []mockidp.User
	for i := 1; i <= n; i++ {
		org := fmt.Sprintf("org_load_%02d", i)
		for _, role := range roles {
			users = append(users, mockidp.User{
				ID:         fmt.Sprintf("usr_load_%02d_%s", i, role),
				Email:      fmt.Sprintf("%s@org%02d.load.example", role, i),
				Name:       fmt.Sprintf("Load %s %02d", role, i),
				GivenName:  "Load",
				FamilyName: role,
				OrgID:      org,
				OrgName:    fmt.Sprintf("Load Org %02d", i),
				Roles:      []string{role},
			})
		}
	}
	return users
}

// member is a generated user with a bearer token minted by the mock IdP.
type member struct {
	org   int // index into stack.orgs
	role  string
	token string
}

// org is a generated organization; members[0] is its admin.
type org struct {
	id      string
	members []member
}

// stack is the system under test: the mock IdP and the real app, each on
// a random port of 127.0.0.1, the app on a fresh database in a temporary
// directory, configured through app.LoadConfig as cmd/server would be
// with an external IdP.
type stack struct {
	idp    *mockidp.Server
	base   string
	orgs   []org
	client *http.Client
	stop   func() error
}

func startStack(ctx context.Context, o Options) (_ *stack, err error) {
	model, err := rbac.Load(o.SeedFile)
	if err != nil {
		return nil, fmt.Errorf("seed file: %w", err)
	}
	log := slog.New(slog.DiscardHandler)
	if o.Log != nil {
		log = slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// cleanup undoes each step, last first.
	var cleanup []func() error
	stopAll := func() error {
		var errs []error
		for i := len(cleanup) - 1; i >= 0; i-- {
			errs = append(errs, cleanup[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			stopAll()
		}
	}()

	// Tokens are minted once, so they must outlive the run.
	users := Users(o.Orgs)
	idp, err := mockidp.Start(mockidp.Config{
		Model:          model,
		Users:          users,
		Addr:           "127.0.0.1:0",
		AccessTokenTTL: o.Duration + 5*time.Minute,
		SigningKey:     o.SigningKey,
		Logger:         log.With("component", "mockidp"),
	})
	if err != nil {
		return nil, fmt.Errorf("start mock IdP: %w", err)
	}
	cleanup = append(cleanup, idp.Close)

	dir, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() error { return os.RemoveAll(dir) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"SCALEKIT_ENVIRONMENT_URL": idp.URL(),
		"SCALEKIT_CLIENT_ID":       mockidp.DemoClientID,
		"SCALEKIT_CLIENT_SECRET":   mockidp.DemoClientSecret,
		"SESSION_SECRET":           randomHex(32),
		"APP_BASE_URL":             base,
		"ADDR":                     ln.Addr().String(),
		"DATABASE_PATH":            filepath.Join(dir, "app.db"),
		"RBAC_SEED_FILE":           o.SeedFile,
	}
	if o.DatabaseURL != "" {
		url, drop, err := scratchDatabase(ctx, o.DatabaseURL)
		if err != nil {
			ln.Close()
			return nil, err
		}
		cleanup = append(cleanup, drop)
		delete(env, "DATABASE_PATH")
		env["DATABASE_URL"] = url
	}
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		ln.Close()
		return nil, err
	}
	// Served until stop, not until ctx ends: the report reads the
	// database after the workers stop.
	running, err := app.Start(context.WithoutCancel(ctx), cfg, log, app.StartOptions{Listener: ln})
	if err != nil {
		return nil, fmt.Errorf("start app: %w", err)
	}
	cleanup = append(cleanup, running.Close)

	s := &stack{idp: idp, base: base, client: loopbackClient(o.Workers), stop: stopAll}
	cleanup = append(cleanup, func() error { s.client.CloseIdleConnections(); return nil })
	for i, u := range users {
		n := i / len(roles)
		if n == len(s.orgs) {
			s.orgs = append(s.orgs, org{id: u.OrgID})
		}
		tok, err := idp.AccessToken(u.ID, mockidp.DemoClientID)
		if err != nil {
			return nil, fmt.Errorf("mint token for %s: %w", u.ID, err)
		}
		s.orgs[n].members = append(s.orgs[n].members, member{org: n, role: u.Roles[0], token: tok})
	}
	return s, nil
}

// loopbackClient keeps a connection per worker alive (the default of two
// idle connections per host would open and close sockets by the
// thousand) and refuses to dial anything but a loopback address.
func loopbackClient(workers int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy: nil, // never through a proxy, whatever the environment says
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
					return nil, fmt.Errorf("loadtest dials only 127.0.0.1, not %q", addr)
				}
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConns:        2 * workers,
			MaxIdleConnsPerHost: 2 * workers,
			IdleConnTimeout:     time.Minute,
		},
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = io.ReadFull(rand.Reader, b)
	return hex.EncodeToString(b)
}

// scratchDatabase creates an empty database on the PostgreSQL server of
// serverURL, for one run: the read back then sees this run's rows only.
// It returns its URL and the function that drops it.
func scratchDatabase(ctx context.Context, serverURL string) (string, func() error, error) {
	cc, err := database.ParsePostgresURL(serverURL)
	if err != nil {
		return "", nil, err
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("database: %w", err)
	}
	defer admin.Close()
	name := "loadtest_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, fmt.Errorf("create the run's database on %s (the user needs CREATEDB): %w", database.Describe(cc), err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() error {
		admin, err := sql.Open("pgx", serverURL)
		if err != nil {
			return err
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop the run's database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

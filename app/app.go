// Package app wires the demo together: configuration, database, the
// relying party, the domain handlers, the route table with its gates, the
// middleware stack, and the server's lifecycle.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/lease"
	"github.com/scalekit-samples/go-rbac-projects/members"
	"github.com/scalekit-samples/go-rbac-projects/projects"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
	"github.com/scalekit-samples/go-rbac-projects/session"
	"github.com/scalekit-samples/go-rbac-projects/tasks"
	"github.com/scalekit-samples/go-rbac-projects/templates"
)

// SessionLifetime bounds a browser session, whatever the tokens allow.
const SessionLifetime = 8 * time.Hour

// App is the running application.
type App struct {
	cfg     Config
	log     *slog.Logger
	db      *sql.DB
	model   *rbac.Model
	rp      *session.RelyingParty
	render  *render.Renderer
	routes  Routes
	handler http.Handler

	stop func()         // ends the background work (the role-change listener)
	bg   sync.WaitGroup // that work, waited for by Close
}

// New builds the app: it opens the database, discovers the IdP (retrying
// until ctx ends if it is not up yet) and installs the routes.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	log = slog.New(requestIDLogs{log.Handler()})
	model, err := rbac.Load(cfg.SeedFile)
	if err != nil {
		return nil, fmt.Errorf("RBAC_SEED_FILE: %w", err)
	}
	rnd, err := render.New(templates.FS, navigation, log)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	db, dialect, err := database.Open(ctx, cfg.Database(), log)
	if err != nil {
		return nil, err
	}
	// Before anything reads a table; on PostgreSQL under a lock, so that
	// instances starting together do not race.
	if err := database.Migrate(ctx, db, dialect, log); err != nil {
		db.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, db: db, model: model, render: rnd}
	if err := a.build(ctx, dialect); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// build makes the app's parts in the order they depend on each other, then
// the route table from them, then the router.
func (a *App) build(ctx context.Context, dialect database.Dialect) error {
	// Leases let instances sharing the database take turns: refreshing a
	// session, changing an organization's roles.
	leases := lease.New(a.db, dialect)
	sessions, err := session.NewSessionStore(ctx, a.db, leases, a.cfg.SessionSecret, SessionLifetime, isHTTPS(a.cfg.BaseURL))
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	dir := members.NewDirectory(a.db, dialect)
	changes, err := members.NewRoleChanges(ctx, a.db, dialect, a.log)
	if err != nil {
		return err
	}
	// On PostgreSQL, role changes made on other instances arrive within
	// milliseconds (one LISTEN connection per instance, beside the pool);
	// the once-a-second poll stays as the bound.
	listening, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	a.bg.Go(func() {
		if err := changes.Listen(listening, a.cfg.Database()); err != nil {
			a.log.Error("role changes: not listening; other instances' changes arrive by the poll", "err", err)
		}
	})
	projectStore, err := projects.NewSQLStore(ctx, a.db)
	if err != nil {
		return err
	}
	taskStore := tasks.NewSQLStore(a.db)
	// The management API client: role changes and the member listing go to
	// the IdP (Scalekit, or the mock), with the app's own client credentials.
	idp, err := scalekit.New(scalekit.Config{
		EnvironmentURL: a.cfg.Issuer, ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret,
		Timeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("management API client: %w", err)
	}
	// Sessions compare the app's clock (when they asked for their token),
	// bearer tokens the IdP's (their iat): two checks, one per clock.
	rp, err := session.NewRelyingParty(ctx, session.Config{
		Issuer:       a.cfg.Issuer,
		ClientID:     a.cfg.ClientID,
		ClientSecret: a.cfg.ClientSecret,
		BaseURL:      a.cfg.BaseURL,
		Sessions:     sessions,
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
		Logger:       a.log,
		Now:          a.cfg.Now,
		OnSignIn:     a.onSignIn(dir, idp),
		RolesChanged: changes.ChangedAfter,
	})
	if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	audit := members.NewAudit(a.db)
	assigner := members.NewAssigner(idp, a.model, audit, changes, dir, leases, a.log)
	assigner.SetWait(a.cfg.RoleChangeWait)
	webhook, err := members.NewWebhook(a.db, dialect, a.cfg.WebhookSecret, idp, assigner, sessions, a.log)
	if err != nil {
		return err
	}
	a.rp = rp
	// The header names the viewer's organization and offers the others:
	// names from the IdP's management API, the current one from the token.
	orgs := newOrgDirectory(idp, a.cfg.Now, a.log)
	a.render.SetOrganizations(orgs.header)
	a.routes = a.routeTable(rp, orgs,
		projects.NewHandler(projectStore, taskStore, dir, a.render),
		tasks.NewHandler(taskStore, dir, a.render),
		members.NewHandler(idp, a.model, assigner, audit, changes.ChangedAfter, canAssignRoles, a.render),
		webhook,
	)
	a.handler, err = a.install(a.routes, stack{
		sessions:   rp.Sessions(a.failPage),
		bearer:     auth.Bearer(rp.Verifier(), changes.IssuedBefore, a.rememberAPICaller(dir), a.failJSON),
		endSession: rp.EndSessionEndpoint(),
	})
	return err
}

// memberSyncInterval is how often, at most, sign-ins refresh an
// organization's member list from the IdP.
const memberSyncInterval = time.Minute

// onSignIn records who signed in, then brings the organization's member
// list up to date from the IdP, so that everyone in it can be assigned
// tasks, not only those who signed in here before. The second step is best
// effort: the IdP being slow or down must not stop a sign-in.
func (a *App) onSignIn(dir *members.Directory, idp members.IdP) func(context.Context, *auth.Principal) error {
	orgs := members.NewOrgSync(dir, idp, memberSyncInterval)
	return func(ctx context.Context, p *auth.Principal) error {
		if err := dir.Remember(ctx, p); err != nil {
			return err
		}
		if p.OrgID == "" {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := orgs.Refresh(ctx, p.OrgID); err != nil {
			a.log.WarnContext(ctx, "member list not synced from the IdP", "org", p.OrgID, "err", err)
		}
		return nil
	}
}

// rememberAPICaller records the user of a newly accepted API token as a
// member of its organization, as a sign-in does (onSignIn), so that a user
// who only uses the API can be assigned tasks. It runs once per token, not
// per request. The write outlives the request (a client hanging up must not
// cancel it halfway) and is best effort: the request goes on regardless.
func (a *App) rememberAPICaller(dir *members.Directory) auth.SeenFunc {
	return func(ctx context.Context, p *auth.Principal) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		if err := dir.RememberCaller(ctx, p); err != nil {
			a.log.WarnContext(ctx, "API caller not recorded as a member", "org", p.OrgID, "sub", p.Subject, "err", err)
		}
	}
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// Routes returns the route table, for tests that check every route.
func (a *App) Routes() Routes { return a.routes }

// Close stops the background work and releases the database.
func (a *App) Close() error {
	if a.stop != nil {
		a.stop()
		a.bg.Wait()
	}
	return a.db.Close()
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: requests
// in flight get up to 10 seconds to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func isHTTPS(u string) bool { return len(u) > 8 && u[:8] == "https://" }

// Package mockidp is the built-in identity provider that lets the app run
// with no Scalekit account. It behaves like Scalekit where the app can see
// it: the same OpenID Connect paths (discovery, /keys, /oauth/authorize,
// /oauth/token, /userinfo, /oidc/logout) and the same token shape, with the
// roles of rbac.seed.json and their effective permissions in every access
// token. Signing in means picking one of the demo users on a small page;
// a user with memberships in several organizations then chooses one, and
// the code, the tokens and their refresh family are bound to it.
// It also serves the part of Scalekit's management API that cmd/seed and
// role assignment use (permissions, roles, default roles, organization
// roles, members' roles), for its own client_credentials tokens; what is
// registered there is what the next tokens carry.
//
// cmd/server starts it in-process when no IdP is configured, and tests start
// one per test with mockidptest.Start, mint tokens with AccessToken, change roles
// with SetUserRoles and build bad tokens with Sign. It keeps everything in
// memory and is not meant to face the internet.
package mockidp

import (
	"cmp"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// Config configures a Server. Only Model is required.
type Config struct {
	Model          *rbac.Model      // required: permissions in tokens are Model.Effective(user.Roles...), plus ScalekitPermissions(user.Roles...)
	Users          []User           // default DemoUsers()
	Clients        []Client         // default []Client{DemoClient()}
	AccessTokenTTL time.Duration    // default 300s (expires_in reported accordingly)
	Addr           string           // listen address used by Start; default "127.0.0.1:0"
	Now            func() time.Time // default time.Now; tests fake the clock
	Logger         *slog.Logger     // default: discard

	// SigningKey signs tokens; nil makes a new one, so the JWKS changes at
	// every start. LoadSigningKey reads one from a file to keep it.
	SigningKey *rsa.PrivateKey
	// NewKey makes each key the server switches to later (RotateKey, the
	// control plane's /keys/rotate), and the first one when SigningKey is
	// nil. nil generates a fresh 2048-bit key, as cmd/server and
	// cmd/mockidp do; mockidptest lends keys made in advance instead.
	NewKey func() (*rsa.PrivateKey, error)
	// ControlPlane mounts the JSON control plane under /_mock/ (see
	// control.go); it answers loopback clients only.
	ControlPlane bool
	// Webhook, when its URL is set, receives signed events on the mock's
	// own state changes, as Scalekit sends them (see webhooks.go).
	Webhook WebhookTarget
}

// Server is a mock IdP. It is an http.Handler; Start also serves it.
type Server struct {
	issuer      string
	prefix      string // the issuer's path, under which every endpoint lives
	model       *rbac.Model
	clients     map[string]Client
	ttl         time.Duration
	now         func() time.Time
	log         *slog.Logger
	keys        *keyring
	pages       pages
	mux         *http.ServeMux
	jwksFetches atomic.Int64
	refreshes   refreshStats
	srv         *http.Server // nil when made by New alone

	mu      sync.Mutex // guards users, the grants and the catalog below
	users   []User
	grants  grants
	tamper  *Tamper  // test hook: alters the next user tokens (TamperNextTokens)
	catalog *catalog // live roles and permissions, changed by the management API
	mgmt    manageStats
	ctl     *control // the /_mock/ control plane's state: seed, faults, request log, webhooks
}

// New returns a mock IdP for the issuer, a base URL without a trailing
// slash, as a handler only: the caller serves it.
func New(issuer string, cfg Config) (*Server, error) {
	base, err := parseIssuer(issuer)
	if err != nil {
		return nil, err
	}
	if cfg.Model == nil {
		return nil, errors.New("mock idp: config needs the rbac model")
	}
	s := &Server{
		issuer:  issuer,
		prefix:  base.Path,
		model:   cfg.Model,
		clients: map[string]Client{},
		ttl:     cmp.Or(cfg.AccessTokenTTL, 300*time.Second),
		now:     cfg.Now,
		log:     cfg.Logger,
		grants:  newGrants(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Users == nil {
		cfg.Users = DemoUsers()
	}
	if cfg.Clients == nil {
		cfg.Clients = []Client{DemoClient()}
	}
	s.catalog = newCatalog(cfg.Model, s.now())
	if err := s.setUsers(cfg.Users); err != nil {
		return nil, err
	}
	for _, c := range cfg.Clients {
		if c.ID == "" || c.Secret == "" {
			return nil, errors.New("mock idp: a client needs an id and a secret")
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("mock idp: client %q is configured twice", c.ID)
		}
		s.clients[c.ID] = c
	}
	if s.keys, err = newKeyring(cfg.SigningKey, cfg.NewKey); err != nil {
		return nil, fmt.Errorf("mock idp: %w", err)
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("mock idp: %w", err)
	}
	if s.ctl, err = newControl(cfg); err != nil {
		return nil, err
	}
	s.ctl.seedUsers = s.Users()
	s.routes()
	if cfg.ControlPlane {
		s.controlRoutes()
	}
	return s, nil
}

// parseIssuer accepts an absolute http(s) URL with no trailing slash, query
// or fragment, because the issuer is compared as a plain string by every
// relying party.
func parseIssuer(issuer string) (*url.URL, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(issuer, "/") {
		return nil, fmt.Errorf("mock idp: issuer %q must be an http(s) URL without a trailing slash", issuer)
	}
	return u, nil
}

func (s *Server) setUsers(users []User) error {
	seen := map[string]bool{}
	for _, u := range users {
		u = u.clone()
		if err := u.normalize(); err != nil {
			return fmt.Errorf("mock idp: user %q: %w", u.ID, err)
		}
		if u.ID == "" || len(u.Memberships) == 0 {
			return errors.New("mock idp: a user needs an id and an organization id")
		}
		if seen[u.ID] {
			return fmt.Errorf("mock idp: user %q is configured twice", u.ID)
		}
		seen[u.ID] = true
		for _, m := range u.Memberships {
			if err := s.checkRoles(m.OrgID, m.Roles); err != nil {
				return fmt.Errorf("mock idp: user %q in %s: %w", u.ID, m.OrgID, err)
			}
		}
		s.users = append(s.users, u)
	}
	return nil
}

// checkRoles refuses role names a member of orgID cannot hold (neither
// global nor the organization's own): a typo would otherwise yield tokens
// that silently grant nothing. The caller holds s.mu, or is New.
func (s *Server) checkRoles(orgID string, roles []string) error {
	for _, r := range roles {
		if _, ok := s.catalog.role(orgID, r); !ok {
			return fmt.Errorf("role %q is not in the rbac model", r)
		}
	}
	return nil
}

// routes mounts the endpoints under the issuer's path, as Scalekit does
// under its environment URL.
func (s *Server) routes() {
	prefix := s.prefix
	s.mux = http.NewServeMux()
	s.mux.Handle("GET "+prefix+"/.well-known/openid-configuration", s.handle(s.serveDiscovery))
	s.mux.Handle("GET "+prefix+"/keys", s.handle(s.serveKeys))
	s.mux.Handle("GET "+prefix+"/oauth/authorize", s.handle(s.showPicker))
	// The picker's form is the one browser POST: refuse it cross-site, so
	// another site cannot sign a visitor in as a user of its choosing.
	s.mux.Handle("POST "+prefix+"/oauth/authorize", http.NewCrossOriginProtection().Handler(s.handle(s.pickUser)))
	s.mux.Handle("POST "+prefix+"/oauth/token", s.handle(s.serveToken))
	s.mux.Handle("GET "+prefix+"/userinfo", s.handle(s.serveUserinfo))
	s.mux.Handle("POST "+prefix+"/userinfo", s.handle(s.serveUserinfo))
	s.mux.Handle("GET "+prefix+"/oidc/logout", s.handle(s.logout))
	s.mux.Handle("GET "+prefix+stylesheetPath, s.handle(s.serveStylesheet))
	s.mux.Handle("POST "+prefix+"/dev/token", s.handle(s.serveDevToken)) // mock only: tokens for curl
	s.manageRoutes()
}

// Start serves a new mock IdP on cfg.Addr in a goroutine. The issuer is
// the address it really listens on, so port 0 works.
func Start(cfg Config) (*Server, error) {
	addr := cmp.Or(cfg.Addr, "127.0.0.1:0")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mock idp: listen: %w", err)
	}
	s, err := New("http://"+issuerHost(addr, ln.Addr()), cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("mock idp stopped serving", "error", err)
		}
	}()
	s.log.Info("mock idp listening", "issuer", s.issuer)
	return s, nil
}

// issuerHost names the listener as a browser should reach it: "localhost"
// stays as written (cookies and registered redirect URIs care about the
// name), and an unspecified address such as ":8081" becomes 127.0.0.1.
func issuerHost(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return bound.String()
	}
	switch {
	case host == "localhost":
		return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
	case tcp.IP.IsUnspecified():
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	default:
		return tcp.String()
	}
}

// URL returns the issuer, the base URL of every endpoint.
func (s *Server) URL() string { return s.issuer }

// Close stops serving, waiting a few seconds for requests in flight. It is a no-op
// for a Server made by New.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	// Over 5 s: Shutdown counts a connection on which no request came yet
	// (a client's spare dial) as busy until it is 5 s old.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, s.srv.Close())
	}
	return nil
}

// ServeHTTP serves the mock IdP's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The Date header by the mock's clock, as a real IdP's is by its own:
	// a test that skews the clock sees a consistently skewed IdP.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	// observe applies scripted faults and keeps the request log; both are
	// empty unless the control plane (or a Go test) set them.
	s.observe(s.mux).ServeHTTP(w, r)
}

// Users returns a copy of the users who can sign in, with their current roles.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := make([]User, len(s.users))
	for i, u := range s.users {
		users[i] = u.clone()
	}
	return users
}

// SetUserRoles replaces the roles of a member of one organization, as an
// admin's role change at Scalekit does: tokens issued from now on,
// refreshed ones included, carry them, and a configured webhook gets
// user.organization_membership_updated. A member of several organizations
// needs SetMembershipRoles, which names the organization.
func (s *Server) SetUserRoles(userID string, roles []string) error {
	return s.SetMembershipRoles(userID, "", roles)
}

// SetMembershipRoles replaces a user's roles in orgID only: their tokens
// for any other organization keep the roles they had. An empty orgID
// means the user's only organization, and is refused for a member of
// several.
func (s *Server) SetMembershipRoles(userID, orgID string, roles []string) error {
	u, org, err := s.setUserRoles(userID, orgID, roles)
	if err != nil {
		return err
	}
	<-s.ctl.hooks.enqueue(membershipEvent(u, org)) // delivered when the call returns
	return nil
}

// setUserRoles is SetMembershipRoles without the webhook; it returns the
// user as changed and the organization of the change.
func (s *Server) setUserRoles(userID, orgID string, roles []string) (User, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, j, err := s.membership(userID, orgID)
	if err != nil {
		return User{}, "", fmt.Errorf("set roles: %w", err)
	}
	org := s.users[i].Memberships[j].OrgID
	if err := s.checkRoles(org, roles); err != nil {
		return User{}, "", &FieldError{"roles", fmt.Sprintf("set roles of %q in %s: %v", userID, org, err)}
	}
	s.users[i].Memberships[j].Roles = append([]string{}, roles...)
	s.users[i].mirror()
	return s.users[i].clone(), org, nil
}

// membership finds a user (index i) and one of their memberships (index
// j): the one of orgID, or with an empty orgID the only one. An unknown
// user is ErrNoUser, an organization they are not in ErrNotMember, and an
// empty orgID for a member of several a FieldError naming organization_id.
// The caller holds s.mu.
func (s *Server) membership(userID, orgID string) (i, j int, err error) {
	i = slices.IndexFunc(s.users, func(u User) bool { return u.ID == userID })
	if i < 0 {
		return 0, 0, fmt.Errorf("user %q: %w", userID, ErrNoUser)
	}
	u := s.users[i]
	if orgID == "" {
		if len(u.Memberships) > 1 {
			return 0, 0, &FieldError{"organization_id", fmt.Sprintf("is required: %s is a member of %s", userID, strings.Join(u.orgIDs(), " and "))}
		}
		return i, 0, nil
	}
	if j = u.memberIndex(orgID); j < 0 {
		return 0, 0, fmt.Errorf("user %q in organization %q: %w", userID, orgID, ErrNotMember)
	}
	return i, j, nil
}

// user returns a copy of the user with the given ID.
func (s *Server) user(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.users, func(u User) bool { return u.ID == id })
	if i < 0 {
		return User{}, false
	}
	return s.users[i].clone(), true
}

package app

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/database"
)

// Config is the app's configuration, read from the environment (see the
// table in README.md).
type Config struct {
	Issuer        string // SCALEKIT_ENVIRONMENT_URL; empty: start the built-in mock IdP
	ClientID      string // SCALEKIT_CLIENT_ID
	ClientSecret  string // SCALEKIT_CLIENT_SECRET
	BaseURL       string // APP_BASE_URL
	Addr          string // ADDR
	SessionSecret []byte // SESSION_SECRET
	DatabaseURL   string // DATABASE_URL: postgres://...; empty: SQLite at DatabasePath
	DatabasePath  string // DATABASE_PATH
	// DatabaseMaxConns is DATABASE_MAX_CONNS, the PostgreSQL pool size.
	DatabaseMaxConns int
	SeedFile         string // RBAC_SEED_FILE
	MockIdPAddr      string // MOCK_IDP_ADDR, used only without SCALEKIT_ENVIRONMENT_URL; default localhost:8081
	WebhookSecret    string // SCALEKIT_WEBHOOK_SECRET; empty: POST /webhooks/scalekit answers 404

	// MockIdPNonlocal is MOCK_IDP_ALLOW_NONLOCAL=1: the mock IdP may serve
	// a non-loopback APP_BASE_URL or listen beyond loopback.
	MockIdPNonlocal bool

	// GeneratedSecret is set when SessionSecret was made up at start-up.
	GeneratedSecret bool

	// RoleChangeWait is how long a role change waits for its
	// organization's lease, held by another change, before it is answered
	// 503 with Retry-After; 0: 5 s. Not read from the environment: tests
	// shorten it.
	RoleChangeWait time.Duration

	// Now is the clock by which tokens expire and sessions refresh; nil:
	// time.Now. Tests move it instead of sleeping.
	Now func() time.Time
}

// Database is the configuration of the app's database.
func (c Config) Database() database.Config {
	return database.Config{URL: c.DatabaseURL, Path: c.DatabasePath, MaxConns: c.DatabaseMaxConns}
}

// MockMode reports whether the app runs against the built-in mock IdP.
func (c Config) MockMode() bool { return c.Issuer == "" }

// LoadConfig reads the configuration through getenv. Its errors name the
// variable and what is wrong with it, in one line.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Issuer:        strings.TrimRight(getenv("SCALEKIT_ENVIRONMENT_URL"), "/"),
		ClientID:      getenv("SCALEKIT_CLIENT_ID"),
		ClientSecret:  getenv("SCALEKIT_CLIENT_SECRET"),
		BaseURL:       strings.TrimRight(or(getenv("APP_BASE_URL"), "http://localhost:8080"), "/"),
		Addr:          getenv("ADDR"),
		DatabaseURL:   getenv("DATABASE_URL"),
		DatabasePath:  or(getenv("DATABASE_PATH"), "data/app.db"),
		SeedFile:      or(getenv("RBAC_SEED_FILE"), "rbac.seed.json"),
		MockIdPAddr:   or(getenv("MOCK_IDP_ADDR"), "localhost:8081"),
		WebhookSecret: getenv("SCALEKIT_WEBHOOK_SECRET"),
	}
	if c.WebhookSecret != "" && !strings.HasPrefix(c.WebhookSecret, "whsec_") {
		return c, errors.New("SCALEKIT_WEBHOOK_SECRET: want the endpoint's signing secret from the dashboard, starting with whsec_")
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.Path != "" || base.RawQuery != "" {
		return c, fmt.Errorf("APP_BASE_URL=%q: want an absolute http(s) URL without a path, like http://localhost:8080", c.BaseURL)
	}
	if c.Addr == "" {
		c.Addr = ":" + or(base.Port(), "8080") // behind a proxy, https://app.example.com still listens on 8080
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, fmt.Errorf("ADDR=%q: want host:port or :port, like :8080", c.Addr)
	}

	if err := c.loadDatabase(getenv); err != nil {
		return c, err
	}

	if c.Issuer != "" {
		iss, err := url.Parse(c.Issuer)
		if err != nil || (iss.Scheme != "https" && !isLoopback(iss.Hostname())) || iss.Host == "" {
			return c, fmt.Errorf("SCALEKIT_ENVIRONMENT_URL=%q: want your environment's https URL, like https://yourapp.scalekit.dev", c.Issuer)
		}
		if c.ClientID == "" {
			return c, errors.New("SCALEKIT_CLIENT_ID is not set: copy it from the Scalekit dashboard (API credentials)")
		}
		if c.ClientSecret == "" {
			return c, errors.New("SCALEKIT_CLIENT_SECRET is not set: copy it from the Scalekit dashboard (API credentials)")
		}
	} else if c.ClientID != "" || c.ClientSecret != "" {
		return c, errors.New("SCALEKIT_ENVIRONMENT_URL is not set but SCALEKIT_CLIENT_ID or SCALEKIT_CLIENT_SECRET is: set all three to use Scalekit, or none for the mock IdP")
	} else if err := c.checkMockIsLocal(base, getenv("MOCK_IDP_ALLOW_NONLOCAL")); err != nil {
		return c, err
	}

	switch secret := getenv("SESSION_SECRET"); {
	case secret != "" && len(secret) < 32:
		return c, fmt.Errorf("SESSION_SECRET is %d characters: use at least 32 random characters (openssl rand -hex 32)", len(secret))
	case secret != "":
		c.SessionSecret = []byte(secret)
	case c.DatabaseURL != "":
		// Instances sharing a database must sign cookies alike: a sign-in
		// started on one finishes on another.
		return c, errors.New("SESSION_SECRET is not set: it is required with DATABASE_URL, the same for every instance (openssl rand -hex 32)")
	case !c.MockMode():
		return c, errors.New("SESSION_SECRET is not set: it is required with an external IdP (openssl rand -hex 32)")
	default:
		c.SessionSecret = make([]byte, 32)
		_, _ = rand.Read(c.SessionSecret)
		c.GeneratedSecret = true
	}
	return c, nil
}

// checkMockIsLocal keeps the mock IdP on this machine. It signs anybody in
// as any demo user, admins included, and its /dev/token hands out their
// tokens to whoever asks: a deployment that forgot SCALEKIT_ENVIRONMENT_URL
// must stop, not come up with it. allow is MOCK_IDP_ALLOW_NONLOCAL.
func (c *Config) checkMockIsLocal(base *url.URL, allow string) error {
	switch allow {
	case "", "0":
	case "1":
		c.MockIdPNonlocal = true
		return nil
	default:
		return fmt.Errorf("MOCK_IDP_ALLOW_NONLOCAL=%q: want 1 to expose the mock IdP beyond this machine, or leave it unset", allow)
	}
	// https means a deployment (a TLS-terminating proxy, a certificate):
	// nobody puts that in front of a demo on their own machine by accident.
	if base.Scheme == "https" || !isLoopback(base.Hostname()) {
		return fmt.Errorf("APP_BASE_URL=%q is https or not on this machine but SCALEKIT_ENVIRONMENT_URL is not set, which starts the mock IdP, and it signs anybody in as any user: set SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET, or MOCK_IDP_ALLOW_NONLOCAL=1 for a demo reachable by others", c.BaseURL)
	}
	host, _, err := net.SplitHostPort(c.MockIdPAddr)
	if err != nil {
		return fmt.Errorf("MOCK_IDP_ADDR=%q: want host:port, like localhost:8081", c.MockIdPAddr)
	}
	if !isLoopback(host) {
		// An empty host (":8081") listens on every interface.
		return fmt.Errorf("MOCK_IDP_ADDR=%q listens beyond this machine, and the mock IdP signs anybody in as any user: use localhost:PORT, or set MOCK_IDP_ALLOW_NONLOCAL=1 for a demo reachable by others", c.MockIdPAddr)
	}
	return nil
}

// loadDatabase checks DATABASE_URL and DATABASE_MAX_CONNS. Whether the
// server answers is found out at start-up (database.Open).
func (c *Config) loadDatabase(getenv func(string) string) error {
	if v := getenv("DATABASE_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("DATABASE_MAX_CONNS=%q: want a number of connections per instance, like %d", v, database.DefaultMaxConns)
		}
		c.DatabaseMaxConns = n
	}
	if c.DatabaseURL == "" {
		return nil
	}
	if getenv("DATABASE_PATH") != "" {
		return errors.New("DATABASE_URL and DATABASE_PATH are both set: set DATABASE_URL for PostgreSQL, or DATABASE_PATH for SQLite")
	}
	_, err := database.ParsePostgresURL(c.DatabaseURL)
	return err
}

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

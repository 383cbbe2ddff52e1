// Command mockidp runs the mock identity provider on its own, as a test
// double for any team's end-to-end suite: Scalekit-shaped OpenID Connect
// endpoints and management API, headless sign-in with login_hint, and a
// JSON control plane under /_mock/ (faults, tampered tokens, key rotation,
// users and roles, a request log, signed webhooks out). It is the same
// package cmd/server starts in-process; this is the second way to start it.
//
//	go run ./cmd/mockidp -addr 127.0.0.1:8081 -users users.json -key mock.key -generate-key
//
// Every flag has an environment equivalent (MOCKIDP_ADDR, ...); a flag wins.
// The first line on stdout is MOCKIDP_URL=<issuer>, for a harness to read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mockidp:", err)
		}
		os.Exit(2)
	}
}

// options are the command's settings, from flags over environment.
type options struct {
	addr, issuer, seed, users, clients, key string
	clientID, clientSecret                  string
	redirectURIs, postLogoutURIs            list
	ttl                                     time.Duration
	generateKey, allowRemote, check         bool
	control                                 bool
	webhookURL, webhookSecret               string
	logLevel                                string
}

// list is a repeatable (or comma-separated) string flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mockidp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envBool := func(name string, def bool) bool {
		b, err := strconv.ParseBool(env(name, strconv.FormatBool(def)))
		return err == nil && b
	}
	fs.StringVar(&o.addr, "addr", env("MOCKIDP_ADDR", "127.0.0.1:8081"), "listen address, loopback only unless -allow-remote; port 0 picks one (MOCKIDP_ADDR)")
	fs.BoolVar(&o.allowRemote, "allow-remote", envBool("MOCKIDP_ALLOW_REMOTE", false), "allow a non-loopback listen address, e.g. 0.0.0.0 in a container; the control plane still answers loopback clients only (MOCKIDP_ALLOW_REMOTE)")
	fs.StringVar(&o.issuer, "issuer", env("MOCKIDP_ISSUER", ""), "issuer URL, when clients reach the mock by another name than the listen address (MOCKIDP_ISSUER)")
	fs.StringVar(&o.seed, "seed", env("MOCKIDP_SEED", "rbac.seed.json"), "roles and permissions (MOCKIDP_SEED)")
	fs.StringVar(&o.users, "users", env("MOCKIDP_USERS", ""), "users file: organizations, users and roles; default the demo cast (MOCKIDP_USERS)")
	fs.StringVar(&o.clients, "clients", env("MOCKIDP_CLIENTS", ""), "clients file; default one client from -client-id and friends (MOCKIDP_CLIENTS)")
	fs.StringVar(&o.clientID, "client-id", env("MOCKIDP_CLIENT_ID", mockidp.DemoClientID), "the client's ID, without -clients (MOCKIDP_CLIENT_ID)")
	fs.StringVar(&o.clientSecret, "client-secret", env("MOCKIDP_CLIENT_SECRET", mockidp.DemoClientSecret), "the client's secret, without -clients (MOCKIDP_CLIENT_SECRET)")
	_ = o.redirectURIs.Set(getenv("MOCKIDP_REDIRECT_URIS"))
	_ = o.postLogoutURIs.Set(getenv("MOCKIDP_POST_LOGOUT_URIS"))
	fs.Var(&o.redirectURIs, "redirect-uri", "a registered redirect URI, repeatable; default the demo app's (MOCKIDP_REDIRECT_URIS, comma-separated)")
	fs.Var(&o.postLogoutURIs, "post-logout-uri", "a registered post-logout redirect URI, repeatable (MOCKIDP_POST_LOGOUT_URIS)")
	ttl, err := time.ParseDuration(env("MOCKIDP_ACCESS_TOKEN_TTL", "300s"))
	if err != nil {
		return o, fmt.Errorf("MOCKIDP_ACCESS_TOKEN_TTL: %w", err)
	}
	fs.DurationVar(&o.ttl, "access-token-ttl", ttl, "access and ID token lifetime (MOCKIDP_ACCESS_TOKEN_TTL)")
	fs.StringVar(&o.key, "key", env("MOCKIDP_KEY_FILE", ""), "RSA signing key (PEM), so the JWKS survives restarts; default a new key per start (MOCKIDP_KEY_FILE)")
	fs.BoolVar(&o.generateKey, "generate-key", envBool("MOCKIDP_GENERATE_KEY", false), "create the -key file when it does not exist, and keep it (MOCKIDP_GENERATE_KEY)")
	fs.BoolVar(&o.control, "control", envBool("MOCKIDP_CONTROL", true), "serve the /_mock/ control plane (MOCKIDP_CONTROL)")
	fs.StringVar(&o.webhookURL, "webhook-url", env("MOCKIDP_WEBHOOK_URL", ""), "send signed events to this URL (MOCKIDP_WEBHOOK_URL)")
	fs.StringVar(&o.webhookSecret, "webhook-secret", env("MOCKIDP_WEBHOOK_SECRET", ""), "the whsec_ secret the events are signed with (MOCKIDP_WEBHOOK_SECRET)")
	fs.StringVar(&o.logLevel, "log-level", env("MOCKIDP_LOG_LEVEL", "info"), "debug, info, warn or error (MOCKIDP_LOG_LEVEL)")
	fs.BoolVar(&o.check, "check", false, "validate the seed, users, clients and key files, then exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.ttl < time.Second {
		return o, errors.New("-access-token-ttl: at least 1s")
	}
	return o, nil
}

// run parses the flags, loads the files and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := load(o)
	if err != nil {
		return err
	}
	cfg.Logger = log
	if o.check {
		// New checks what the loaders cannot alone: roles against the model,
		// duplicate clients, the webhook secret.
		if _, err := mockidp.New("http://127.0.0.1:8081", cfg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ok: %d users, %d clients\n", len(cfg.Users), len(cfg.Clients))
		return nil
	}
	if err := checkAddr(o.addr, o.allowRemote); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w", o.addr, err)
	}
	defer ln.Close()
	issuer := strings.TrimRight(o.issuer, "/")
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
		if host, _, _ := net.SplitHostPort(o.addr); host == "localhost" {
			issuer = "http://localhost:" + port(ln.Addr())
		}
	}
	idp, err := mockidp.New(issuer, cfg)
	if err != nil {
		return err
	}
	banner(stdout, idp, cfg, o)
	srv := &http.Server{Handler: idp, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// load reads the files the options name into a mockidp.Config.
func load(o options) (mockidp.Config, error) {
	cfg := mockidp.Config{AccessTokenTTL: o.ttl, ControlPlane: o.control,
		Webhook: mockidp.WebhookTarget{URL: o.webhookURL, Secret: o.webhookSecret}}
	var err error
	if cfg.Model, err = rbac.Load(o.seed); err != nil {
		return cfg, fmt.Errorf("-seed: %w", err)
	}
	if o.users != "" {
		if cfg.Users, err = mockidp.LoadUsers(o.users, cfg.Model); err != nil {
			return cfg, err
		}
	} else {
		cfg.Users = mockidp.DemoCast()
	}
	if o.clients != "" {
		if cfg.Clients, err = mockidp.LoadClients(o.clients); err != nil {
			return cfg, err
		}
	} else {
		c := mockidp.DemoClient()
		c.ID, c.Secret = o.clientID, o.clientSecret
		if len(o.redirectURIs) > 0 {
			c.RedirectURIs = o.redirectURIs
		}
		if len(o.postLogoutURIs) > 0 {
			c.PostLogoutRedirectURIs = o.postLogoutURIs
		}
		cfg.Clients = []mockidp.Client{c}
	}
	if o.key != "" && !(o.check && o.generateKey && missing(o.key)) {
		// -check creates nothing: a key that -generate-key would make is
		// not there to validate, while an existing one still is.
		if cfg.SigningKey, err = mockidp.LoadSigningKey(o.key, o.generateKey && !o.check); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// missing reports whether path does not exist.
func missing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// checkAddr refuses a listen address other hosts can reach, unless asked:
// the mock signs anyone in and its tokens are only as good as its
// network's walls.
func checkAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: want host:port, like 127.0.0.1:8081", addr)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address: the mock signs anyone in, so it listens on 127.0.0.1 unless you pass -allow-remote", addr)
}

func banner(w io.Writer, idp *mockidp.Server, cfg mockidp.Config, o options) {
	// The first line is for harnesses: MOCKIDP_URL=<issuer>.
	fmt.Fprintf(w, "MOCKIDP_URL=%s\n\n", idp.URL())
	fmt.Fprintf(w, "  Mock IdP (Scalekit-shaped) at %s\n", idp.URL())
	fmt.Fprintf(w, "  Discovery:      %s/.well-known/openid-configuration\n", idp.URL())
	if o.control {
		fmt.Fprintf(w, "  Control plane:  %s/_mock/ (loopback clients only)\n", idp.URL())
	}
	fmt.Fprintf(w, "  Headless sign-in: add login_hint=<email> to the authorization request\n")
	fmt.Fprintf(w, "  Access tokens live %s\n", o.ttl)
	if o.webhookURL != "" {
		fmt.Fprintf(w, "  Webhooks to:    %s\n", o.webhookURL)
	}
	fmt.Fprintln(w, "\n  Clients:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    ID\tSECRET\tREDIRECT URIS")
	for _, c := range cfg.Clients {
		secret := "(as configured)"
		if c.Secret == mockidp.DemoClientSecret {
			secret = c.Secret // public on purpose
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", c.ID, secret, strings.Join(c.RedirectURIs, " "))
	}
	tw.Flush()
	fmt.Fprintln(w, "\n  Users:")
	fmt.Fprintln(tw, "    ID\tEMAIL\tORGANIZATION\tROLES")
	// One row per membership: a member of several organizations has
	// other roles in each.
	for _, u := range idp.Users() {
		for _, m := range u.Memberships {
			fmt.Fprintf(tw, "    %s\t%s\t%s (%s)\t%s\n", u.ID, u.Email, m.OrgName, m.OrgID, strings.Join(m.Roles, ", "))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func port(addr net.Addr) string {
	_, p, _ := net.SplitHostPort(addr.String())
	return p
}

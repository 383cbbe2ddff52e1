package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

// Config configures the relying party.
type Config struct {
	Issuer       string // the IdP's issuer URL; every endpoint comes from its discovery document
	ClientID     string
	ClientSecret string
	BaseURL      string // public URL of the app; the redirect URI is BaseURL + "/auth/callback"
	Sessions     *SessionStore
	HTTPClient   *http.Client // for discovery, JWKS and token calls; nil: http.DefaultClient
	Logger       *slog.Logger
	Now          func() time.Time // nil: time.Now
	// OnSignIn runs after a successful sign-in, before the session is saved.
	OnSignIn func(ctx context.Context, p *auth.Principal) error
	// RolesChanged, if set, reports whether the user's roles changed since
	// a token was minted; such a session token is refreshed at once.
	RolesChanged auth.RolesChangedFunc
}

// idpTimeout bounds each call to the IdP's token endpoint.
const idpTimeout = 15 * time.Second

// tokenContext is the context of a call to the token endpoint: the
// configured HTTP client, a timeout, and not the request's cancellation.
// A refresh token is rotated by the call itself: if a browser that gave up
// cancelled it halfway, the new refresh token would be lost and the next
// refresh would replay the old one, which revokes the whole sign-in.
func (rp *RelyingParty) tokenContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx := context.WithValue(context.WithoutCancel(r.Context()), oauth2.HTTPClient, rp.cfg.HTTPClient)
	return context.WithTimeout(ctx, idpTimeout)
}

// RelyingParty is the app's side of OpenID Connect: sign-in with the
// authorization code flow (PKCE, state, nonce), sessions, refresh, logout.
type RelyingParty struct {
	cfg        Config
	oauth      oauth2.Config
	idVerifier *oidc.IDTokenVerifier
	idDisplay  *oidc.IDTokenVerifier // for /me only: an expired ID token still shows what it said
	access     *auth.Verifier
	endSession string
	cookie     string
	log        *slog.Logger
	now        func() time.Time
	refreshing keyedMutex
	idp        *reachability
}

// Scopes asked for at sign-in: offline_access brings a refresh token, so
// short-lived access tokens can be renewed without the user.
var Scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}

// NewRelyingParty discovers the IdP and returns a relying party.
func NewRelyingParty(ctx context.Context, cfg Config) (*RelyingParty, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	// The provider keeps this context for later JWKS fetches: it must
	// outlive start-up, so it carries the client but not ctx's deadline.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), cfg.HTTPClient)
	provider, err := discover(ctx, pctx, cfg.Issuer, cfg.Logger)
	if err != nil {
		return nil, err
	}
	var extra struct {
		EndSession  string   `json:"end_session_endpoint"`
		JWKSURI     string   `json:"jwks_uri"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := provider.Claims(&extra); err != nil {
		return nil, fmt.Errorf("read discovery document: %w", err)
	}
	algs := auth.SigningAlgorithms(extra.Algs)
	keys := auth.NewKeySet(extra.JWKSURI, cfg.HTTPClient, algs, cfg.Now)
	cookie := "session"
	if strings.HasPrefix(cfg.BaseURL, "https://") {
		cookie = "__Host-session" // the browser then insists on Secure, Path=/ and no Domain
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = clientAuthStyle(extra.AuthMethods)
	return &RelyingParty{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  strings.TrimRight(cfg.BaseURL, "/") + "/auth/callback",
			Scopes:       Scopes,
		},
		idVerifier: oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: algs, Now: cfg.Now}),
		idDisplay:  oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: algs, Now: cfg.Now, SkipExpiryCheck: true}),
		access:     auth.NewVerifier(cfg.Issuer, keys, algs, cfg.ClientID, cfg.Now),
		endSession: extra.EndSession,
		cookie:     cookie,
		log:        cfg.Logger,
		now:        cfg.Now,
		idp: &reachability{
			url:    strings.TrimRight(cfg.Issuer, "/") + "/.well-known/openid-configuration",
			client: cfg.HTTPClient,
			now:    cfg.Now,
		},
	}, nil
}

// clientAuthStyle is how the code exchange and every refresh authenticate
// the client at the token endpoint, chosen from the discovery document's
// token_endpoint_auth_methods_supported: the secret in the form
// (client_secret_post) whenever the provider lists it, as Scalekit
// documents and its SDKs do, and HTTP Basic (client_secret_basic)
// otherwise, which is also OpenID Connect Discovery's default when the
// list is absent. Left to itself, x/oauth2 would guess: Basic first, then
// the form after a refusal, so every sign-in would begin with a failed
// client authentication at a provider that takes only the form.
func clientAuthStyle(methods []string) oauth2.AuthStyle {
	if slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// discover fetches the discovery document, retrying with backoff until ctx
// ends, so the app can start before its IdP is up.
func discover(ctx, pctx context.Context, issuer string, log *slog.Logger) (*oidc.Provider, error) {
	delay := 250 * time.Millisecond
	for {
		provider, err := oidc.NewProvider(pctx, issuer)
		if err == nil {
			return provider, nil
		}
		log.Warn("identity provider not reachable yet, retrying", "issuer", issuer, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("discover OpenID provider %s: %w", issuer, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// EndSessionEndpoint returns the IdP's end-session (logout) URL, or "".
func (rp *RelyingParty) EndSessionEndpoint() string { return rp.endSession }

// Verifier returns the access-token verifier, for the bearer API.
func (rp *RelyingParty) Verifier() *auth.Verifier { return rp.access }

// Login starts the authorization code flow: fresh state, nonce and PKCE
// verifier go into the pending-login cookie, and the browser to the IdP.
// The session, if any, is left alone: a link to /login from another site
// cannot sign anybody out.
func (rp *RelyingParty) Login(w http.ResponseWriter, r *http.Request) error {
	return rp.Authorize(w, r, AuthOptions{ReturnTo: r.URL.Query().Get("return_to")})
}

// AuthOptions shape an authorization request beyond the defaults of Login.
type AuthOptions struct {
	// ReturnTo is where the browser lands after the callback; it goes
	// through SafeReturnPath.
	ReturnTo string
	// OrganizationID, if set, asks the IdP for a token of that organization
	// (Scalekit's organization_id): a member goes straight in, anybody else
	// is refused with access_denied. The callback still believes only the
	// token's oid.
	OrganizationID string
	// Prompt is OpenID Connect's prompt: "select_account" makes the IdP
	// ask which account and organization, even for a single one.
	Prompt string
	// LoginHint names the person expected to sign in (their email), so the
	// IdP need not ask again. A hint, not a proof: the IdP authenticates.
	LoginHint string
	// Subject, if set, is the user who must come back (a switch of the
	// signed-in user's organization): anybody else is refused, and the
	// session stays as it was.
	Subject string
}

// Authorize starts the authorization code flow with opts; Login is
// Authorize with the defaults. Switching organization is this with an
// organization_id: a new sign-in, whose callback replaces the session
// only once it succeeds.
func (rp *RelyingParty) Authorize(w http.ResponseWriter, r *http.Request, opts AuthOptions) error {
	if err := rp.idp.check(r.Context()); err != nil {
		return err
	}
	p := pendingLogin{
		State:          randomString(),
		Nonce:          randomString(),
		Verifier:       oauth2.GenerateVerifier(),
		ReturnTo:       SafeReturnPath(opts.ReturnTo),
		OrganizationID: opts.OrganizationID,
		Subject:        opts.Subject,
	}
	if err := rp.cfg.Sessions.savePending(w, pendingCookieName(rp.cookie), p); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	params := []oauth2.AuthCodeOption{oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)}
	for name, value := range map[string]string{"organization_id": opts.OrganizationID, "prompt": opts.Prompt, "login_hint": opts.LoginHint} {
		if value != "" {
			params = append(params, oauth2.SetAuthURLParam(name, value))
		}
	}
	http.Redirect(w, r, rp.oauth.AuthCodeURL(p.State, params...), http.StatusFound)
	return nil
}

// logoutTimeout bounds sign-out's own work: deleting the session, and
// asking whether the IdP is there to end its side too.
const logoutTimeout = 5 * time.Second

// Logout ends the session here, then at the IdP (RP-initiated logout with
// id_token_hint), which sends the browser back to the landing page.
//
// Signing out must work whatever the state of the session's tokens and
// whether or not the IdP answers: mount it without the Sessions middleware
// (which refreshes an expiring token, and fails while the IdP is down).
// The local session is deleted and the cookie cleared first, on a context
// the browser cannot cancel halfway; when the IdP does not answer, the
// browser goes to the landing page instead of to a dead end-session page.
func (rp *RelyingParty) Logout(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), logoutTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	// On a read error sess is new and empty: saving it still clears the
	// cookie, and the error is reported.
	sess, err := rp.cfg.Sessions.New(r, rp.cookie)
	idToken := dataOf(sess).IDToken
	sess.Options.MaxAge = -1
	if serr := sess.Save(r, w); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if rp.endSession == "" || idToken == "" || rp.idp.check(ctx) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	q := url.Values{
		"id_token_hint":            {idToken},
		"post_logout_redirect_uri": {strings.TrimRight(rp.cfg.BaseURL, "/") + "/"},
	}
	http.Redirect(w, r, rp.endSession+"?"+q.Encode(), http.StatusSeeOther)
	return nil
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyedMutex serializes token refreshes per session: the IdP rotates
// refresh tokens and may revoke the whole grant when a used one is
// replayed, so two concurrent requests must not both refresh.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refLock
}

type refLock struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &refLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// isUnreachable reports whether err is a failure to reach the IdP, as
// opposed to the IdP answering with an OAuth error.
func isUnreachable(err error) bool {
	var re *oauth2.RetrieveError
	return err != nil && !errors.As(err, &re)
}

package mockidp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// A callback on another port than the registered :8080 one: the loopback
// rule of RFC 8252 lets it through, as it does for the app's tests.
const callback = "http://127.0.0.1:18080/auth/callback"

// Demo users the tests sign in as.
const (
	alice = "usr_100000000000000001"
	carol = "usr_100000000000000003"
	erin  = "usr_200000000000000001"
)

// env is a mock IdP and a standard relying party (x/oauth2 + go-oidc) set
// up against it, the way the app sets itself up.
type env struct {
	idp      *mockidp.Server
	model    *rbac.Model
	clock    *testkit.Clock
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    *oauth2.Config
	browser  *http.Client // does not follow redirects, so tests read Location
}

func loadModel(t testing.TB) *rbac.Model {
	t.Helper()
	m, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	return m
}

func start(t testing.TB) *env {
	t.Helper()
	return startWith(t, nil)
}

// startWith is start with these users (nil: the default, DemoUsers).
func startWith(t testing.TB, users []mockidp.User) *env {
	t.Helper()
	e := &env{model: loadModel(t), clock: testkit.NewClock(time.Now())}
	e.idp = mockidptest.Start(t, mockidp.Config{Model: e.model, Users: users, Now: e.clock.Now})
	var err error
	e.provider, err = oidc.NewProvider(context.Background(), e.idp.URL())
	require.NoError(t, err)
	e.verifier = e.provider.Verifier(&oidc.Config{ClientID: mockidp.DemoClientID})
	endpoint := e.provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams // the one method its discovery lists
	e.oauth = &oauth2.Config{
		ClientID:     mockidp.DemoClientID,
		ClientSecret: mockidp.DemoClientSecret,
		Endpoint:     endpoint,
		RedirectURL:  callback,
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return e
}

// signIn is one login as the app does it: PKCE, state and nonce.
type signIn struct {
	verifier, state, nonce string
}

func newSignIn() signIn {
	return signIn{verifier: oauth2.GenerateVerifier(), state: oauth2.GenerateVerifier(), nonce: oauth2.GenerateVerifier()}
}

// authorizeURL is the URL the app redirects the browser to.
func (e *env) authorizeURL(s signIn, scopes ...string) string {
	cfg := *e.oauth
	if scopes != nil {
		cfg.Scopes = scopes
	}
	return cfg.AuthCodeURL(s.state, oauth2.S256ChallengeOption(s.verifier), oidc.Nonce(s.nonce))
}

// login opens the picker, clicks the user and returns the code the
// callback receives.
func (e *env) login(t testing.TB, userID string, scopes ...string) (string, signIn) {
	t.Helper()
	s := newSignIn()
	page := e.openPicker(t, e.authorizeURL(s, scopes...))
	loc := e.submit(t, page, url.Values{"user_id": {userID}})
	require.Equal(t, s.state, loc.Query().Get("state"))
	require.NotEmpty(t, loc.Query().Get("code"))
	return loc.Query().Get("code"), s
}

// tokens signs in and exchanges the code, as the app's callback does.
func (e *env) tokens(t testing.TB, userID string, scopes ...string) (*oauth2.Token, signIn) {
	t.Helper()
	code, s := e.login(t, userID, scopes...)
	tok, err := e.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(s.verifier))
	require.NoError(t, err)
	return tok, s
}

// openPicker GETs an authorize URL and parses the sign-in page.
func (e *env) openPicker(t testing.TB, authorizeURL string) picker {
	t.Helper()
	resp, err := e.browser.Get(authorizeURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return parsePicker(t, resp.Body)
}

// submit posts the picker's form with extra fields, as clicking a button
// does, and returns where the IdP redirects the browser.
func (e *env) submit(t testing.TB, p picker, extra url.Values) *url.URL {
	t.Helper()
	form := url.Values{}
	for k, v := range p.hidden {
		form[k] = v
	}
	for k, v := range extra {
		form[k] = v
	}
	action, err := url.Parse(e.idp.URL())
	require.NoError(t, err)
	resp, err := e.browser.PostForm(action.ResolveReference(&url.URL{Path: p.action}).String(), form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	return loc
}

// postToken calls the token endpoint directly, to see status codes and
// error bodies that x/oauth2 wraps.
func (e *env) postToken(t testing.TB, form url.Values) (int, map[string]any) {
	t.Helper()
	form = cloneValues(form)
	if !form.Has("client_id") {
		form.Set("client_id", mockidp.DemoClientID)
		form.Set("client_secret", mockidp.DemoClientSecret)
	}
	resp, err := http.PostForm(e.idp.URL()+"/oauth/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func (e *env) refresh(t testing.TB, refreshToken string) (int, map[string]any) {
	t.Helper()
	return e.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// claims decodes a JWT's payload without checking it; tests that need the
// signature checked verify first.
func claims(t testing.TB, token string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, tok.UnsafeClaimsWithoutVerification(&c))
	return c
}

// header returns a JWT's JOSE header.
func header(t testing.TB, token string) jose.Header {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	require.NoError(t, err)
	require.Len(t, tok.Headers, 1)
	return tok.Headers[0]
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// tokenPermissions is what an access token of a member holding roles
// carries: the roles' effective permissions in the model, and Scalekit's
// own that the built-in roles come with, sorted.
func tokenPermissions(m *rbac.Model, roles ...string) []string {
	perms := mockidp.ScalekitPermissions(roles...)
	for _, p := range m.Effective(roles...) {
		perms = append(perms, string(p))
	}
	slices.Sort(perms)
	return slices.Compact(perms)
}

// permissionNames turns permissions into the strings a token carries.
func permissionNames(ps []rbac.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// strs turns a JSON array into strings.
func strs(v any) []string {
	arr, _ := v.([]any)
	out := []string{}
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func demoUser(t testing.TB, id string) mockidp.User {
	t.Helper()
	for _, u := range mockidp.DemoUsers() {
		if u.ID == id {
			return u
		}
	}
	t.Fatalf("no demo user %s", id)
	return mockidp.User{}
}

package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// Browser is a cookie-jar client that does not follow redirects, so tests
// see every status; SignIn follows them by hand, as a browser would.
type Browser struct {
	t      testing.TB
	app    string       // the app's base URL
	idp    string       // the IdP's
	Client *http.Client // its Jar holds the app's and the IdP's cookies
}

// NewBrowser is a browser with no cookies, signed out, for the Env's app.
func (e *Env) NewBrowser() *Browser { return NewBrowser(e.t, e.URL, e.IdP.URL()) }

// NewBrowser is a browser with no cookies for the app at appURL, which
// signs in at the mock IdP at idpURL: an app started some other way (a
// process of its own, say).
func NewBrowser(t testing.TB, appURL, idpURL string) *Browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &Browser{t: t, app: appURL, idp: idpURL, Client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// SignIn goes through the real redirects: app /login -> IdP picker ->
// pick the user -> app callback -> landing page. It returns the browser.
func (e *Env) SignIn(u mockidp.User) *Browser {
	e.t.Helper()
	b := e.NewBrowser()
	b.SignInTo(u, "/")
	return b
}

// SignInTo signs u in from /login?return_to=returnTo, and checks that the
// callback sends the browser back to returnTo.
func (b *Browser) SignInTo(u mockidp.User, returnTo string) {
	b.t.Helper()
	resp := b.Get("/login?return_to=" + url.QueryEscape(returnTo))
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "GET /login")
	b.FinishSignIn(u, resp, returnTo)
}

// FinishSignIn continues from the app's redirect to the IdP: it picks the
// user and follows the callback, which must land on wantPath.
func (b *Browser) FinishSignIn(u mockidp.User, login Response, wantPath string) {
	b.t.Helper()
	resp := b.PickUser(u, login)
	callback := resp.Header.Get("Location")
	require.True(b.t, strings.HasPrefix(callback, b.app+"/auth/callback"), "IdP redirects to the callback, got %s", callback)
	resp = b.Do("GET", callback, nil, "")
	require.Equal(b.t, http.StatusSeeOther, resp.StatusCode, "callback: %s", resp.Body)
	require.Equal(b.t, wantPath, resp.Header.Get("Location"))
}

// PickUser opens the IdP's picker that login redirected to and picks u; it
// returns the IdP's answer (a redirect to the callback). A member of
// several organizations then meets the IdP's chooser, and picks u.OrgID
// there (InOrg names which).
func (b *Browser) PickUser(u mockidp.User, login Response) Response {
	b.t.Helper()
	authorize, err := url.Parse(login.Header.Get("Location"))
	require.NoError(b.t, err)
	require.True(b.t, strings.HasPrefix(authorize.String(), b.idp), "login redirects to the IdP")

	// The picker page is a form that posts the request back with user_id.
	resp := b.Do("GET", authorize.String(), nil, "")
	require.Equal(b.t, http.StatusOK, resp.StatusCode, "IdP picker")
	form := authorize.Query()
	form.Set("user_id", u.ID)
	resp = b.Do("POST", b.idp+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	if len(u.Memberships) > 1 && form.Get("organization_id") == "" {
		resp = b.ChooseOrganization(resp, u.OrgID)
	}
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "picker submit: %.300s", resp.Body)
	return resp
}

// ChooseOrganization submits the IdP's organization chooser (page) with
// the button of orgID, as a person clicking it would.
func (b *Browser) ChooseOrganization(page Response, orgID string) Response {
	b.t.Helper()
	require.Equal(b.t, http.StatusOK, page.StatusCode, "the IdP asks which organization")
	doc := ParseHTML(b.t, page.Body)
	form := url.Values{}
	doc.Find(`form input[type="hidden"]`).Each(func(_ int, in *goquery.Selection) {
		form.Set(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	require.Equal(b.t, 1, doc.Find(`button[name="organization_id"][value="`+orgID+`"]`).Length(), "the chooser offers %s", orgID)
	form.Set("organization_id", orgID)
	return b.Do("POST", b.idp+"/oauth/authorize", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// InOrg is u as a member of orgID: the organization and roles its sign-ins
// and tokens there carry.
func InOrg(t testing.TB, u mockidp.User, orgID string) mockidp.User {
	t.Helper()
	m, ok := u.Membership(orgID)
	require.True(t, ok, "%s is a member of %s", u.Email, orgID)
	u.OrgID, u.OrgName, u.Roles = m.OrgID, m.OrgName, m.Roles
	return u
}

// Get fetches path of the app.
func (b *Browser) Get(path string) Response { return b.Do("GET", b.app+path, nil, "") }

// Post submits a form, as the app's pages do.
func (b *Browser) Post(path string, form url.Values) Response {
	return b.Do("POST", b.app+path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// Do sends a request to any URL, the IdP's included, with the browser's
// cookies.
func (b *Browser) Do(method, u string, body io.Reader, contentType string) Response {
	b.t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(b.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return Send(b.t, b.Client, req)
}

// SwitchOrganization posts the header's switcher from page from, follows
// the app's redirect to the IdP (which, with the login_hint the app sends,
// answers at once) and the IdP's back to the callback, and returns the
// callback's answer.
func (b *Browser) SwitchOrganization(orgID, from string) Response {
	b.t.Helper()
	resp := b.Post("/switch-organization", url.Values{"organization_id": {orgID}, "return_to": {from}})
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "switch: %.300s", resp.Body)
	authorize := MustURL(b.t, resp.Header.Get("Location"))
	require.True(b.t, strings.HasPrefix(authorize.String(), b.idp+"/oauth/authorize"), "a new authorization at the IdP")
	q := authorize.Query()
	assert.Equal(b.t, orgID, q.Get("organization_id"))
	assert.Equal(b.t, "select_account", q.Get("prompt"))
	assert.NotEmpty(b.t, q.Get("code_challenge"), "PKCE, as for any sign-in")
	resp = b.Do("GET", authorize.String(), nil, "")
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "IdP: %.300s", resp.Body)
	callback := resp.Header.Get("Location")
	require.True(b.t, strings.HasPrefix(callback, b.app+"/auth/callback"), "IdP redirects to the callback, got %s", callback)
	return b.Do("GET", callback, nil, "")
}

// AccessClaims are the claims of the session's access token, as /me shows
// them.
type AccessClaims struct {
	OrgID string   `json:"oid"`
	Roles []string `json:"roles"`
	JTI   string   `json:"jti"`
}

// AccessClaims reads the claims of the session's access token from /me.
func (b *Browser) AccessClaims() AccessClaims {
	b.t.Helper()
	resp := b.Get("/me")
	require.Equal(b.t, http.StatusOK, resp.StatusCode, resp.Body)
	var c AccessClaims
	require.NoError(b.t, json.Unmarshal([]byte(Text(ParseHTML(b.t, resp.Body), `[data-testid="access-claims"]`)), &c))
	return c
}

// SessionCookie is the browser's session cookie for the app.
func (b *Browser) SessionCookie() *http.Cookie {
	b.t.Helper()
	for _, c := range b.Client.Jar.Cookies(MustURL(b.t, b.app)) {
		if c.Name == "session" {
			return c
		}
	}
	b.t.Fatal("no session cookie")
	return nil
}

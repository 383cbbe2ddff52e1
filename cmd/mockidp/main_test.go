package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
)

// These tests drive cmd/mockidp as a separate process, over HTTP only, as
// a Playwright or pytest suite would: nothing here calls the mockidp
// package.

var bin string // the built command

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// These tests run the built command as a process, like the crash
		// tests: the full run (and CI) has them; -short skips the build.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "mockidp-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "mockidp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	clientID     = "skc_demo_client"
	clientSecret = "demo-secret-not-for-production"
	redirectURI  = "http://127.0.0.1:8080/auth/callback"
	aliceID      = "usr_100000000000000001"
	bobID        = "usr_100000000000000002"
	acme         = "org_100000000000000001"
)

// needBinary skips a test of the built command under -short, which builds
// none (TestMain).
func needBinary(t *testing.T) {
	t.Helper()
	if bin == "" {
		t.Skip("runs the built cmd/mockidp as a process: skipped with -short")
	}
}

// start runs the command on a random loopback port and returns its issuer,
// read from the MOCKIDP_URL= line it prints first.
func start(t *testing.T, args ...string) string {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-seed", "../../rbac.seed.json", "-log-level", "warn"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mockidp stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "mockidp printed no URL; stderr:\n%s", stderr.String())
	issuer, ok := strings.CutPrefix(strings.TrimSpace(line), "MOCKIDP_URL=")
	require.True(t, ok, "first line %q", line)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return issuer
}

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, method, u string, body any, out any) int {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, u, r)
	require.NoError(t, err)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(data) > 0 {
		require.NoError(t, json.Unmarshal(data, out), "%s", data)
	}
	return resp.StatusCode
}

// authorize starts a PKCE sign-in with extra parameters and returns the
// answer (not followed) and the verifier.
func authorize(t *testing.T, issuer string, extra url.Values) (*http.Response, string) {
	t.Helper()
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email offline_access"}, "state": {"st"}, "nonce": {"n0"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := noRedirect.Get(issuer + "/oauth/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	return resp, verifier
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// token posts a token request with client_secret_post.
func token(t *testing.T, issuer string, form url.Values) (int, tokens) {
	t.Helper()
	form.Set("client_id", clientID)
	form.Set("client_secret", clientSecret)
	resp, err := http.PostForm(issuer+"/oauth/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tk tokens
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tk))
	return resp.StatusCode, tk
}

// signIn signs email in headless and returns the tokens.
func signIn(t *testing.T, issuer, email string) tokens {
	t.Helper()
	resp, verifier := authorize(t, issuer, url.Values{"login_hint": {email}})
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, "redirect %s", loc)
	status, tk := token(t, issuer, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	require.Equal(t, http.StatusOK, status, tk.Error)
	return tk
}

// claims decodes a JWT's payload without verifying it (the tests of the
// signature are the relying party's, in app/).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

func TestHeadlessSignIn(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	t.Run("a known login_hint signs in at once", func(t *testing.T) {
		tk := signIn(t, issuer, "bob@acme.example")
		assert.Equal(t, bobID, claims(t, tk.AccessToken)["sub"])
		assert.Equal(t, "n0", claims(t, tk.IDToken)["nonce"])
	})
	t.Run("an unknown login_hint is an OAuth error redirect", func(t *testing.T) {
		resp, _ := authorize(t, issuer, url.Values{"login_hint": {"nobody@acme.example"}})
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, "access_denied", loc.Query().Get("error"))
		assert.NotEmpty(t, loc.Query().Get("error_description"))
		assert.Equal(t, "st", loc.Query().Get("state"))
		assert.True(t, strings.HasPrefix(loc.String(), redirectURI))
	})
	t.Run("a hint outside organization_id is refused", func(t *testing.T) {
		resp, _ := authorize(t, issuer, url.Values{"login_hint": {"erin@globex.example"}, "organization_id": {acme}})
		loc, _ := url.Parse(resp.Header.Get("Location"))
		assert.Equal(t, "access_denied", loc.Query().Get("error"))
	})
	for name, extra := range map[string]url.Values{
		"no hint shows the picker":                  {},
		"prompt=login shows the picker with a hint": {"login_hint": {"bob@acme.example"}, "prompt": {"login"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := authorize(t, issuer, extra)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		})
	}
}

func TestControlPlaneUsersAndRoles(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	ctl := issuer + "/_mock"

	var created map[string]any
	require.Equal(t, http.StatusCreated, call(t, "POST", ctl+"/users", map[string]any{
		"email": "zoe@acme.example", "given_name": "Zoe", "family_name": "Z", "organization_id": acme, "roles": []string{"viewer"},
	}, &created))
	zoe := created["id"].(string)
	assert.Equal(t, "Acme Corp", created["organization_name"])
	tk := signIn(t, issuer, "zoe@acme.example")
	assert.Equal(t, []any{"viewer"}, claims(t, tk.AccessToken)["roles"])

	var got map[string]any
	require.Equal(t, http.StatusOK, call(t, "GET", ctl+"/users/"+zoe, nil, &got))
	assert.Equal(t, "Zoe Z", got["name"])

	require.Equal(t, http.StatusOK, call(t, "PUT", ctl+"/users/"+zoe+"/roles", map[string]any{"roles": []string{"team_member"}}, nil))
	var tok tokens
	require.Equal(t, http.StatusOK, call(t, "POST", ctl+"/users/"+zoe+"/token", nil, &tok))
	assert.Equal(t, []any{"team_member"}, claims(t, tok.AccessToken)["roles"])
	// The refresh of the earlier sign-in carries the new roles too.
	status, refreshed := token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []any{"team_member"}, claims(t, refreshed.AccessToken)["roles"])

	require.Equal(t, http.StatusOK, call(t, "PATCH", ctl+"/users/"+zoe, map[string]any{"name": "Zoe Zed"}, &got))
	assert.Equal(t, "Zoe Zed", got["name"])

	var list struct{ Users []map[string]any }
	require.Equal(t, http.StatusOK, call(t, "GET", ctl+"/users", nil, &list))
	assert.Len(t, list.Users, 8, "the demo cast (seven, the consultant included) and Zoe")

	var org map[string]any
	require.Equal(t, http.StatusCreated, call(t, "POST", ctl+"/organizations", map[string]any{"name": "Initech"}, &org))
	assert.Equal(t, []any{"admin"}, org["creator"].(map[string]any)["roles"])
	require.Equal(t, http.StatusCreated, call(t, "POST", ctl+"/organizations/"+org["organization_id"].(string)+"/join", nil, &got))
	assert.Equal(t, []any{"member"}, got["roles"])

	require.Equal(t, http.StatusNoContent, call(t, "DELETE", ctl+"/users/"+zoe, nil, nil))
	assert.Equal(t, http.StatusNotFound, call(t, "GET", ctl+"/users/"+zoe, nil, nil))
	status, _ = token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed.RefreshToken}})
	assert.Equal(t, http.StatusBadRequest, status, "a deleted user's sign-ins are revoked")
}

func TestControlPlaneBadInput(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	ctl := issuer + "/_mock"
	tests := []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"PUT", "/users/" + bobID + "/roles", `{"roles": "viewer"}`, 400, "roles"},
		{"PUT", "/users/" + bobID + "/roles", `{"roles": ["nope"]}`, 400, "roles"},
		{"PUT", "/users/" + bobID + "/roles", `{"rolez": ["viewer"]}`, 400, "rolez"},
		{"PUT", "/users/" + bobID + "/roles", `{"roles": [`, 400, "body"},
		{"PUT", "/users/usr_999/roles", `{"roles": ["viewer"]}`, 404, ""},
		{"PATCH", "/users/usr_999", `{"name": "x"}`, 404, ""},
		{"DELETE", "/users/usr_999", nil, 404, ""},
		{"POST", "/users/usr_999/revoke", nil, 404, ""},
		{"POST", "/users", `{"email": "x@acme.example", "organization_id": "` + acme + `", "roles": ["nope"]}`, 400, "roles"},
		{"POST", "/users", `{"email": "bob@acme.example", "organization_id": "` + acme + `"}`, 400, "email"},
		{"POST", "/faults", `{"endpoint": "nowhere", "status": 500}`, 400, "endpoint"},
		{"POST", "/faults", `{"endpoint": "token", "status": 500, "count": 0}`, 400, "count"},
		{"POST", "/faults", `{"endpoint": "token", "delay_ms": "slow"}`, 400, "delay_ms"},
		{"POST", "/tamper", `{"case": "nope"}`, 400, "case"},
		{"PUT", "/webhook", `{"url": "http://127.0.0.1:1/h", "secret": "nope"}`, 400, "secret"},
		{"DELETE", "/keys/nokid", nil, 404, "kid"},
		{"GET", "/nonsense", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var e struct{ Error, Field string }
			assert.Equal(t, tt.status, call(t, tt.method, ctl+tt.path, tt.body, &e))
			assert.Equal(t, tt.field, e.Field)
			assert.NotEmpty(t, e.Error)
		})
	}
	// Nothing half-applied: a PATCH with a good name and a bad role
	// changes neither.
	assert.Equal(t, 400, call(t, "PATCH", ctl+"/users/"+bobID, `{"name": "Robert", "roles": ["nope"]}`, nil))
	var bob map[string]any
	require.Equal(t, 200, call(t, "GET", ctl+"/users/"+bobID, nil, &bob))
	assert.Equal(t, "Bob Manager", bob["name"])
	assert.Equal(t, []any{"project_manager"}, bob["roles"])
	var faults struct{ Faults []any }
	require.Equal(t, 200, call(t, "GET", ctl+"/faults", nil, &faults))
	assert.Empty(t, faults.Faults)
}

func TestControlPlaneLoopbackOnly(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	for name, set := range map[string]func(*http.Request){
		"relayed by a proxy":            func(r *http.Request) { r.Header.Set("X-Forwarded-For", "203.0.113.9") },
		"another host name (rebinding)": func(r *http.Request) { r.Host = "evil.example" },
		"a cross-site browser post":     func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest("POST", issuer+"/_mock/reset", nil)
			require.NoError(t, err)
			set(req)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}

func TestFaults(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	ctl := issuer + "/_mock"
	// A fresh connection per request: Go's client would retry a GET on a
	// reused connection the server closed, hiding the dropped one.
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, error) {
		resp, err := fresh.Get(issuer + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	t.Run("a status for the next N calls", func(t *testing.T) {
		require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": "discovery", "status": 503, "count": 2}, nil))
		for _, want := range []int{503, 503, 200} {
			got, err := get("/.well-known/openid-configuration")
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
	})
	t.Run("a dropped connection", func(t *testing.T) {
		require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": "keys", "drop": true}, nil))
		_, err := get("/keys")
		assert.Error(t, err)
		got, err := get("/keys")
		require.NoError(t, err)
		assert.Equal(t, 200, got)
	})
	t.Run("a delay", func(t *testing.T) {
		require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": "keys", "delay_ms": 300}, nil))
		began := time.Now()
		got, err := get("/keys")
		require.NoError(t, err)
		assert.Equal(t, 200, got, "a delay alone lets the real answer through")
		assert.GreaterOrEqual(t, time.Since(began), 300*time.Millisecond)
	})
	t.Run("a body, on one grant type only", func(t *testing.T) {
		require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": "token:refresh_token", "status": 500, "body": `{"error":"temporarily_unavailable"}`}, nil))
		tk := signIn(t, issuer, "carol@acme.example") // the code grant is untouched
		status, resp := token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}})
		assert.Equal(t, 500, status)
		assert.Equal(t, "temporarily_unavailable", resp.Error)
		status, _ = token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}})
		assert.Equal(t, 200, status, "the fault answered before the token was spent")
	})
	t.Run("userinfo, logout and the management API", func(t *testing.T) {
		for _, ep := range []struct{ name, method, path string }{
			{"userinfo", "GET", "/userinfo"}, {"logout", "GET", "/oidc/logout"}, {"management", "GET", "/api/v1/roles"},
		} {
			require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": ep.name, "status": 418}, nil))
			assert.Equal(t, 418, call(t, ep.method, issuer+ep.path, nil, nil), ep.name)
		}
		require.Equal(t, 200, call(t, "POST", ctl+"/management/fail", map[string]any{"count": 1, "status": 429}, nil))
		assert.Equal(t, 429, call(t, "GET", issuer+"/api/v1/roles", nil, nil))
	})
	t.Run("listed while pending, cleared on request", func(t *testing.T) {
		require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": "token", "status": 500, "count": 3}, nil))
		var list struct{ Faults []map[string]any }
		require.Equal(t, 200, call(t, "GET", ctl+"/faults", nil, &list))
		require.Len(t, list.Faults, 1)
		assert.EqualValues(t, 3, list.Faults[0]["count"])
		require.Equal(t, 204, call(t, "DELETE", ctl+"/faults", nil, nil))
		signIn(t, issuer, "carol@acme.example")
	})
}

func TestTamperKeysRevokeLogReset(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	ctl := issuer + "/_mock"

	t.Run("tamper with the next N tokens", func(t *testing.T) {
		require.Equal(t, 200, call(t, "POST", ctl+"/tamper", map[string]any{"case": "wrong_nonce", "count": 2, "access_claims": map[string]any{"sid": nil}}, nil))
		for range 2 {
			tk := signIn(t, issuer, "dave@acme.example")
			assert.Equal(t, "someone-elses", claims(t, tk.IDToken)["nonce"])
			assert.NotContains(t, claims(t, tk.AccessToken), "sid")
		}
		assert.Equal(t, "n0", claims(t, signIn(t, issuer, "dave@acme.example").IDToken)["nonce"], "the third is honest")
		require.Equal(t, 200, call(t, "POST", ctl+"/tamper", map[string]any{"case": "bad_signature"}, nil))
		require.Equal(t, 204, call(t, "DELETE", ctl+"/tamper", nil, nil))
		tk := signIn(t, issuer, "dave@acme.example")
		var signed struct{ Token string }
		require.Equal(t, 200, call(t, "POST", ctl+"/sign", map[string]any{"claims": map[string]any{"sub": "x"}}, &signed))
		assert.Equal(t, strings.Split(tk.IDToken, ".")[0], strings.Split(signed.Token, ".")[0], "same key and header")
	})

	t.Run("rotate and retire keys", func(t *testing.T) {
		var before, after struct {
			Current   string
			Published []string
		}
		require.Equal(t, 200, call(t, "GET", ctl+"/keys", nil, &before))
		old := signIn(t, issuer, "dave@acme.example")
		require.Equal(t, 200, call(t, "POST", ctl+"/keys/rotate", nil, &after))
		assert.NotEqual(t, before.Current, after.Current)
		assert.Equal(t, []string{after.Current, before.Current}, after.Published)
		assert.Equal(t, 409, call(t, "DELETE", ctl+"/keys/"+after.Current, nil, nil), "the signing key stays")
		// The old key still verifies at userinfo until it is retired.
		userinfo := func() int {
			req, _ := http.NewRequest("GET", issuer+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+old.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		assert.Equal(t, 200, userinfo())
		require.Equal(t, 200, call(t, "DELETE", ctl+"/keys/"+before.Current, nil, &after))
		assert.Equal(t, []string{after.Current}, after.Published)
		assert.Equal(t, 401, userinfo())
	})

	t.Run("revoke a user's sessions", func(t *testing.T) {
		tk := signIn(t, issuer, "erin@globex.example")
		var out map[string]int
		require.Equal(t, 200, call(t, "POST", ctl+"/users/usr_200000000000000001/revoke", nil, &out))
		assert.Equal(t, 1, out["revoked_sessions"])
		status, resp := token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}})
		assert.Equal(t, 400, status)
		assert.Equal(t, "invalid_grant", resp.Error)
	})

	t.Run("the request log, secrets redacted", func(t *testing.T) {
		require.Equal(t, 204, call(t, "DELETE", ctl+"/requests", nil, nil))
		signIn(t, issuer, "erin@globex.example")
		var log struct {
			Requests []struct {
				Endpoint string
				Form     map[string][]string
				Query    map[string][]string
				Status   int
			}
		}
		require.Equal(t, 200, call(t, "GET", ctl+"/requests?endpoint=token", nil, &log))
		require.Len(t, log.Requests, 1)
		r := log.Requests[0]
		assert.Equal(t, "token:authorization_code", r.Endpoint)
		assert.Equal(t, 200, r.Status)
		assert.Equal(t, []string{clientID}, r.Form["client_id"])
		for _, secret := range []string{"client_secret", "code", "code_verifier"} {
			assert.Equal(t, []string{"[redacted]"}, r.Form[secret], secret)
		}
		require.Equal(t, 200, call(t, "GET", ctl+"/requests?endpoint=authorize", nil, &log))
		assert.Equal(t, []string{"erin@globex.example"}, log.Requests[0].Query["login_hint"])
	})

	t.Run("reset", func(t *testing.T) {
		tk := signIn(t, issuer, "erin@globex.example")
		require.Equal(t, 200, call(t, "PUT", ctl+"/users/"+aliceID+"/roles", map[string]any{"roles": []string{"viewer"}}, nil))
		require.Equal(t, 201, call(t, "POST", ctl+"/faults", map[string]any{"endpoint": "keys", "status": 500}, nil))
		require.Equal(t, 204, call(t, "POST", ctl+"/reset", nil, nil))
		var alice map[string]any
		require.Equal(t, 200, call(t, "GET", ctl+"/users/"+aliceID, nil, &alice))
		assert.Equal(t, []any{"admin"}, alice["roles"])
		assert.Equal(t, 200, call(t, "GET", issuer+"/keys", nil, nil))
		status, _ := token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}})
		assert.Equal(t, 400, status, "refresh tokens are forgotten")
		var log struct{ Requests []any }
		require.Equal(t, 200, call(t, "GET", ctl+"/requests", nil, &log))
		assert.Len(t, log.Requests, 2, "only the GET /keys and the refresh after the reset")
	})
}

// event is a webhook event as the command sends it.
type event struct {
	Type           string         `json:"type"`
	OrganizationID string         `json:"organization_id"`
	OccurredAt     string         `json:"occurred_at"`
	Data           map[string]any `json:"data"`
}

// webhookSink is an endpoint that checks each event's Standard Webhooks
// signature (401 when it does not verify) and hands the verified ones to
// the returned channel.
func webhookSink(t *testing.T) (<-chan event, string) {
	t.Helper()
	verifier, err := standardwebhooks.NewWebhook(testkit.WebhookSecret)
	require.NoError(t, err)
	got := make(chan event, 10)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if verifier.Verify(body, r.Header) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev event
		_ = json.Unmarshal(body, &ev)
		got <- ev
	}))
	t.Cleanup(sink.Close)
	return got, sink.URL
}

func TestWebhooksOut(t *testing.T) {
	needBinary(t)
	got, sinkURL := webhookSink(t)
	issuer := start(t, "-webhook-url", sinkURL, "-webhook-secret", testkit.WebhookSecret)
	ctl := issuer + "/_mock"

	// Control-plane changes wait for their webhooks: the events are there.
	require.Equal(t, 200, call(t, "PUT", ctl+"/users/"+bobID+"/roles", map[string]any{"roles": []string{"viewer"}}, nil))
	ev := <-got
	assert.Equal(t, "user.organization_membership_updated", ev.Type)
	assert.Equal(t, bobID, ev.Data["user"].(map[string]any)["id"])
	assert.Equal(t, acme, ev.Data["organization"].(map[string]any)["id"])

	var zoe map[string]any
	require.Equal(t, 201, call(t, "POST", ctl+"/users", map[string]any{"email": "zoe@acme.example", "organization_id": acme, "roles": []string{"viewer"}}, &zoe))
	ev = <-got
	assert.Equal(t, "organization.directory.user_created", ev.Type)
	assert.True(t, strings.HasPrefix(ev.Data["id"].(string), "diruser_"))
	assert.Equal(t, "zoe@acme.example", ev.Data["email"])
	assert.Equal(t, acme, ev.Data["organization_id"])
	assert.Equal(t, []any{map[string]any{"role_name": "viewer"}}, ev.Data["roles"])
	_, err := time.Parse(time.RFC3339Nano, ev.OccurredAt)
	assert.NoError(t, err)

	require.Equal(t, 200, call(t, "PATCH", ctl+"/users/"+zoe["id"].(string), map[string]any{"roles": []string{"team_member"}}, nil))
	assert.Equal(t, "organization.directory.user_updated", (<-got).Type)
	assert.Equal(t, "user.organization_membership_updated", (<-got).Type, "the roles changed too")
	require.Equal(t, 204, call(t, "DELETE", ctl+"/users/"+zoe["id"].(string), nil, nil))
	assert.Equal(t, "organization.directory.user_deleted", (<-got).Type)

	var hook struct {
		URL        string
		Deliveries []struct {
			Type   string
			Status int
			Done   bool
		}
	}
	require.Equal(t, 200, call(t, "GET", ctl+"/webhook", nil, &hook))
	assert.Equal(t, sinkURL, hook.URL)
	require.Len(t, hook.Deliveries, 5)
	for _, d := range hook.Deliveries {
		assert.True(t, d.Done)
		assert.Equal(t, 200, d.Status, d.Type)
	}
	require.Equal(t, 204, call(t, "DELETE", ctl+"/webhook", nil, nil))
	require.Equal(t, 200, call(t, "PUT", ctl+"/webhook", map[string]any{"url": sinkURL, "secret": testkit.WebhookSecret}, nil))
}

func TestKeptKeyKeepsTheJWKSAcrossARestart(t *testing.T) {
	needBinary(t)
	key := filepath.Join(t.TempDir(), "mock.key")
	jwks := func(issuer string) string {
		resp, err := http.Get(issuer + "/keys")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(body)
	}
	first := jwks(start(t, "-key", key, "-generate-key"))
	info, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Equal(t, first, jwks(start(t, "-key", key)), "same key after a restart")
	assert.NotEqual(t, first, jwks(start(t)), "without -key, a new key per start")
}

func TestCheck(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	good := write("good.json", `{"organizations": [{"id": "org_1", "name": "Acme"}, {"id": "org_2", "name": "Globex"}],
 "users": [{"id": "usr_1", "email": "a@acme.test", "organization_id": "org_1", "roles": ["admin"]},
  {"id": "usr_2", "email": "c@consulting.test", "memberships": [{"organization_id": "org_1", "roles": ["project_manager"]}, {"organization_id": "org_2", "roles": ["viewer"]}]}]}`)
	tests := []struct {
		name, body, want string
	}{
		{"syntax", "{\"users\": [\n  {\"id\": \"usr_1\",,}\n]}", "bad.json:2: invalid JSON"},
		{"type", "{\"users\": [\n\n  {\"id\": 7}]}", "bad.json:3: users.id must be string"},
		{"unknown field", "{\"users\": [\n  {\"id\": \"usr_1\",\n   \"emial\": \"a@b\"}]}", `bad.json:3: unknown field "emial"`},
		{"unknown role", "{\"organizations\": [{\"id\": \"org_1\", \"name\": \"A\"}],\n \"users\": [\n  {\"id\": \"usr_1\", \"email\": \"a@b\", \"organization_id\": \"org_1\", \"roles\": [\"admin\"]},\n  {\"id\": \"usr_2\", \"email\": \"b@b\", \"organization_id\": \"org_1\", \"roles\": [\"root\"]}]}", `bad.json:4: user "usr_2": role "root"`},
		{"unknown organization", "{\"users\": [\n  {\"id\": \"usr_1\", \"email\": \"a@b\", \"organization_id\": \"org_9\"}]}", `bad.json:2: user "usr_1": organization_id "org_9"`},
		{"unknown organization of a membership", "{\"organizations\": [{\"id\": \"org_1\", \"name\": \"A\"}],\n \"users\": [\n  {\"id\": \"usr_1\", \"email\": \"a@b\", \"memberships\": [{\"organization_id\": \"org_1\"}, {\"organization_id\": \"org_9\"}]}]}", `bad.json:3: user "usr_1": organization_id "org_9"`},
		{"one organization twice", "{\"organizations\": [{\"id\": \"org_1\", \"name\": \"A\"}],\n \"users\": [\n  {\"id\": \"usr_1\", \"email\": \"a@b\", \"memberships\": [{\"organization_id\": \"org_1\"}, {\"organization_id\": \"org_1\"}]}]}", `bad.json:3: user "usr_1": organization "org_1" is listed twice`},
		{"both forms", "{\"organizations\": [{\"id\": \"org_1\", \"name\": \"A\"}],\n \"users\": [\n  {\"id\": \"usr_1\", \"email\": \"a@b\", \"organization_id\": \"org_1\", \"memberships\": [{\"organization_id\": \"org_1\"}]}]}", `bad.json:3: user "usr_1": give either`},
		{"a role unknown in one membership", "{\"organizations\": [{\"id\": \"org_1\", \"name\": \"A\"}, {\"id\": \"org_2\", \"name\": \"B\"}],\n \"users\": [\n  {\"id\": \"usr_1\", \"email\": \"a@b\", \"memberships\": [{\"organization_id\": \"org_1\", \"roles\": [\"viewer\"]}, {\"organization_id\": \"org_2\", \"roles\": [\"root\"]}]}]}", `bad.json:3: user "usr_1": role "root"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(bin, "-check", "-seed", "../../rbac.seed.json", "-users", write("bad.json", tt.body)).CombinedOutput()
			assert.Error(t, err)
			assert.Contains(t, string(out), tt.want)
		})
	}
	out, err := exec.Command(bin, "-check", "-seed", "../../rbac.seed.json", "-users", good).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "ok: 2 users")

	// A key that -generate-key would create is no error to -check, which
	// creates nothing; without -generate-key it is, and a bad key always.
	key := filepath.Join(dir, "mock.key")
	out, err = exec.Command(bin, "-check", "-seed", "../../rbac.seed.json", "-key", key, "-generate-key").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.NoFileExists(t, key, "-check writes no key")
	out, err = exec.Command(bin, "-check", "-seed", "../../rbac.seed.json", "-key", key).CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "pass -generate-key to make one")
	out, err = exec.Command(bin, "-check", "-seed", "../../rbac.seed.json", "-key", write("bad.key", "not a key"), "-generate-key").CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "not a PEM file")

	out, err = exec.Command(bin, "-seed", "../../rbac.seed.json", "-addr", "0.0.0.0:0").CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "not a loopback address")
}

const (
	caseyID = "usr_300000000000000001"
	globex  = "org_200000000000000001"
)

func TestTheBannerListsEveryMembership(t *testing.T) {
	needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-seed", "../../rbac.seed.json", "-log-level", "warn")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	var rows []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), caseyID) {
			rows = append(rows, strings.Join(strings.Fields(sc.Text()), " "))
		}
		if strings.Contains(sc.Text(), "grace@globex.example") {
			for sc.Scan() && strings.TrimSpace(sc.Text()) != "" {
				rows = append(rows, strings.Join(strings.Fields(sc.Text()), " "))
			}
			break
		}
	}
	assert.Equal(t, []string{
		caseyID + " casey@consulting.example Acme Corp (" + acme + ") project_manager",
		caseyID + " casey@consulting.example Globex Inc (" + globex + ") viewer",
	}, rows, "one row per membership")
}

func TestAConsultantSignsInToOneOrganizationAtATime(t *testing.T) {
	needBinary(t)
	issuer := start(t)
	ctl := issuer + "/_mock"
	signInTo := func(t *testing.T, org string) tokens {
		t.Helper()
		resp, verifier := authorize(t, issuer, url.Values{"login_hint": {"casey@consulting.example"}, "organization_id": {org}})
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		status, tk := token(t, issuer, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusOK, status, tk.Error)
		return tk
	}
	inAcme, inGlobex := signInTo(t, acme), signInTo(t, globex)
	assert.Equal(t, acme, claims(t, inAcme.AccessToken)["oid"])
	assert.Equal(t, []any{"project_manager"}, claims(t, inAcme.AccessToken)["roles"])
	assert.Equal(t, globex, claims(t, inGlobex.AccessToken)["oid"])
	assert.Equal(t, []any{"viewer"}, claims(t, inGlobex.AccessToken)["roles"])

	t.Run("without organization_id, the hint shows the chooser", func(t *testing.T) {
		resp, _ := authorize(t, issuer, url.Values{"login_hint": {"casey@consulting.example"}})
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	})
	t.Run("a refresh asking for Acme is refused; the Globex sign-in goes on", func(t *testing.T) {
		status, tk := token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {inGlobex.RefreshToken}, "organization_id": {acme}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", tk.Error)
		status, tk = token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {inGlobex.RefreshToken}})
		require.Equal(t, http.StatusOK, status, tk.Error)
		assert.Equal(t, globex, claims(t, tk.AccessToken)["oid"])
		inGlobex = tk
	})
	t.Run("roles change in the organization named, and there only", func(t *testing.T) {
		var e struct{ Error, Field string }
		require.Equal(t, http.StatusBadRequest, call(t, "PUT", ctl+"/users/"+caseyID+"/roles", map[string]any{"roles": []string{"viewer"}}, &e))
		assert.Equal(t, "organization_id", e.Field, "a member of several must name the organization")

		var got struct {
			Memberships []struct {
				OrganizationID string   `json:"organization_id"`
				Roles          []string `json:"roles"`
			}
		}
		require.Equal(t, http.StatusOK, call(t, "PUT", ctl+"/users/"+caseyID+"/roles", map[string]any{"organization_id": acme, "roles": []string{"viewer"}}, &got))
		require.Len(t, got.Memberships, 2)
		assert.Equal(t, []string{"viewer"}, got.Memberships[0].Roles)
		assert.Equal(t, []string{"viewer"}, got.Memberships[1].Roles)

		status, tk := token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {inAcme.RefreshToken}})
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, []any{"viewer"}, claims(t, tk.AccessToken)["roles"], "demoted in Acme")
		require.Equal(t, http.StatusOK, call(t, "PUT", ctl+"/users/"+caseyID+"/roles", map[string]any{"organization_id": globex, "roles": []string{"editor"}}, nil))
		status, tk = token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}})
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, []any{"viewer"}, claims(t, tk.AccessToken)["roles"], "Globex's promotion changes nothing in Acme")

		var minted tokens
		require.Equal(t, http.StatusOK, call(t, "POST", ctl+"/users/"+caseyID+"/token", map[string]any{"organization_id": globex}, &minted))
		assert.Equal(t, globex, claims(t, minted.AccessToken)["oid"])
		assert.Equal(t, []any{"editor"}, claims(t, minted.AccessToken)["roles"])
	})
}

func TestControlPlaneMemberships(t *testing.T) {
	needBinary(t)
	got, sinkURL := webhookSink(t)
	issuer := start(t, "-webhook-url", sinkURL, "-webhook-secret", testkit.WebhookSecret)
	ctl := issuer + "/_mock"
	orgOf := func(ev event) string { return ev.Data["organization"].(map[string]any)["id"].(string) }

	// Bob joins Globex as a viewer: a membership, told to Globex.
	var bob struct {
		Memberships []struct {
			OrganizationID   string   `json:"organization_id"`
			OrganizationName string   `json:"organization_name"`
			Roles            []string `json:"roles"`
		}
	}
	require.Equal(t, http.StatusCreated, call(t, "POST", ctl+"/users/"+bobID+"/memberships", map[string]any{"organization_id": globex, "roles": []string{"viewer"}}, &bob))
	require.Len(t, bob.Memberships, 2)
	assert.Equal(t, "Globex Inc", bob.Memberships[1].OrganizationName)
	ev := <-got
	assert.Equal(t, "user.organization_membership_created", ev.Type)
	assert.Equal(t, globex, ev.OrganizationID)
	assert.Equal(t, globex, orgOf(ev))

	require.Equal(t, http.StatusOK, call(t, "PUT", ctl+"/users/"+bobID+"/roles", map[string]any{"organization_id": globex, "roles": []string{"editor"}}, nil))
	ev = <-got
	assert.Equal(t, "user.organization_membership_updated", ev.Type)
	assert.Equal(t, globex, orgOf(ev), "the event names the organization of the change")

	require.Equal(t, http.StatusOK, call(t, "PATCH", ctl+"/users/"+bobID, map[string]any{"organization_id": acme, "roles": []string{"team_member"}}, nil))
	ev = <-got
	assert.Equal(t, "organization.directory.user_updated", ev.Type)
	assert.Equal(t, acme, ev.Data["organization_id"], "a change of Acme's roles goes to Acme's directory only")
	ev = <-got
	assert.Equal(t, "user.organization_membership_updated", ev.Type)
	assert.Equal(t, acme, orgOf(ev))

	// A user created in two organizations at once.
	var zoe map[string]any
	require.Equal(t, http.StatusCreated, call(t, "POST", ctl+"/users", map[string]any{"email": "zoe@consulting.example",
		"memberships": []map[string]any{{"organization_id": acme, "roles": []string{"viewer"}}, {"organization_id": globex, "roles": []string{"admin"}}}}, &zoe))
	assert.Equal(t, acme, zoe["organization_id"])
	for _, org := range []string{acme, globex} {
		ev := <-got
		assert.Equal(t, "organization.directory.user_created", ev.Type)
		assert.Equal(t, org, ev.Data["organization_id"], "one event per directory")
	}

	bad := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"roles of a member of several need the organization", "PUT", "/users/" + bobID + "/roles", `{"roles": ["viewer"]}`, 400, "organization_id"},
		{"roles in an organization the user is not in", "PUT", "/users/" + aliceID + "/roles", `{"organization_id": "` + globex + `", "roles": ["viewer"]}`, 404, "organization_id"},
		{"a role Globex does not have", "PUT", "/users/" + bobID + "/roles", `{"organization_id": "` + globex + `", "roles": ["root"]}`, 400, "roles"},
		{"a membership of an unknown organization", "POST", "/users/" + aliceID + "/memberships", `{"organization_id": "org_999"}`, 404, "organization_id"},
		{"a membership without an organization", "POST", "/users/" + aliceID + "/memberships", `{"roles": ["viewer"]}`, 400, "organization_id"},
		{"a membership with an unknown role", "POST", "/users/" + aliceID + "/memberships", `{"organization_id": "` + globex + `", "roles": ["root"]}`, 400, "roles"},
		{"a membership there is already", "POST", "/users/" + bobID + "/memberships", `{"organization_id": "` + globex + `"}`, 409, "organization_id"},
		{"a membership of an unknown user", "POST", "/users/usr_999/memberships", `{"organization_id": "` + globex + `"}`, 404, ""},
		{"the last membership", "DELETE", "/users/" + aliceID + "/memberships/" + acme, nil, 409, "organization_id"},
		{"a membership there is not", "DELETE", "/users/" + aliceID + "/memberships/" + globex, nil, 404, "organization_id"},
		{"a PATCH of roles of a member of several", "PATCH", "/users/" + bobID, `{"name": "Robert", "roles": ["viewer"]}`, 400, "organization_id"},
		{"both forms at once", "POST", "/users", `{"email": "y@x.example", "organization_id": "` + acme + `", "memberships": [{"organization_id": "` + globex + `"}]}`, 400, "memberships"},
		{"a token for an organization the user is not in", "POST", "/users/" + aliceID + "/token", `{"organization_id": "` + globex + `"}`, 404, "organization_id"},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			var e struct{ Error, Field string }
			assert.Equal(t, tt.status, call(t, tt.method, ctl+tt.path, tt.body, &e))
			assert.Equal(t, tt.field, e.Field)
			assert.NotEmpty(t, e.Error)
		})
	}
	// Nothing half-applied: Bob and Alice are as they were.
	var alice, bobNow map[string]any
	require.Equal(t, http.StatusOK, call(t, "GET", ctl+"/users/"+aliceID, nil, &alice))
	assert.Len(t, alice["memberships"], 1)
	require.Equal(t, http.StatusOK, call(t, "GET", ctl+"/users/"+bobID, nil, &bobNow))
	assert.Equal(t, "Bob Manager", bobNow["name"])
	assert.Equal(t, []any{
		map[string]any{"organization_id": acme, "organization_name": "Acme Corp", "roles": []any{"team_member"}},
		map[string]any{"organization_id": globex, "organization_name": "Globex Inc", "roles": []any{"editor"}},
	}, bobNow["memberships"])
	select {
	case ev := <-got:
		t.Errorf("a refused call sent %s", ev.Type)
	default:
	}

	// Bob leaves Globex: his sign-ins there end, Acme's go on.
	resp, verifier2 := authorize(t, issuer, url.Values{"login_hint": {"bob@acme.example"}, "organization_id": {globex}})
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	status, inGlobex := token(t, issuer, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier2}})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusOK, call(t, "DELETE", ctl+"/users/"+bobID+"/memberships/"+globex, nil, nil))
	ev = <-got
	assert.Equal(t, "user.organization_membership_deleted", ev.Type)
	assert.Equal(t, globex, orgOf(ev))
	status, _ = token(t, issuer, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {inGlobex.RefreshToken}})
	assert.Equal(t, http.StatusBadRequest, status, "the Globex sign-in is revoked")
	resp, _ = authorize(t, issuer, url.Values{"login_hint": {"bob@acme.example"}, "organization_id": {globex}})
	loc, _ = url.Parse(resp.Header.Get("Location"))
	assert.Equal(t, "access_denied", loc.Query().Get("error"), "no longer a member")
	assert.NotEmpty(t, signIn(t, issuer, "bob@acme.example").AccessToken, "one membership: straight in")
}

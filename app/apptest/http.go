package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// Response is an answer read whole: status, headers, body.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

// Send sends req with c and reads the answer.
func Send(t testing.TB, c *http.Client, req *http.Request) Response {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: string(data)}
}

// API calls the JSON API with a bearer token ("" sends none).
func (e *Env) API(token, method, path string, body any) Response {
	e.t.Helper()
	return e.APIAt(e.URL, token, method, path, body)
}

// APIAt is API on the app at base: one instance of several, say.
func (e *Env) APIAt(base, token, method, path string, body any) Response {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(e.t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, base+path, r)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return Send(e.t, http.DefaultClient, req)
}

// Decode parses a JSON response body.
func Decode[T any](t testing.TB, r Response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(r.Body), &v), "body: %s", r.Body)
	return v
}

// ParseHTML parses a page for CSS-selector checks.
func ParseHTML(t testing.TB, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	return doc
}

// Text is the trimmed text of the elements matching selector.
func Text(doc *goquery.Document, selector string) string {
	return strings.TrimSpace(doc.Find(selector).Text())
}

// Cookie is the cookie name set by the answer with headers h.
func Cookie(t testing.TB, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %q in %v", name, h.Values("Set-Cookie"))
	return nil
}

// MustURL parses s, failing the test if it is not a URL.
func MustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// Deliver posts a directory-sync event signed with secret at the given
// time, as Scalekit would.
func (e *Env) Deliver(t *testing.T, secret, id string, at time.Time, body string) Response {
	t.Helper()
	return e.DeliverAt(t, e.URL, secret, id, at, body)
}

// DeliverAt is Deliver to the app at base: one instance of several, say.
func (e *Env) DeliverAt(t *testing.T, base, secret, id string, at time.Time, body string) Response {
	t.Helper()
	req, err := WebhookRequest(base, secret, id, at, body)
	require.NoError(t, err)
	return Send(t, http.DefaultClient, req)
}

// WebhookRequest is body as a Standard Webhooks delivery to the app at
// base, signed with secret at the given time, as Scalekit sends them.
func WebhookRequest(base, secret, id string, at time.Time, body string) (*http.Request, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	sig, err := wh.Sign(id, at, []byte(body))
	if err != nil {
		return nil, fmt.Errorf("sign webhook: %w", err)
	}
	req, err := http.NewRequest("POST", base+"/webhooks/scalekit", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return req, nil
}

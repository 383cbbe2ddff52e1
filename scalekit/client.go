package scalekit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config configures a Client. EnvironmentURL, ClientID and ClientSecret
// are required; the rest have defaults.
type Config struct {
	EnvironmentURL string // e.g. https://yourapp.scalekit.dev, or the mock IdP's URL
	ClientID       string
	ClientSecret   string

	HTTPClient *http.Client  // default: a new client; Timeout below bounds each attempt
	Timeout    time.Duration // per attempt, token fetch included; default 30s
	MaxRetries int           // retries of a 429, 5xx or transport error; default 3, negative for none
	// Backoff says how long to wait before retry number attempt (1, 2, ...);
	// retryAfter is the server's Retry-After, 0 when absent. Default
	// DefaultBackoff. Tests pass one that does not sleep.
	Backoff func(attempt int, retryAfter time.Duration) time.Duration
}

// Client calls Scalekit's management API. It is safe for concurrent use.
type Client struct {
	base    string
	http    *http.Client
	creds   clientcredentials.Config
	timeout time.Duration
	retries int
	backoff func(int, time.Duration) time.Duration

	mu    sync.Mutex // guards token
	token *oauth2.Token
}

// New returns a client for one environment. It does not contact the server.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.EnvironmentURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("scalekit: environment URL %q must be an http(s) URL", cfg.EnvironmentURL)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("scalekit: client ID and client secret are required")
	}
	c := &Client{
		base:    base,
		http:    cfg.HTTPClient,
		timeout: cmp.Or(cfg.Timeout, 30*time.Second),
		retries: cmp.Or(cfg.MaxRetries, 3),
		backoff: cfg.Backoff,
		creds: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     base + "/oauth/token",
			// Scalekit reads the credentials from the form, not from Basic auth.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.retries < 0 {
		c.retries = 0
	}
	if c.backoff == nil {
		c.backoff = DefaultBackoff
	}
	return c, nil
}

// EnvironmentURL returns the environment the client talks to.
func (c *Client) EnvironmentURL() string { return c.base }

// DefaultBackoff waits about 250ms, 500ms, 1s, ... (at most 8s, with
// jitter so that several clients do not retry in step), or what the
// server's Retry-After asks, up to a minute.
func DefaultBackoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, time.Minute)
	}
	d := min(250*time.Millisecond<<min(attempt-1, 5), 8*time.Second)
	return d/2 + rand.N(d/2+1)
}

// accessToken returns a valid management token, fetching a new one when
// the cached one is missing or about to expire.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token.Valid() {
		return c.token.AccessToken, nil
	}
	tok, err := c.creds.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			e := &APIError{Method: http.MethodPost, Path: "/oauth/token", Status: re.Response.StatusCode,
				ErrorCode: re.ErrorCode, Message: strings.Trim(re.ErrorCode+": "+re.ErrorDescription, ": ")}
			if re.ErrorCode == "invalid_client" {
				e.Code = codeUnauthenticated // whatever the status, the credentials are wrong
			}
			return "", fmt.Errorf("get management token: %w", e)
		}
		return "", fmt.Errorf("get management token: %w", err)
	}
	c.token = tok
	return tok.AccessToken, nil
}

// forgetToken drops the cached token, so that the next call fetches one.
func (c *Client) forgetToken() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = nil
}

// response is one attempt's answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with in as its JSON body (nil for none) and decodes a
// 2xx answer into out (nil to ignore it). It retries 429, 5xx and
// transport errors, and a 401 once with a fresh token.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	refreshed := false
	for attempt := 0; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, c.timeout)
		tok, err := c.accessToken(tctx)
		cancel()
		if err != nil {
			return err
		}
		resp, err := c.once(ctx, method, target, tok, body)
		var retryAfter time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case err != nil:
			// A transport error or this attempt's timeout: worth another try.
		case resp.status >= 200 && resp.status < 300:
			if out == nil || len(bytes.TrimSpace(resp.body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(resp.body, out); err != nil {
				return fmt.Errorf("%s %s: decode response: %w", method, path, err)
			}
			if d, ok := out.(dated); ok {
				d.setDate(serverDate(resp.header))
			}
			return nil
		case resp.status == http.StatusUnauthorized && !refreshed:
			// The cached token may have been revoked or expired early.
			c.forgetToken()
			refreshed = true
			attempt--
			continue
		case resp.status == http.StatusTooManyRequests || resp.status >= 500:
			err = decodeError(method, path, resp.status, resp.body)
			retryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
		default:
			return decodeError(method, path, resp.status, resp.body)
		}
		if attempt >= c.retries {
			if _, ok := err.(*APIError); ok {
				return err
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if err := sleep(ctx, c.backoff(attempt+1, retryAfter)); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
}

// once makes one attempt, bounded by the client's timeout.
func (c *Client) once(ctx context.Context, method, target, token string, body []byte) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// dated is a response that keeps the server's date of the answer.
type dated interface{ setDate(time.Time) }

// serverDate is the answer's Date header, zero when absent or malformed.
func serverDate(h http.Header) time.Time {
	t, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// seg escapes one path segment (a role or permission name, an ID).
func seg(s string) string { return url.PathEscape(s) }

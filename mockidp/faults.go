package mockidp

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scripted faults and the request log: what lets a test ask "what does my
// app do when the token endpoint answers 500 twice" and "what did my app
// send", from any language.

// Endpoints a fault can name. "token" matches every grant; "token:<grant>"
// one grant type, read from the request's form.
var faultEndpoints = []string{
	"discovery", "keys", "authorize", "token", "token:authorization_code", "token:refresh_token",
	"token:client_credentials", "userinfo", "logout", "management", "dev_token",
}

// Fault is a scripted failure of one endpoint for its next Count calls.
// With Drop the connection is closed with no answer; otherwise, after
// Delay, a Status (0: none, the real answer follows the delay) is written
// with Body (default: an OAuth-style JSON error) and ContentType (default
// application/json).
type Fault struct {
	Endpoint    string
	Count       int
	Status      int
	Body        string
	ContentType string
	Delay       time.Duration
	Drop        bool
}

type faultState struct {
	Fault
	left int
}

// maxLogged bounds the request log: a long run keeps the newest.
const maxLogged = 1000

// LoggedRequest is one request the mock served, with its secrets replaced
// by "[redacted]": the log shows that a secret was sent, never its value.
type LoggedRequest struct {
	Time     time.Time           `json:"time"`
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Endpoint string              `json:"endpoint"` // as faults name it; "" for other paths
	Query    map[string][]string `json:"query,omitempty"`
	Form     map[string][]string `json:"form,omitempty"`
	Headers  map[string]string   `json:"headers,omitempty"`
	Body     string              `json:"body,omitempty"` // a JSON body (management API), cut at 4 KB
	Status   int                 `json:"status"`         // 0: the connection was dropped
	Fault    bool                `json:"fault"`          // a scripted fault answered
}

// secretParams are the form and query parameters the log never shows.
var secretParams = []string{
	"client_secret", "code", "code_verifier", "refresh_token", "access_token", "id_token", "id_token_hint", "token", "password",
}

// secretHeaders are redacted too; Authorization keeps its scheme, so that
// a test can assert which client authentication the app used.
var secretHeaders = []string{"Authorization", "Cookie", "Set-Cookie"}

// InjectFault scripts f. Faults on the same endpoint apply in the order
// they were added, each for its count.
func (s *Server) InjectFault(f Fault) error {
	switch {
	case !slices.Contains(faultEndpoints, f.Endpoint):
		return &FieldError{"endpoint", "must be one of " + strings.Join(faultEndpoints, ", ")}
	case f.Count < 1:
		return &FieldError{"count", "must be at least 1"}
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		return &FieldError{"status", "must be an HTTP status (100-599)"}
	case f.Status == 0 && !f.Drop && f.Delay <= 0:
		return &FieldError{"status", "a fault needs a status, drop or a delay"}
	case f.Delay < 0 || f.Delay > time.Minute:
		return &FieldError{"delay_ms", "must be between 0 and 60000"}
	}
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.faults = append(s.ctl.faults, &faultState{Fault: f, left: f.Count})
	return nil
}

// Faults returns the scripted faults not yet spent, with how many calls
// each still applies to.
func (s *Server) Faults() []Fault {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	out := make([]Fault, 0, len(s.ctl.faults))
	for _, f := range s.ctl.faults {
		g := f.Fault
		g.Count = f.left
		out = append(out, g)
	}
	return out
}

// ClearFaults removes every scripted fault.
func (s *Server) ClearFaults() {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.faults = nil
}

// Requests returns the request log, oldest first. Control-plane calls are
// not in it: it shows what the app sent.
func (s *Server) Requests() []LoggedRequest {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	return slices.Clone(s.ctl.requests)
}

// ClearRequests empties the request log.
func (s *Server) ClearRequests() {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.requests = nil
}

// takeFault spends one call of the first fault matching endpoint.
func (s *Server) takeFault(endpoint string) *Fault {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	for i, f := range s.ctl.faults {
		if f.Endpoint == endpoint || (f.Endpoint == "token" && strings.HasPrefix(endpoint, "token:")) {
			f.left--
			if f.left <= 0 {
				s.ctl.faults = slices.Delete(s.ctl.faults, i, i+1)
			}
			g := f.Fault
			return &g
		}
	}
	return nil
}

// observe wraps the endpoints: it names the endpoint of each request,
// applies a scripted fault, and logs the request with its answer.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, s.prefix)
		if strings.HasPrefix(path, controlPath+"/") || path == controlPath {
			next.ServeHTTP(w, r) // the test's own calls: neither faulted nor logged
			return
		}
		rec := LoggedRequest{Time: s.now().UTC(), Method: r.Method, Path: r.URL.Path, Query: redactValues(r.URL.Query()), Headers: redactHeaders(r.Header)}
		body := peekBody(r)
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if form, err := url.ParseQuery(string(body)); err == nil {
				rec.Form = redactValues(form)
			}
		} else if len(body) > 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			rec.Body = string(body[:min(len(body), 4<<10)])
		}
		rec.Endpoint = endpointOf(path, rec.Form)
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.logRequest(rec, sw.status) }()
		if f := s.takeFault(rec.Endpoint); f != nil {
			rec.Fault = true
			s.log.Info("mock idp applied a scripted fault", "endpoint", rec.Endpoint, "status", f.Status, "drop", f.Drop, "delay", f.Delay)
			if !s.applyFault(sw, r, f) {
				return
			}
		}
		next.ServeHTTP(sw, r)
	})
}

// applyFault answers r as f says. It returns true when the real handler
// should still answer (a delay alone).
func (s *Server) applyFault(w *statusWriter, r *http.Request, f *Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	}
	if f.Drop {
		if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
		// No hijacking (HTTP/2, a recorder): abort the handler, which the
		// server turns into a reset stream or a closed connection.
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return true
	}
	body, ctype := f.Body, f.ContentType
	if body == "" {
		body = fmt.Sprintf(`{"error":"server_error","error_description":"scripted fault: %d"}`, f.Status)
	}
	if ctype == "" {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, body)
	return false
}

func (s *Server) logRequest(rec LoggedRequest, status int) {
	rec.Status = status
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	if len(s.ctl.requests) >= maxLogged {
		s.ctl.requests = slices.Delete(s.ctl.requests, 0, len(s.ctl.requests)-maxLogged+1)
	}
	s.ctl.requests = append(s.ctl.requests, rec)
}

// endpointOf names the endpoint of a path below the issuer.
func endpointOf(path string, form map[string][]string) string {
	switch {
	case path == "/.well-known/openid-configuration":
		return "discovery"
	case path == "/keys":
		return "keys"
	case path == "/oauth/authorize":
		return "authorize"
	case path == "/oauth/token":
		if g := form["grant_type"]; len(g) == 1 {
			return "token:" + g[0]
		}
		return "token:"
	case path == "/userinfo":
		return "userinfo"
	case path == "/oidc/logout":
		return "logout"
	case strings.HasPrefix(path, "/api/"):
		return "management"
	case path == "/dev/token":
		return "dev_token"
	}
	return ""
}

// peekBody reads up to 64 KB of the body and puts it back for the handler.
func peekBody(r *http.Request) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if err != nil {
		return nil
	}
	return body
}

type readCloser struct {
	io.Reader
	io.Closer
}

func redactValues(v url.Values) map[string][]string {
	if len(v) == 0 {
		return nil
	}
	out := map[string][]string{}
	for k, vs := range v {
		if slices.Contains(secretParams, k) {
			vs = slices.Repeat([]string{"[redacted]"}, len(vs))
		}
		out[k] = slices.Clone(vs)
	}
	return out
}

func redactHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if slices.Contains(secretHeaders, k) {
			scheme, _, found := strings.Cut(v, " ")
			v = "[redacted]"
			if k == "Authorization" && found {
				v = scheme + " [redacted]"
			}
		}
		out[k] = v
	}
	return out
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

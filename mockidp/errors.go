package mockidp

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// The three ways the mock IdP reports an error, one per audience. A handler
// returns one of them and handle turns it into the response.

// pageError is shown to the person in the browser. Authorize uses it when it
// cannot trust the redirect URI, because redirecting to an unvalidated URI
// would make the IdP an open redirector.
type pageError struct {
	status  int
	title   string
	message string // a sentence that says what to do next
}

func (e *pageError) Error() string { return e.title }

// redirectError sends an authorization error back to the client (RFC 6749
// section 4.1.2.1). Only use it once redirectURI is known to be registered.
type redirectError struct {
	redirectURI string
	state       string
	code        string
	description string
}

func (e *redirectError) Error() string { return e.code + ": " + e.description }

// oauthError is a JSON error of the token or userinfo endpoint (RFC 6749
// section 5.2, RFC 6750 section 3).
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidGrant(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", description}
}

func invalidRequest(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", description}
}

// handle adapts an action that returns an error to an http.HandlerFunc.
// This is the one place errors become responses.
func (s *Server) handle(action func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := action(w, r)
		if err == nil {
			return
		}
		var (
			page     *pageError
			redirect *redirectError
			oauth    *oauthError
		)
		switch {
		case errors.As(err, &redirect):
			s.log.Debug("mock idp refused an authorization", "error", redirect.code, "reason", redirect.description)
			s.redirect(w, r, redirect.redirectURI, url.Values{
				"error":             {redirect.code},
				"error_description": {redirect.description},
				"state":             {redirect.state},
				"iss":               {s.issuer}, // RFC 9207, as on success
			})
		case errors.As(err, &oauth):
			s.log.Debug("mock idp refused a request", "path", r.URL.Path, "error", oauth.code, "reason", oauth.description)
			writeOAuthError(w, oauth)
		case errors.As(err, &page):
			s.log.Debug("mock idp refused a request", "path", r.URL.Path, "reason", page.title)
			s.renderMessage(w, page.status, page.title, page.message)
		default:
			// The detail goes to the log only: it may name internals.
			s.log.Error("mock idp failed", "path", r.URL.Path, "error", err)
			s.renderMessage(w, http.StatusInternalServerError, "Something went wrong",
				"The mock identity provider failed. Check its log, then try again.")
		}
	}
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	switch {
	case e.code == "invalid_token":
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case e.status == http.StatusUnauthorized:
		// RFC 6749 section 5.2: a 401 for a failed client authentication
		// names the scheme the client may use.
		w.Header().Set("WWW-Authenticate", `Basic realm="mockidp"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// writeJSON writes v with no-store caching: token responses must never be
// kept by a cache (RFC 6749 section 5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// redirect sends the browser back to a client's registered URI with the
// non-empty params added to its query.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		// Registered URIs were parsed when they were matched; this cannot happen.
		s.renderMessage(w, http.StatusInternalServerError, "Bad redirect URI", "The client's redirect URI cannot be parsed.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

package app

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/internal/plaintext"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/session"
)

// statusClientClosed is logged for a request whose client went away: 499
// is the access log's word for it, as in nginx.
const statusClientClosed = 499

var (
	errCrossOrigin      = errors.New("cross-origin request refused")
	errMethodNotAllowed = errors.New("method not allowed")
	errPanic            = errors.New("internal error")
)

// apiError is the JSON error body, shaped like Scalekit's OAuth errors.
type apiError struct {
	Error              string `json:"error"`
	Description        string `json:"error_description"`
	RequiredPermission string `json:"required_permission,omitempty"`
	Field              string `json:"field,omitempty"`
	RequestID          string `json:"request_id,omitempty"` // for a server error: quote it to whoever runs the app
}

// errorPage is the data of the error page.
type errorPage struct {
	Status      int
	Heading     string
	Message     string
	Requirement string   // what a denied gate wanted, in words
	Roles       []string // the caller's roles, for a 403
	SignIn      string   // a sign-in link, when signing in would help
	Reference   string   // the request id, for a server error
}

// answer is what an error becomes: a status, an OAuth-style code, the
// words for a page or a JSON body, and the challenge of a 401 or 403.
type answer struct {
	status    int
	code      string
	challenge string        // the WWW-Authenticate header, if any
	signIn    bool          // a signed-out visitor: a page sends them to sign in
	retry     time.Duration // the Retry-After of a 503: when the same request may pass
	page      errorPage
	body      apiError
}

// explain is the one place where errors become answers. Messages are
// written here, for the user; err.Error() never reaches a response, and
// details of unexpected errors go only to the log. ok is false when there
// is nobody left to answer.
func (a *App) explain(r *http.Request, err error) (ans answer, ok bool) {
	var (
		denied   *auth.DeniedError
		tokErr   *auth.TokenError
		input    *problem.InputError
		conflict *problem.ConflictError
		busy     *problem.BusyError
		signIn   *session.SignInError
	)
	page, body := &ans.page, &ans.body
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away: nobody reads the answer, and it is not a
		// server error (a flood of dropped connections must not fill the
		// error log).
		a.log.InfoContext(r.Context(), "client went away before the answer", "method", r.Method)
		return ans, false
	case errors.As(err, &denied):
		ans.status, ans.code = http.StatusForbidden, "insufficient_scope"
		page.Heading = "You don't have access to this"
		page.Message = "This action requires " + denied.Requirement() + ". Ask an admin of your organization for a role that grants it."
		page.Requirement, page.Roles = denied.Requirement(), denied.Have
		body.RequiredPermission = string(denied.Permission)
		if denied.Permission != "" {
			ans.challenge = `Bearer error="insufficient_scope", scope="` + string(denied.Permission) + `"`
		}
	case errors.As(err, &signIn):
		// Before the token cases: a sign-in refused for its access token
		// wraps the *TokenError, yet it is a failed sign-in, not a session
		// that ended.
		ans.status, ans.code = http.StatusBadRequest, "sign_in_failed"
		page.Heading, page.Message = "Sign-in failed", signIn.Reason
		page.SignIn = "/login"
		a.log.InfoContext(r.Context(), "sign-in failed", "reason", signIn.Reason, "err", signIn.Err)
	case errors.As(err, &tokErr):
		ans.status, ans.code = http.StatusUnauthorized, "invalid_token"
		page.Heading, page.Message = "Please sign in again", "Your session has ended."
		body.Description = tokErr.Reason
		ans.challenge = `Bearer error="invalid_token", error_description="` + tokErr.Reason + `"`
	case errors.Is(err, auth.ErrUnauthenticated):
		ans.status, ans.code, ans.signIn = http.StatusUnauthorized, "unauthorized", true
		page.Heading, page.Message = "Please sign in", "You need to be signed in to do this."
		ans.challenge = `Bearer realm="api"`
	case errors.Is(err, auth.ErrMalformedAuthorization):
		ans.status, ans.code = http.StatusBadRequest, "invalid_request"
		page.Heading, page.Message = "Bad request", `The Authorization header must be "Bearer <access token>".`
		ans.challenge = `Bearer error="invalid_request"`
	case errors.Is(err, auth.ErrIdPUnreachable):
		ans.status, ans.code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading = "Identity provider unreachable"
		page.Message = "We cannot reach the identity provider right now, so we cannot sign you in or renew your session. Try again in a minute."
		a.log.WarnContext(r.Context(), "identity provider unreachable", "err", err)
	case errors.As(err, &busy):
		// Held up behind another request (perhaps of an instance that
		// crashed, whose lease has yet to lapse): say when to come back
		// rather than keep the client waiting past its own timeout.
		ans.status, ans.code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading, page.Message = "Busy", busy.Message
		ans.retry = busy.RetryAfter
		a.log.WarnContext(r.Context(), "request gave up waiting", "err", err)
	case databaseUnavailable(err):
		// The database went away (restarted, failed over, unreachable):
		// every instance is in the same state, and the pool reconnects by
		// itself once it is back. Retrying is the answer, not a 500.
		ans.status, ans.code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading = "Temporarily unavailable"
		page.Message = "The app cannot reach its database right now. Try again in a few seconds."
		ans.retry = databaseRetryAfter
		a.log.WarnContext(r.Context(), "database unavailable", "method", plaintext.Cut(r.Method, maxLoggedMethod), "path", logPath(r), "err", err)
	case errors.Is(err, context.DeadlineExceeded):
		// The request ran out of its own deadline waiting for something
		// shared (a lease another instance holds, a slow database): the
		// same request may pass in a moment, so say so rather than 500.
		ans.status, ans.code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading = "Temporarily unavailable"
		page.Message = "This took too long: something it waits for is busy. Try again in a few seconds."
		ans.retry = databaseRetryAfter
		a.log.WarnContext(r.Context(), "request ran out of time", "method", plaintext.Cut(r.Method, maxLoggedMethod), "path", logPath(r), "err", err)
	case errors.As(err, &input):
		ans.status, ans.code = http.StatusBadRequest, "invalid_request"
		page.Heading, page.Message = "That didn't work", input.Message
		body.Field = input.Field
	case errors.Is(err, problem.ErrNotFound):
		ans.status, ans.code = http.StatusNotFound, "not_found"
		page.Heading, page.Message = "Not found", "There is nothing here, or it belongs to another organization."
	case errors.As(err, &conflict):
		ans.status, ans.code = http.StatusConflict, "conflict"
		page.Heading, page.Message = "That can't be done", conflict.Message
	case errors.Is(err, problem.ErrConflict):
		ans.status, ans.code = http.StatusConflict, "conflict"
		page.Heading, page.Message = "Conflict", "The request conflicts with the current state; reload and try again."
	case errors.Is(err, errCrossOrigin):
		ans.status, ans.code = http.StatusForbidden, "cross_origin_request"
		page.Heading, page.Message = "Request refused", "This form was submitted from another site, so it was refused. Use the app's own pages."
	case errors.Is(err, errMethodNotAllowed):
		ans.status, ans.code = http.StatusMethodNotAllowed, "method_not_allowed"
		page.Heading, page.Message = "Method not allowed", "This address does not accept "+plaintext.Cut(r.Method, maxLoggedMethod)+"."
	default:
		ans.status, ans.code = http.StatusInternalServerError, "server_error"
		page.Heading, page.Message = "Something went wrong", "An unexpected error occurred. It has been logged; please try again."
		a.log.ErrorContext(r.Context(), "request failed", "method", plaintext.Cut(r.Method, maxLoggedMethod), "path", logPath(r), "err", err)
	}
	if ans.status >= 500 {
		page.Reference = requestID(r.Context())
		body.RequestID = page.Reference
	}
	if ans.status == http.StatusUnauthorized {
		page.SignIn = "/login"
	}
	page.Status = ans.status
	return ans, true
}

// setHeaders writes the answer's challenge and Retry-After, if any.
func (ans answer) setHeaders(w http.ResponseWriter) {
	if ans.challenge != "" {
		w.Header().Set("WWW-Authenticate", ans.challenge)
	}
	if ans.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(ans.retry, time.Second).Round(time.Second).Seconds())))
	}
}

// failJSON answers an error with a JSON body: the error writer of the API
// and of the routes whose senders sign their requests.
func (a *App) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	ans, ok := a.explain(r, err)
	if !ok {
		w.WriteHeader(statusClientClosed)
		return
	}
	ans.setHeaders(w)
	ans.body.Error = ans.code
	if ans.body.Description == "" {
		ans.body.Description = ans.page.Message
	}
	_ = render.WriteJSON(w, ans.status, ans.body)
}

// failPage answers an error with a page: the error writer of the browser's
// routes. A signed-out visitor of a protected page is sent to sign in and
// brought back.
func (a *App) failPage(w http.ResponseWriter, r *http.Request, err error) {
	ans, ok := a.explain(r, err)
	if !ok {
		w.WriteHeader(statusClientClosed)
		return
	}
	if ans.signIn && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	ans.setHeaders(w)
	if err := a.render.Page(w, r, ans.status, "error", ans.page.Heading, ans.page); err != nil {
		a.log.ErrorContext(r.Context(), "render error page", "err", err)
		http.Error(w, ans.page.Message, ans.status)
	}
}

// databaseRetryAfter is the Retry-After of an answer refused because the
// database is unreachable: about what a restart or a failover takes.
const databaseRetryAfter = 5 * time.Second

// databaseUnavailable reports whether err means the database could not be
// reached or dropped the connection, rather than refusing a statement:
// the one place that tells an outage (503, retry) from a bug (500).
func databaseUnavailable(err error) bool {
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		netErr  *net.OpError
	)
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08 is connection exceptions; 57P01-57P03 are the server
		// shutting down (admin, crash) or not accepting connections yet.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// A connection that died mid-answer (the server killed) surfaces as
	// the I/O error pgx read.
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// levelFor picks the access-log level of a status.
func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

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
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
)

// statusClientClosed is logged for a request whose client went away.
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

// fail is the one place where errors become responses: a JSON body for the
// API, a page for the browser. Messages are written here, for the user;
// err.Error() never reaches a response, and details of unexpected errors
// go only to the log.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	// The API and webhooks answer JSON; everything else is a page.
	api := strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/webhooks/")
	var (
		denied   *auth.DeniedError
		tokErr   *auth.TokenError
		input    *problem.InputError
		conflict *problem.ConflictError
		busy     *problem.BusyError
		signIn   *auth.SignInError
		status   int
		code     string
		page     = errorPage{}
		apiBody  apiError
	)
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away: nobody reads the answer, and it is not a
		// server error (a flood of dropped connections must not fill the
		// error log). 499 is the access log's word for it, as in nginx.
		a.log.InfoContext(r.Context(), "client went away before the answer", "method", r.Method)
		w.WriteHeader(statusClientClosed)
		return
	case errors.As(err, &denied):
		status, code = http.StatusForbidden, "insufficient_scope"
		page.Heading = "You don't have access to this"
		page.Message = "This action requires " + denied.Requirement() + ". Ask an admin of your organization for a role that grants it."
		page.Requirement, page.Roles = denied.Requirement(), denied.Have
		apiBody.RequiredPermission = denied.Permission
		if denied.Permission != "" {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+denied.Permission+`"`)
		}
	case errors.As(err, &signIn):
		// Before the token cases: a sign-in refused for its access token
		// wraps the *TokenError, yet it is a failed sign-in, not a session
		// that ended.
		status, code = http.StatusBadRequest, "sign_in_failed"
		page.Heading, page.Message = "Sign-in failed", signIn.Reason
		a.log.InfoContext(r.Context(), "sign-in failed", "reason", signIn.Reason, "err", signIn.Err)
	case errors.As(err, &tokErr):
		status, code = http.StatusUnauthorized, "invalid_token"
		page.Heading, page.Message = "Please sign in again", "Your session has ended."
		apiBody.Description = tokErr.Reason
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+tokErr.Reason+`"`)
	case errors.Is(err, auth.ErrUnauthenticated):
		if !api && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			// A signed-out visitor of a protected page signs in and comes back.
			http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		status, code = http.StatusUnauthorized, "unauthorized"
		page.Heading, page.Message = "Please sign in", "You need to be signed in to do this."
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	case errors.Is(err, auth.ErrMalformedAuthorization):
		status, code = http.StatusBadRequest, "invalid_request"
		page.Heading, page.Message = "Bad request", `The Authorization header must be "Bearer <access token>".`
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
	case errors.Is(err, auth.ErrIdPUnreachable):
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading = "Identity provider unreachable"
		page.Message = "We cannot reach the identity provider right now, so we cannot sign you in or renew your session. Try again in a minute."
		a.log.WarnContext(r.Context(), "identity provider unreachable", "err", err)
	case errors.As(err, &busy):
		// Held up behind another request (perhaps of an instance that
		// crashed, whose lease has yet to lapse): say when to come back
		// rather than keep the client waiting past its own timeout.
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading, page.Message = "Busy", busy.Message
		w.Header().Set("Retry-After", strconv.Itoa(int(max(busy.RetryAfter, time.Second).Round(time.Second).Seconds())))
		a.log.WarnContext(r.Context(), "request gave up waiting", "err", err)
	case databaseUnavailable(err):
		// The database went away (restarted, failed over, unreachable):
		// every instance is in the same state, and the pool reconnects by
		// itself once it is back. Retrying is the answer, not a 500.
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading = "Temporarily unavailable"
		page.Message = "The app cannot reach its database right now. Try again in a few seconds."
		w.Header().Set("Retry-After", strconv.Itoa(int(databaseRetryAfter.Seconds())))
		a.log.WarnContext(r.Context(), "database unavailable", "method", capped(r.Method, maxLoggedMethod), "path", logPath(r), "err", err)
	case errors.Is(err, context.DeadlineExceeded):
		// The request ran out of its own deadline waiting for something
		// shared (a lease another instance holds, a slow database): the
		// same request may pass in a moment, so say so rather than 500.
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
		page.Heading = "Temporarily unavailable"
		page.Message = "This took too long: something it waits for is busy. Try again in a few seconds."
		w.Header().Set("Retry-After", strconv.Itoa(int(databaseRetryAfter.Seconds())))
		a.log.WarnContext(r.Context(), "request ran out of time", "method", capped(r.Method, maxLoggedMethod), "path", logPath(r), "err", err)
	case errors.As(err, &input):
		status, code = http.StatusBadRequest, "invalid_request"
		page.Heading, page.Message = "That didn't work", input.Message
		apiBody.Field = input.Field
	case errors.Is(err, problem.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
		page.Heading, page.Message = "Not found", "There is nothing here, or it belongs to another organization."
	case errors.As(err, &conflict):
		status, code = http.StatusConflict, "conflict"
		page.Heading, page.Message = "That can't be done", conflict.Message
	case errors.Is(err, problem.ErrConflict):
		status, code = http.StatusConflict, "conflict"
		page.Heading, page.Message = "Conflict", "The request conflicts with the current state; reload and try again."
	case errors.Is(err, errCrossOrigin):
		status, code = http.StatusForbidden, "cross_origin_request"
		page.Heading, page.Message = "Request refused", "This form was submitted from another site, so it was refused. Use the app's own pages."
	case errors.Is(err, errMethodNotAllowed):
		status, code = http.StatusMethodNotAllowed, "method_not_allowed"
		page.Heading, page.Message = "Method not allowed", "This address does not accept "+capped(r.Method, maxLoggedMethod)+"."
	default:
		status, code = http.StatusInternalServerError, "server_error"
		page.Heading, page.Message = "Something went wrong", "An unexpected error occurred. It has been logged; please try again."
		a.log.ErrorContext(r.Context(), "request failed", "method", capped(r.Method, maxLoggedMethod), "path", logPath(r), "err", err)
	}
	if status >= 500 {
		page.Reference = requestID(r.Context())
		apiBody.RequestID = page.Reference
	}
	if api {
		apiBody.Error = code
		if apiBody.Description == "" {
			apiBody.Description = page.Message
		}
		_ = render.WriteJSON(w, status, apiBody)
		return
	}
	page.Status = status
	if status == http.StatusUnauthorized || errors.As(err, &signIn) {
		page.SignIn = "/login"
	}
	if err := a.render.Page(w, r, status, "error", page.Heading, page); err != nil {
		a.log.ErrorContext(r.Context(), "render error page", "err", err)
		http.Error(w, page.Message, status)
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

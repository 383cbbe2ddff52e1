package scalekit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels an *APIError matches with errors.Is, by HTTP status or by the
// gRPC code in Scalekit's error body.
var (
	// ErrNotFound: 404, or gRPC NOT_FOUND.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: 409, gRPC ALREADY_EXISTS, or Scalekit's 400
	// "duplicate key not allowed". The wording is a hint, not a contract:
	// after a failed create, reading the item back says whether it exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnauthenticated: 401, gRPC UNAUTHENTICATED, or credentials the token endpoint refused.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied: 403, or gRPC PERMISSION_DENIED.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrInvalid: 400 or gRPC INVALID_ARGUMENT (APIError.Violations says which fields).
	ErrInvalid = errors.New("invalid request")
	// ErrRateLimited: 429, or gRPC RESOURCE_EXHAUSTED, once the retries ran out.
	ErrRateLimited = errors.New("rate limited")
)

// gRPC status codes Scalekit puts in the "code" field of its error body.
const (
	codeInvalidArgument   = 3
	codeNotFound          = 5
	codeAlreadyExists     = 6
	codePermissionDenied  = 7
	codeResourceExhausted = 8
	codeUnauthenticated   = 16
)

// APIError is an error answered by the management API: the HTTP status and
// what Scalekit's error body says.
type APIError struct {
	Method, Path string // the request, without query (it carries no secret, but may be long)
	Status       int    // HTTP status
	Code         int    // gRPC status code from the body; 0 when absent
	ErrorCode    string // details[].error_code, e.g. "INVALID_ARGUMENT"
	Message      string // the server's message
	Violations   []FieldViolation
}

// FieldViolation names a request field the server refused, and why.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
	Constraint  string `json:"constraint,omitempty"`
}

// Error reads like "POST /api/v1/roles: 409 Conflict: role already exists".
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "; %s: %s", v.Field, v.Description)
	}
	return b.String()
}

// Is matches the sentinels. Scalekit answers a duplicate with 400
// "duplicate key not allowed" rather than 409, so that one counts as
// ErrAlreadyExists and not as ErrInvalid. Apply does not rely on this: it
// reads the item back after any 400 on a create.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Code == codeNotFound
	case ErrAlreadyExists:
		return e.Status == http.StatusConflict || e.Code == codeAlreadyExists || e.duplicateKey()
	case ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized || e.Code == codeUnauthenticated
	case ErrPermissionDenied:
		return e.Status == http.StatusForbidden || e.Code == codePermissionDenied
	case ErrInvalid:
		return (e.Status == http.StatusBadRequest || e.Code == codeInvalidArgument) && !e.duplicateKey()
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests || e.Code == codeResourceExhausted
	}
	return false
}

func (e *APIError) duplicateKey() bool {
	return e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "duplicate key")
}

// errorBody is Scalekit's error body, a google.rpc.Status in JSON:
// {"code": 6, "message": "...", "details": [{"@type": "...ErrorInfo",
// "error_code": "...", "validation_error_info": {"field_violations": [...]}}]}.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		ErrorCode           string `json:"error_code"`
		ValidationErrorInfo struct {
			FieldViolations []FieldViolation `json:"field_violations"`
		} `json:"validation_error_info"`
		// google.rpc.BadRequest puts the violations at the top of a detail.
		FieldViolations []FieldViolation `json:"field_violations"`
	} `json:"details"`
	// Some gateways answer {"error": "...", "error_description": "..."}.
	OAuthError       string `json:"error"`
	OAuthDescription string `json:"error_description"`
}

// decodeError turns a non-2xx response body into an *APIError. A body that
// is not Scalekit's JSON (a proxy's HTML page, say) still yields the status
// and a short excerpt, never the whole page.
func decodeError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var b errorBody
	if err := json.Unmarshal(body, &b); err != nil {
		e.Message = excerpt(body)
		return e
	}
	e.Code, e.Message = b.Code, b.Message
	if e.Message == "" {
		e.Message = strings.TrimSpace(b.OAuthError + ": " + b.OAuthDescription)
		e.Message = strings.Trim(e.Message, ": ")
	}
	for _, d := range b.Details {
		if e.ErrorCode == "" {
			e.ErrorCode = d.ErrorCode
		}
		e.Violations = append(e.Violations, d.ValidationErrorInfo.FieldViolations...)
		e.Violations = append(e.Violations, d.FieldViolations...)
	}
	return e
}

func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

package mockidp

import (
	"fmt"
	"net/http"
	"regexp"
)

// gRPC status codes, which Scalekit's error body carries in "code".
const (
	codeInvalidArgument    = 3
	codeNotFound           = 5
	codeAlreadyExists      = 6
	codePermissionDenied   = 7
	codeResourceExhausted  = 8
	codeFailedPrecondition = 9
	codeInternal           = 13
	codeUnavailable        = 14
	codeUnauthenticated    = 16
)

// codeNames are the gRPC code names, which Scalekit repeats as error_code.
var codeNames = map[int]string{
	codeInvalidArgument: "INVALID_ARGUMENT", codeNotFound: "NOT_FOUND", codeAlreadyExists: "ALREADY_EXISTS",
	codePermissionDenied: "PERMISSION_DENIED", codeResourceExhausted: "RESOURCE_EXHAUSTED",
	codeFailedPrecondition: "FAILED_PRECONDITION", codeInternal: "INTERNAL", codeUnavailable: "UNAVAILABLE",
	codeUnauthenticated: "UNAUTHENTICATED",
}

// Name rules of Scalekit's management API (protovalidate patterns).
var (
	permissionNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_:]{1,64}$`)
	roleNamePattern       = regexp.MustCompile(`^[a-zA-Z0-9_]{1,64}$`)
)

// fieldViolation is one refused field of a request.
type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
	Constraint  string `json:"constraint,omitempty"`
}

// apiError is an error of the management API. It is written as Scalekit
// writes errors: a google.rpc.Status with one ErrorInfo detail.
type apiError struct {
	status     int
	code       int
	message    string
	violations []fieldViolation
}

func (e *apiError) Error() string { return e.message }

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf(format, args...), nil}
}

// duplicateKey is Scalekit's answer to creating what exists already: a bad
// request (gRPC INVALID_ARGUMENT) naming no field, not a 409 (its SDKs'
// tests expect exactly this). A client tells it from other bad requests by
// reading the item back.
func duplicateKey() *apiError {
	return &apiError{http.StatusBadRequest, codeInvalidArgument, "duplicate key not allowed", nil}
}

// scalekitOwned refuses to change or delete one of Scalekit's own
// permissions.
func scalekitOwned(name string) *apiError {
	return failedPrecondition("Permission %q belongs to Scalekit and cannot be changed or deleted.", name)
}

func invalidArgument(message string, violations ...fieldViolation) *apiError {
	return &apiError{http.StatusBadRequest, codeInvalidArgument, message, violations}
}

// failedPrecondition refuses a request the current state does not allow;
// Scalekit maps it to 400.
func failedPrecondition(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, codeFailedPrecondition, fmt.Sprintf(format, args...), nil}
}

// errorForStatus is the error Scalekit would answer with status; message
// replaces the default one when not empty.
func errorForStatus(status int, message string) *apiError {
	code := map[int]int{
		http.StatusBadRequest: codeInvalidArgument, http.StatusUnauthorized: codeUnauthenticated,
		http.StatusForbidden: codePermissionDenied, http.StatusNotFound: codeNotFound,
		http.StatusConflict: codeAlreadyExists, http.StatusTooManyRequests: codeResourceExhausted,
		http.StatusServiceUnavailable: codeUnavailable,
	}[status]
	if code == 0 {
		code = codeInternal
	}
	if message == "" {
		message = http.StatusText(status)
	}
	return &apiError{status, code, message, nil}
}

// errorBody is the JSON of an apiError.
type errorBody struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Details []errorDetail `json:"details"`
}

type errorDetail struct {
	Type                string               `json:"@type"`
	ErrorCode           string               `json:"error_code"`
	ValidationErrorInfo *validationErrorInfo `json:"validation_error_info,omitempty"`
}

type validationErrorInfo struct {
	FieldViolations []fieldViolation `json:"field_violations"`
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	d := errorDetail{Type: "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo", ErrorCode: codeNames[e.code]}
	if len(e.violations) > 0 {
		d.ValidationErrorInfo = &validationErrorInfo{e.violations}
	}
	switch e.status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeManaged(w, e.status, errorBody{Code: e.code, Message: e.message, Details: []errorDetail{d}})
}

// validator collects field violations, so that one answer names every
// refused field.
type validator []fieldViolation

func (v *validator) pattern(field, value string, re *regexp.Regexp) {
	if !re.MatchString(value) {
		*v = append(*v, fieldViolation{field, fmt.Sprintf("value does not match regex pattern `%s`", re), "string.pattern"})
	}
}

func (v *validator) length(field, value string, minLen, maxLen int) {
	switch n := len([]rune(value)); {
	case n < minLen && minLen == 1:
		*v = append(*v, fieldViolation{field, "value is required", "required"})
	case n < minLen:
		*v = append(*v, fieldViolation{field, fmt.Sprintf("value length must be at least %d characters", minLen), "string.min_len"})
	case n > maxLen:
		*v = append(*v, fieldViolation{field, fmt.Sprintf("value length must be at most %d characters", maxLen), "string.max_len"})
	}
}

func (v *validator) permissions(field string, names []string) {
	if len(names) > 100 {
		*v = append(*v, fieldViolation{field, "value must contain no more than 100 item(s)", "repeated.max_items"})
	}
	for i, p := range names {
		v.pattern(fmt.Sprintf("%s[%d]", field, i), p, permissionNamePattern)
	}
}

// err returns the violations as one invalid-argument error, or nil.
func (v validator) err() error {
	if len(v) == 0 {
		return nil
	}
	return invalidArgument("Validation failed", v...)
}

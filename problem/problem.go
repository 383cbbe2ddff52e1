// Package problem defines the few errors that domain code returns and that
// the app maps to HTTP statuses in one place (app/errors.go).
//
// Domain packages wrap these sentinels with context; handlers never write
// error statuses themselves.
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels for the outcomes every domain shares.
var (
	// ErrNotFound: the resource does not exist, or belongs to another
	// organization (the two must be indistinguishable to the caller).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request's input is unacceptable; nothing was changed.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the request contradicts the current state.
	ErrConflict = errors.New("conflict")
)

// InputError is an ErrInvalid that names the field at fault and says, in a
// sentence fit for the user, what to change.
type InputError struct {
	Field   string
	Message string
}

// Invalid returns an InputError for field.
func Invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true for every InputError.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// ConflictError is an ErrConflict with a sentence for the user.
type ConflictError struct {
	Message string
}

// Error implements error.
func (e *ConflictError) Error() string { return "conflict: " + e.Message }

// Is makes errors.Is(err, ErrConflict) true for every ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// BusyError is a request that met a shared resource held by another
// request (of this instance or another) for longer than it waits: nothing
// was changed, and the same request may succeed after RetryAfter. The app
// answers 503 with a Retry-After header.
type BusyError struct {
	Message    string        // a sentence for the user
	RetryAfter time.Duration // when to try again, at least a second
	Err        error         // the cause, for the log
}

// Error implements error.
func (e *BusyError) Error() string { return "busy: " + e.Message + ": " + fmt.Sprint(e.Err) }

// Unwrap returns the cause.
func (e *BusyError) Unwrap() error { return e.Err }

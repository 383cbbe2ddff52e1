package session

// SignInError ends a sign-in attempt without a session. Reason is a
// sentence for the user; Err is the underlying error, for logs.
type SignInError struct {
	Reason string
	Err    error
}

// Error implements error.
func (e *SignInError) Error() string { return "sign-in failed: " + e.Reason }

// Unwrap exposes the underlying error.
func (e *SignInError) Unwrap() error { return e.Err }

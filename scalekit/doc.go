// Package scalekit is a small client for Scalekit's management REST API:
// permissions, roles (with inheritance and defaults), organization roles,
// and the roles of an organization's members. Package seed builds on it to
// register rbac.seed.json in an environment.
//
// The client authenticates with a client-credentials token from the
// environment's /oauth/token endpoint (golang.org/x/oauth2/clientcredentials,
// credentials as form fields, no scope). Every call takes a context, has a
// per-request timeout, and retries 429 and 5xx answers with backoff. Errors
// the API answers are *APIError values that errors.Is matches against
// ErrNotFound, ErrAlreadyExists, ErrUnauthenticated, ErrInvalid and
// ErrRateLimited.
//
// The same client talks to the mock IdP (package mockidp), which implements
// these endpoints with the same paths, bodies and status codes.
package scalekit

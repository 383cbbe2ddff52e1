package mockidp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4/jwt"
)

// The management API: the subset of Scalekit's REST API that the seed
// command and role assignment use (see SCALEKIT_API.md), with the same
// paths, bodies, status codes, error body and name rules. Callers
// authenticate with a client_credentials token this server issued.

// manageRoutes mounts the management API under the issuer's path.
func (s *Server) manageRoutes() {
	p := s.prefix + "/api/v1"
	routes := []struct {
		pattern string
		action  func(http.ResponseWriter, *http.Request) error
	}{
		{"GET " + p + "/permissions", s.listPermissions},
		{"POST " + p + "/permissions", s.createPermission},
		{"GET " + p + "/permissions/{name}", s.getPermission},
		{"PUT " + p + "/permissions/{name}", s.updatePermission},
		{"DELETE " + p + "/permissions/{name}", s.deletePermission},

		{"GET " + p + "/roles", s.listRoles},
		{"POST " + p + "/roles", s.createRole},
		{"PATCH " + p + "/roles:set_defaults", s.setDefaultRoles},
		{"GET " + p + "/roles/{name}", s.getRole},
		{"PUT " + p + "/roles/{name}", s.updateRole},
		{"DELETE " + p + "/roles/{name}", s.deleteRole},
		{"DELETE " + p + "/roles/{name}/base", s.deleteRoleBase},
		{"GET " + p + "/roles/{name}/permissions:all", s.effectiveRolePermissions},
		{"DELETE " + p + "/roles/{name}/permissions/{permission}", s.removeRolePermission},

		{"GET " + p + "/organizations/{org}/roles", s.listRoles},
		{"POST " + p + "/organizations/{org}/roles", s.createRole},
		{"GET " + p + "/organizations/{org}/roles/{name}", s.getRole},
		{"PUT " + p + "/organizations/{org}/roles/{name}", s.updateRole},
		{"DELETE " + p + "/organizations/{org}/roles/{name}", s.deleteRole},
		{"DELETE " + p + "/organizations/{org}/roles/{name}/base", s.deleteRoleBase},

		{"GET " + p + "/users/{user}", s.getUser},
		{"GET " + p + "/organizations/{org}/users", s.listOrgUsers},
		{"GET " + p + "/organizations/{org}/users/{user}/roles", s.listMemberRoles},
		{"PATCH " + p + "/memberships/organizations/{org}/users/{user}", s.updateMembership},

		// Anything else under /api/ answers in Scalekit's error format.
		{s.prefix + "/api/", func(http.ResponseWriter, *http.Request) error {
			return notFound("No such management endpoint.")
		}},
	}
	for _, rt := range routes {
		s.mux.Handle(rt.pattern, s.manage(s.notifying(rt.pattern, p, rt.action)))
	}
}

// manageStats counts management requests and holds the failures tests
// inject. The counters are atomic; the failure fields are guarded by s.mu.
type manageStats struct {
	requests, writes atomic.Int64
	failLeft         int
	failStatus       int
	failMessage      string
}

// manage adapts a management action: it counts the request, applies an
// injected failure, authenticates the caller, and writes errors in
// Scalekit's format.
func (s *Server) manage(action func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mgmt.requests.Add(1)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.mgmt.writes.Add(1)
		}
		err := s.injectedFailure()
		if err == nil {
			err = s.authorizeManagement(r)
		}
		if err == nil {
			err = action(w, r)
		}
		if err == nil {
			return
		}
		var e *apiError
		if !errors.As(err, &e) {
			// The detail goes to the log only: it may name internals.
			s.log.Error("mock idp management API failed", "path", r.URL.Path, "error", err)
			e = &apiError{http.StatusInternalServerError, codeInternal, "Internal error.", nil}
		}
		s.log.Debug("mock idp refused a management request", "method", r.Method, "path", r.URL.Path, "status", e.status, "reason", e.message)
		writeAPIError(w, e)
	})
}

// authorizeManagement accepts only a management token of this server: a
// valid signature, this issuer, not expired, and issued by the
// client_credentials grant to a known client (its subject is the client,
// and it names no session or organization, unlike a user's token).
func (s *Server) authorizeManagement(r *http.Request) error {
	fail := &apiError{http.StatusUnauthorized, codeUnauthenticated,
		"A valid management access token is required: get one from /oauth/token with the client_credentials grant.", nil}
	token, ok := bearer(r)
	if !ok {
		return fail
	}
	var (
		std   jwt.Claims
		extra struct {
			ClientID  string `json:"client_id"`
			SessionID string `json:"sid"`
			OrgID     string `json:"oid"`
		}
	)
	if err := s.keys.verify(token, &std, &extra); err != nil || std.Expiry == nil {
		return fail
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, Time: s.now()}, 0); err != nil {
		return fail
	}
	if _, known := s.clients[extra.ClientID]; !known || std.Subject != extra.ClientID || extra.SessionID != "" || extra.OrgID != "" {
		return fail
	}
	return nil
}

// ManagementRequests reports how many management API requests arrived,
// refused ones included. Test hook: "nothing was sent" is 0.
func (s *Server) ManagementRequests() int64 { return s.mgmt.requests.Load() }

// ManagementWrites reports how many management API requests that change
// state (POST, PUT, PATCH, DELETE) arrived, refused ones included. Test
// hook: an idempotent seed run adds none.
func (s *Server) ManagementWrites() int64 { return s.mgmt.writes.Load() }

// FailManagement makes the next n management API requests fail with status
// and Scalekit's error body for it, before authentication and without any
// change; message replaces the default message when not empty (for
// example "duplicate key not allowed" with 400, as Scalekit answers a
// duplicate). A 429 or 503 carries Retry-After: 1. Test hook for 400,
// 401, 409, 429 and 5xx handling.
func (s *Server) FailManagement(n, status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mgmt.failLeft, s.mgmt.failStatus, s.mgmt.failMessage = n, status, message
}

func (s *Server) injectedFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mgmt.failLeft <= 0 {
		return nil
	}
	s.mgmt.failLeft--
	return errorForStatus(s.mgmt.failStatus, s.mgmt.failMessage)
}

// decodeBody reads a JSON body into v, refusing unknown fields (as
// Scalekit's gateway does) and anything over 64 KB.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidArgument(fmt.Sprintf("The body must be a JSON object of the expected fields: %v", err))
	}
	if dec.More() {
		return invalidArgument("The body must hold one JSON object.")
	}
	return nil
}

// writeManaged writes a management API answer.
func writeManaged(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSpace(body))
}

package mockidp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The control plane: JSON over HTTP under {issuer}/_mock/, the twin of
// every Go switch of Server, for test suites in any language. README.md
// documents each verb with a curl line.

const controlPath = "/_mock"

// controlRoutes mounts the control plane. Only Config.ControlPlane turns
// it on; cmd/mockidp does by default.
func (s *Server) controlRoutes() {
	p := s.prefix + controlPath
	routes := []struct {
		pattern string
		action  func(http.ResponseWriter, *http.Request) error
	}{
		{"GET " + p + "/users", s.ctlListUsers},
		{"POST " + p + "/users", s.ctlCreateUser},
		{"GET " + p + "/users/{id}", s.ctlGetUser},
		{"PATCH " + p + "/users/{id}", s.ctlUpdateUser},
		{"DELETE " + p + "/users/{id}", s.ctlDeleteUser},
		{"PUT " + p + "/users/{id}/roles", s.ctlSetRoles},
		{"POST " + p + "/users/{id}/memberships", s.ctlAddMembership},
		{"DELETE " + p + "/users/{id}/memberships/{org}", s.ctlRemoveMembership},
		{"POST " + p + "/users/{id}/revoke", s.ctlRevoke},
		{"POST " + p + "/users/{id}/token", s.ctlAccessToken},
		{"POST " + p + "/organizations", s.ctlCreateOrganization},
		{"POST " + p + "/organizations/{org}/join", s.ctlJoin},
		{"POST " + p + "/tamper", s.ctlTamper},
		{"DELETE " + p + "/tamper", s.ctlClearTamper},
		{"POST " + p + "/sign", s.ctlSign},
		{"GET " + p + "/keys", s.ctlKeys},
		{"POST " + p + "/keys/rotate", s.ctlRotate},
		{"DELETE " + p + "/keys/{kid}", s.ctlRetire},
		{"GET " + p + "/faults", s.ctlListFaults},
		{"POST " + p + "/faults", s.ctlAddFault},
		{"DELETE " + p + "/faults", s.ctlClearFaults},
		{"POST " + p + "/management/fail", s.ctlFailManagement},
		{"GET " + p + "/requests", s.ctlRequests},
		{"DELETE " + p + "/requests", s.ctlClearRequests},
		{"GET " + p + "/webhook", s.ctlWebhook},
		{"PUT " + p + "/webhook", s.ctlSetWebhook},
		{"DELETE " + p + "/webhook", s.ctlDeleteWebhook},
		{"GET " + p + "/stats", s.ctlStats},
		{"POST " + p + "/reset", s.ctlReset},
		{p + "/", func(http.ResponseWriter, *http.Request) error {
			return &ctlError{http.StatusNotFound, "", "no such control-plane verb: see the README's control-plane section"}
		}},
	}
	guard := http.NewCrossOriginProtection()
	for _, rt := range routes {
		s.mux.Handle(rt.pattern, s.loopbackOnly(guard.Handler(s.control(rt.action))))
	}
}

// ctlError is a control-plane refusal: {"error": msg, "field": field}.
type ctlError struct {
	status int
	field  string
	msg    string
}

func (e *ctlError) Error() string { return e.msg }

// control adapts an action and turns its error into a JSON answer: a
// FieldError is 400, ErrNoUser and ErrNotMember 404, a membership that
// exists already (or is the last) 409.
func (s *Server) control(action func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := action(w, r)
		if err == nil {
			return
		}
		var (
			ce    *ctlError
			field *FieldError
		)
		switch {
		case errors.As(err, &ce):
		case errors.As(err, &field):
			ce = &ctlError{http.StatusBadRequest, field.Field, field.Error()}
		case errors.Is(err, ErrNoUser):
			ce = &ctlError{http.StatusNotFound, "", err.Error()}
		case errors.Is(err, ErrNotMember), errors.Is(err, ErrNoOrganization):
			ce = &ctlError{http.StatusNotFound, "organization_id", err.Error()}
		case errors.Is(err, ErrAlreadyMember), errors.Is(err, ErrLastMembership):
			ce = &ctlError{http.StatusConflict, "organization_id", err.Error()}
		case errors.Is(err, errNoKey):
			ce = &ctlError{http.StatusNotFound, "kid", err.Error()}
		case errors.Is(err, errCurrentKey):
			ce = &ctlError{http.StatusConflict, "kid", err.Error()}
		default:
			s.log.Error("mock idp control plane failed", "path", r.URL.Path, "error", err)
			ce = &ctlError{http.StatusInternalServerError, "", "the mock failed: see its log"}
		}
		body := map[string]string{"error": ce.msg}
		if ce.field != "" {
			body["field"] = ce.field
		}
		writeJSON(w, ce.status, body)
	})
}

// loopbackOnly refuses anyone but a process on this machine: the control
// plane changes who can sign in. A request relayed by a proxy (Forwarded
// headers) or addressed to another host name (DNS rebinding from a web
// page) is refused too, since its peer address says nothing about its
// origin.
func (s *Server) loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		reqHost := r.Host
		if h, _, err := net.SplitHostPort(reqHost); err == nil {
			reqHost = h
		}
		switch {
		case err != nil || ip == nil || !ip.IsLoopback(),
			r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "",
			!loopback(strings.Trim(reqHost, "[]")) && reqHost != s.issuerHostname():
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the control plane answers loopback clients only"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) issuerHostname() string {
	u, err := parseIssuer(s.issuer)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// decodeControl reads a JSON body into v. A malformed body is a 400 that
// names the field at fault, and nothing is changed.
func decodeControl(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
	)
	switch {
	case err == nil:
		if dec.More() {
			return &ctlError{http.StatusBadRequest, "body", "the body must hold one JSON object"}
		}
		return nil
	case errors.Is(err, io.EOF):
		return &ctlError{http.StatusBadRequest, "body", "the body is empty: send a JSON object"}
	case errors.As(err, &syntax):
		return &ctlError{http.StatusBadRequest, "body", fmt.Sprintf("invalid JSON at byte %d: %v", syntax.Offset, syntax)}
	case errors.As(err, &typ):
		return &ctlError{http.StatusBadRequest, typ.Field, fmt.Sprintf("%s must be %s, not %s", typ.Field, typ.Type, typ.Value)}
	case errors.As(err, &tooBig):
		return &ctlError{http.StatusRequestEntityTooLarge, "body", "the body is over 64 KB"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &ctlError{http.StatusBadRequest, name, fmt.Sprintf("unknown field %q", name)}
	default:
		return &ctlError{http.StatusBadRequest, "body", "the body is not a JSON object of the expected fields: " + err.Error()}
	}
}

// userOut is a user as the control plane answers it: organization_id,
// organization_name and roles are the first membership, memberships all
// of them. A create takes either the first three or memberships.
type userOut struct {
	ID               string          `json:"id"`
	Email            string          `json:"email"`
	Name             string          `json:"name"`
	GivenName        string          `json:"given_name"`
	FamilyName       string          `json:"family_name"`
	OrganizationID   string          `json:"organization_id"`
	OrganizationName string          `json:"organization_name"`
	Roles            []string        `json:"roles"`
	Memberships      []membershipOut `json:"memberships"`
}

// membershipOut is one membership in the control plane's JSON.
type membershipOut struct {
	OrganizationID   string   `json:"organization_id"`
	OrganizationName string   `json:"organization_name,omitempty"`
	Roles            []string `json:"roles"`
}

func toOut(u User) userOut {
	out := userOut{u.ID, u.Email, u.Name, u.GivenName, u.FamilyName, u.OrgID, u.OrgName, append([]string{}, u.Roles...), []membershipOut{}}
	for _, m := range u.Memberships {
		out.Memberships = append(out.Memberships, membershipOut{m.OrgID, m.OrgName, append([]string{}, m.Roles...)})
	}
	return out
}

func (s *Server) ctlListUsers(w http.ResponseWriter, r *http.Request) error {
	out := []userOut{}
	for _, u := range s.Users() {
		out = append(out, toOut(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (s *Server) ctlGetUser(w http.ResponseWriter, r *http.Request) error {
	u, ok := s.user(r.PathValue("id"))
	if !ok {
		return fmt.Errorf("user %q: %w", r.PathValue("id"), ErrNoUser)
	}
	writeJSON(w, http.StatusOK, toOut(u))
	return nil
}

func (s *Server) ctlCreateUser(w http.ResponseWriter, r *http.Request) error {
	var b userOut
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	in := User{ID: b.ID, Email: b.Email, Name: b.Name, GivenName: b.GivenName, FamilyName: b.FamilyName,
		OrgID: b.OrganizationID, OrgName: b.OrganizationName, Roles: b.Roles}
	if b.Memberships != nil && (b.OrganizationID != "" || b.OrganizationName != "" || b.Roles != nil) {
		return &FieldError{"memberships", "give either organization_id and roles, or memberships, not both"}
	}
	for _, m := range b.Memberships {
		in.Memberships = append(in.Memberships, Membership{m.OrganizationID, m.OrganizationName, m.Roles})
	}
	u, done, err := s.createUser(in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.withDeliveries(r, done, toOut(u)))
	return nil
}

func (s *Server) ctlUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Email      *string  `json:"email"`
		Name       *string  `json:"name"`
		GivenName  *string  `json:"given_name"`
		FamilyName *string  `json:"family_name"`
		Roles      []string `json:"roles"`
		OrgID      string   `json:"organization_id"` // whose roles change; required for a member of several
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	u, done, err := s.updateUser(r.PathValue("id"), UserUpdate{b.Email, b.Name, b.GivenName, b.FamilyName, b.Roles, b.OrgID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.withDeliveries(r, done, toOut(u)))
	return nil
}

func (s *Server) ctlDeleteUser(w http.ResponseWriter, r *http.Request) error {
	done, err := s.deleteUser(r.PathValue("id"))
	if err != nil {
		return err
	}
	waitFor(r, done)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ctlSetRoles(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Roles []string `json:"roles"`
		OrgID string   `json:"organization_id"` // required for a member of several organizations
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	if b.Roles == nil {
		return &ctlError{http.StatusBadRequest, "roles", "roles is required (an empty array removes every role)"}
	}
	u, org, err := s.setUserRoles(r.PathValue("id"), b.OrgID, b.Roles)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.withDeliveries(r, s.ctl.hooks.enqueue(membershipEvent(u, org)), toOut(u)))
	return nil
}

func (s *Server) ctlAddMembership(w http.ResponseWriter, r *http.Request) error {
	var b membershipOut
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	u, done, err := s.addMembership(r.PathValue("id"), Membership{b.OrganizationID, b.OrganizationName, b.Roles})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.withDeliveries(r, done, toOut(u)))
	return nil
}

func (s *Server) ctlRemoveMembership(w http.ResponseWriter, r *http.Request) error {
	u, done, err := s.removeMembership(r.PathValue("id"), r.PathValue("org"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.withDeliveries(r, done, toOut(u)))
	return nil
}

// withDeliveries waits for the webhooks of a change (done), so that the
// caller's next step meets an app that has heard of it, and adds the
// latest deliveries to the answer when there is a target.
func (s *Server) withDeliveries(r *http.Request, done <-chan struct{}, u userOut) any {
	waitFor(r, done)
	if s.ctl.hooks.url() == "" {
		return u
	}
	return struct {
		userOut
		Webhooks []Delivery `json:"webhooks"`
	}{u, s.ctl.hooks.list()}
}

// waitFor waits until done closes or the request ends.
func waitFor(r *http.Request, done <-chan struct{}) {
	select {
	case <-done:
	case <-r.Context().Done():
	}
}

func (s *Server) ctlRevoke(w http.ResponseWriter, r *http.Request) error {
	n, err := s.RevokeUser(r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked_sessions": n})
	return nil
}

func (s *Server) ctlAccessToken(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ClientID string `json:"client_id"`
		OrgID    string `json:"organization_id"` // default: the first membership
	}
	if r.ContentLength != 0 {
		if err := decodeControl(w, r, &b); err != nil {
			return err
		}
	}
	if _, ok := s.user(r.PathValue("id")); !ok {
		return fmt.Errorf("user %q: %w", r.PathValue("id"), ErrNoUser)
	}
	client := b.ClientID
	if client == "" {
		client = s.firstClient()
	}
	tok, err := s.OrgAccessToken(r.PathValue("id"), b.OrgID, client)
	if errors.Is(err, ErrNotMember) {
		return err
	}
	if err != nil {
		return &FieldError{"client_id", err.Error()}
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(s.ttl / time.Second)})
	return nil
}

// firstClient is the client a token is for when none is named: the demo
// client if registered, else the first in ID order.
func (s *Server) firstClient() string {
	if _, ok := s.clients[DemoClientID]; ok {
		return DemoClientID
	}
	ids := make([]string, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids[0]
}

func (s *Server) ctlCreateOrganization(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Name string `json:"name"`
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Name) == "" {
		return &FieldError{"name", "is required"}
	}
	u, err := s.CreateOrganization(b.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"organization_id": u.OrgID, "creator": toOut(u)})
	return nil
}

func (s *Server) ctlJoin(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Join(r.PathValue("org"))
	if err != nil {
		return &ctlError{http.StatusNotFound, "org", err.Error()}
	}
	writeJSON(w, http.StatusCreated, toOut(u))
	return nil
}

// tamperCases are the named cases of POST /_mock/tamper, the attacks
// app/login_test.go drives through TamperNextTokens.
var tamperCases = map[string]func(t *Tamper){
	"wrong_nonce":     func(t *Tamper) { t.IDClaims = setClaim(t.IDClaims, "nonce", "someone-elses") },
	"missing_nonce":   func(t *Tamper) { t.IDClaims = setClaim(t.IDClaims, "nonce", nil) },
	"bad_signature":   func(t *Tamper) { t.BreakSignature = true },
	"wrong_issuer":    func(t *Tamper) { t.IDClaims = setClaim(t.IDClaims, "iss", "https://evil.example") },
	"wrong_audience":  func(t *Tamper) { t.IDClaims = setClaim(t.IDClaims, "aud", []string{"skc_other"}) },
	"expired":         func(t *Tamper) { t.IDClaims = setClaim(t.IDClaims, "exp", time.Now().Add(-time.Minute).Unix()) },
	"missing_subject": func(t *Tamper) { t.IDClaims = setClaim(t.IDClaims, "sub", nil) },
	"access_expired": func(t *Tamper) {
		t.AccessClaims = setClaim(t.AccessClaims, "exp", time.Now().Add(-time.Minute).Unix())
	},
}

// setClaim chains an edit that sets a claim (nil deletes it) after prev.
func setClaim(prev func(map[string]any), name string, value any) func(map[string]any) {
	return func(m map[string]any) {
		if prev != nil {
			prev(m)
		}
		if value == nil {
			delete(m, name)
			return
		}
		m[name] = value
	}
}

func (s *Server) ctlTamper(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Case           string         `json:"case"`
		Count          *int           `json:"count"`
		IDClaims       map[string]any `json:"id_claims"`     // set; null deletes
		AccessClaims   map[string]any `json:"access_claims"` // set; null deletes
		BreakSignature bool           `json:"break_signature"`
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	var t Tamper
	if b.Case != "" {
		apply, ok := tamperCases[b.Case]
		if !ok {
			names := make([]string, 0, len(tamperCases))
			for n := range tamperCases {
				names = append(names, n)
			}
			slices.Sort(names)
			return &FieldError{"case", "must be one of " + strings.Join(names, ", ")}
		}
		apply(&t)
	}
	for name, v := range b.IDClaims {
		t.IDClaims = setClaim(t.IDClaims, name, v)
	}
	for name, v := range b.AccessClaims {
		t.AccessClaims = setClaim(t.AccessClaims, name, v)
	}
	t.BreakSignature = t.BreakSignature || b.BreakSignature
	if t.IDClaims == nil && t.AccessClaims == nil && !t.BreakSignature {
		return &FieldError{"case", "name a case, or give id_claims, access_claims or break_signature"}
	}
	n := 1
	if b.Count != nil {
		if n = *b.Count; n < 1 {
			return &FieldError{"count", "must be at least 1"}
		}
	}
	s.TamperTokens(n, t)
	writeJSON(w, http.StatusOK, map[string]int{"count": n})
	return nil
}

func (s *Server) ctlClearTamper(w http.ResponseWriter, r *http.Request) error {
	s.TamperTokens(0, Tamper{})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ctlSign(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Claims map[string]any `json:"claims"`
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	if b.Claims == nil {
		return &FieldError{"claims", "is required: the JWT's claims as an object"}
	}
	tok, err := s.Sign(b.Claims)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
	return nil
}

func (s *Server) ctlKeys(w http.ResponseWriter, r *http.Request) error {
	ids := s.keys.keyIDs()
	writeJSON(w, http.StatusOK, map[string]any{"current": ids[0], "published": ids})
	return nil
}

func (s *Server) ctlRotate(w http.ResponseWriter, r *http.Request) error {
	if err := s.RotateKey(); err != nil {
		return err
	}
	return s.ctlKeys(w, r)
}

func (s *Server) ctlRetire(w http.ResponseWriter, r *http.Request) error {
	if err := s.RetireKey(r.PathValue("kid")); err != nil {
		return err
	}
	return s.ctlKeys(w, r)
}

// faultJSON is a fault as the control plane reads and lists it.
type faultJSON struct {
	Endpoint    string `json:"endpoint"`
	Count       int    `json:"count"`
	Status      int    `json:"status,omitempty"`
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	DelayMS     int64  `json:"delay_ms,omitempty"`
	Drop        bool   `json:"drop,omitempty"`
}

func (s *Server) ctlListFaults(w http.ResponseWriter, r *http.Request) error {
	out := []faultJSON{}
	for _, f := range s.Faults() {
		out = append(out, faultJSON{f.Endpoint, f.Count, f.Status, f.Body, f.ContentType, f.Delay.Milliseconds(), f.Drop})
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": out})
	return nil
}

func (s *Server) ctlAddFault(w http.ResponseWriter, r *http.Request) error {
	b := faultJSON{Count: 1}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	if b.DelayMS < 0 || b.DelayMS > 60000 {
		return &FieldError{"delay_ms", "must be between 0 and 60000"}
	}
	f := Fault{b.Endpoint, b.Count, b.Status, b.Body, b.ContentType, time.Duration(b.DelayMS) * time.Millisecond, b.Drop}
	if err := s.InjectFault(f); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, b)
	return nil
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, r *http.Request) error {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ctlFailManagement(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Count   int    `json:"count"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	switch {
	case b.Count < 1:
		return &FieldError{"count", "must be at least 1"}
	case b.Status < 400 || b.Status > 599:
		return &FieldError{"status", "must be an error status (400-599)"}
	}
	s.FailManagement(b.Count, b.Status, b.Message)
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) ctlRequests(w http.ResponseWriter, r *http.Request) error {
	reqs := s.Requests()
	if ep := r.URL.Query().Get("endpoint"); ep != "" {
		reqs = slices.DeleteFunc(reqs, func(l LoggedRequest) bool {
			return l.Endpoint != ep && !(ep == "token" && strings.HasPrefix(l.Endpoint, "token:"))
		})
	}
	if reqs == nil {
		reqs = []LoggedRequest{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
	return nil
}

func (s *Server) ctlClearRequests(w http.ResponseWriter, r *http.Request) error {
	s.ClearRequests()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ctlWebhook(w http.ResponseWriter, r *http.Request) error {
	// The secret is never echoed: the caller has it.
	writeJSON(w, http.StatusOK, map[string]any{"url": s.ctl.hooks.url(), "deliveries": s.Deliveries()})
	return nil
}

func (s *Server) ctlSetWebhook(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := decodeControl(w, r, &b); err != nil {
		return err
	}
	if b.URL == "" {
		return &FieldError{"url", "is required (DELETE /_mock/webhook turns webhooks off)"}
	}
	if err := s.SetWebhook(WebhookTarget{b.URL, b.Secret}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": b.URL})
	return nil
}

func (s *Server) ctlDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.SetWebhook(WebhookTarget{}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) ctlStats(w http.ResponseWriter, r *http.Request) error {
	creator, member := s.DefaultRoles()
	writeJSON(w, http.StatusOK, map[string]any{
		"jwks_fetches":        s.JWKSFetches(),
		"management_requests": s.ManagementRequests(),
		"management_writes":   s.ManagementWrites(),
		"default_roles":       map[string]string{"creator": creator, "member": member},
	})
	return nil
}

func (s *Server) ctlReset(w http.ResponseWriter, r *http.Request) error {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

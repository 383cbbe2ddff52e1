package mockidp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authParams are the authorization request parameters the picker carries
// through its form, in the order they are written.
var authParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "organization_id", "prompt", "login_hint",
}

// supportedScopes are the scopes the mock IdP grants; others are ignored,
// as OpenID Connect asks of unknown scope values.
var supportedScopes = []string{"openid", "profile", "email", "offline_access"}

// authRequest is a validated authorization request.
type authRequest struct {
	client      Client
	redirectURI string
	scope       string // only supported scopes, in the order asked
	state       string
	nonce       string
	challenge   string
	orgID       string // optional: the organization to sign in to, and the picker shows its members only
	params      url.Values
}

// showPicker is GET /oauth/authorize: check the request, then let the
// person pick a demo user.
func (s *Server) showPicker(w http.ResponseWriter, r *http.Request) error {
	req, err := s.parseAuthRequest(r.URL.Query())
	if err != nil {
		return err
	}
	if hint := req.params.Get("login_hint"); hint != "" && !req.prompts("login") {
		return s.signInHinted(w, r, req, hint)
	}
	return s.renderPicker(w, req)
}

// pickUser is POST /oauth/authorize, the submit of the picker and of the
// organization chooser. The form's fields come from the browser, so the
// request is checked again in full, and the membership too.
func (s *Server) pickUser(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return &pageError{http.StatusBadRequest, "Bad sign-in form", "The form could not be read. Go back to the app and sign in again."}
	}
	req, err := s.parseAuthRequest(r.PostForm)
	if err != nil {
		return err
	}
	if r.PostForm.Get("cancel") != "" {
		return &redirectError{req.redirectURI, req.state, "access_denied", "The user cancelled the sign-in."}
	}
	var u User
	switch org := r.PostForm.Get("join_org"); {
	case org != "" && (req.orgID == "" || org == req.orgID):
		// "A new user joins <org>": Scalekit's default member role in action.
		if u, err = s.Join(org); err != nil {
			return &pageError{http.StatusBadRequest, "Unknown organization", "Pick one of the organizations the sign-in page lists."}
		}
		s.completeSignIn(w, r, req, u, u.Memberships[0])
		return nil
	case r.PostForm.Get("create_org") != "" && req.orgID == "":
		// "A new user creates an organization": the creator becomes admin.
		if u, err = s.CreateOrganization("New organization"); err != nil {
			return err
		}
		s.completeSignIn(w, r, req, u, u.Memberships[0])
		return nil
	}
	u, ok := s.user(r.PostForm.Get("user_id"))
	if !ok {
		return &pageError{http.StatusBadRequest, "Unknown user", "Pick one of the users the sign-in page lists."}
	}
	return s.continueAs(w, r, req, u)
}

// continueAs goes on once the person is known to be u: into the requested
// organization if u is a member (else access_denied back to the client,
// never a code), into u's only organization, or to the organization
// chooser when u has several or prompt=select_account asks for it.
func (s *Server) continueAs(w http.ResponseWriter, r *http.Request, req authRequest, u User) error {
	if req.orgID != "" {
		m, ok := u.Membership(req.orgID)
		if !ok {
			return &redirectError{req.redirectURI, req.state, "access_denied",
				fmt.Sprintf("%s is not a member of organization %s.", u.Email, req.orgID)}
		}
		s.completeSignIn(w, r, req, u, m)
		return nil
	}
	if len(u.Memberships) > 1 || req.prompts("select_account") {
		return s.renderChooser(w, req, u)
	}
	s.completeSignIn(w, r, req, u, u.Memberships[0])
	return nil
}

// prompts reports whether the request's prompt holds value.
func (req authRequest) prompts(value string) bool {
	return slices.Contains(strings.Fields(req.params.Get("prompt")), value)
}

// completeSignIn sends the browser back to the client with a code for u
// in the organization of m, which the code, its tokens and their refresh
// family are bound to.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, req authRequest, u User, m Membership) {
	code := s.issueCode(authCode{
		clientID:    req.client.ID,
		redirectURI: req.redirectURI,
		userID:      u.ID,
		orgID:       m.OrgID,
		scope:       req.scope,
		nonce:       req.nonce,
		challenge:   req.challenge,
		sid:         newID("ses_"), // one session per sign-in, kept across refreshes
	})
	s.log.Info("mock idp signed a user in", "user", u.ID, "org", m.OrgID, "client", req.client.ID)
	s.redirect(w, r, req.redirectURI, url.Values{"code": {code}, "state": {req.state}, "iss": {s.issuer}})
}

// parseAuthRequest checks an authorization request. Until the client and
// its redirect URI are known good, errors are pages shown to the person;
// after, they go back to the client (RFC 6749 section 4.1.2.1).
func (s *Server) parseAuthRequest(v url.Values) (authRequest, error) {
	client, ok := s.clients[v.Get("client_id")]
	if !ok || len(v["client_id"]) > 1 {
		return authRequest{}, &pageError{http.StatusBadRequest, "Unknown application",
			"The application's client_id is not registered at the mock IdP. Check SCALEKIT_CLIENT_ID, or unset it to use the demo client."}
	}
	redirectURI := v.Get("redirect_uri")
	if !registered(client.RedirectURIs, redirectURI) || len(v["redirect_uri"]) > 1 {
		return authRequest{}, &pageError{http.StatusBadRequest, "Redirect URI not registered",
			fmt.Sprintf("The redirect_uri is not registered for %s. Check APP_BASE_URL: the app's callback must be one of %s.",
				client.ID, strings.Join(client.RedirectURIs, ", "))}
	}
	req := authRequest{
		client:      client,
		redirectURI: redirectURI,
		state:       v.Get("state"),
		nonce:       v.Get("nonce"),
		challenge:   v.Get("code_challenge"),
		orgID:       v.Get("organization_id"),
		params:      url.Values{},
	}
	fail := func(code, description string) (authRequest, error) {
		return authRequest{}, &redirectError{redirectURI, req.state, code, description}
	}
	for _, name := range authParams {
		switch len(v[name]) {
		case 0:
		case 1:
			req.params.Set(name, v.Get(name))
		default:
			// RFC 6749 section 3.1: a repeated parameter is ambiguous.
			return fail("invalid_request", name+" is given more than once.")
		}
	}
	scopes := strings.Fields(v.Get("scope"))
	for _, sc := range scopes {
		if slices.Contains(supportedScopes, sc) && !hasScope(req.scope, sc) {
			req.scope = strings.TrimSpace(req.scope + " " + sc)
		}
	}
	switch {
	case v.Get("response_type") != "code":
		return fail("unsupported_response_type", "response_type must be code.")
	case !slices.Contains(scopes, "openid"):
		return fail("invalid_scope", "scope must include openid.")
	case req.challenge == "":
		return fail("invalid_request", "code_challenge is required: this provider requires PKCE.")
	case v.Get("code_challenge_method") != "S256":
		return fail("invalid_request", "code_challenge_method must be S256; plain is not accepted.")
	case !validChallenge(req.challenge):
		return fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier.")
	case slices.Contains(strings.Fields(v.Get("prompt")), "none"):
		// The mock keeps no browser session, so it can never sign in silently.
		return fail("login_required", "The mock IdP always asks which user signs in.")
	case req.orgID != "" && len(s.orgUsers(req.orgID)) == 0:
		return fail("invalid_request", "organization_id names no organization of the mock IdP.")
	case len(v["user_id"]) > 1:
		return fail("invalid_request", "user_id is given more than once.")
	}
	return req, nil
}

// hasScope reports whether the space-separated scope list holds want.
func hasScope(scope, want string) bool {
	return slices.Contains(strings.Fields(scope), want)
}

// orgUsers returns the members of one organization, or all users when
// orgID is empty.
func (s *Server) orgUsers(orgID string) []User {
	return slices.DeleteFunc(s.Users(), func(u User) bool {
		return orgID != "" && u.memberIndex(orgID) < 0
	})
}

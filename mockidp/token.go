package mockidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
)

// serveToken is the token endpoint: POST /oauth/token with a form body.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return invalidRequest("The body must be an application/x-www-form-urlencoded form.")
	}
	client, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	// Only the body counts (RFC 6749 section 3.2): parameters in the URL end
	// up in logs.
	form := r.PostForm
	var resp tokenResponse
	switch form.Get("grant_type") {
	case "authorization_code":
		resp, err = s.exchangeCode(client, form)
	case "refresh_token":
		resp, err = s.refresh(client, form)
	case "client_credentials":
		resp, err = s.managementToken(client.ID)
	case "":
		err = invalidRequest("grant_type is required.")
	default:
		err = &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			"grant_type must be authorization_code, refresh_token or client_credentials."}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// authenticateClient accepts client_secret_post only, as the discovery
// document says and as Scalekit documents: client_id and client_secret in
// the form. HTTP Basic (client_secret_basic) is refused with invalid_client,
// so that a relying party which guesses the method, rather than reading
// token_endpoint_auth_methods_supported, shows up in tests.
func (s *Server) authenticateClient(r *http.Request) (Client, error) {
	fail := &oauthError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: check the client ID and secret."}
	if _, _, basic := r.BasicAuth(); basic {
		return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client",
			"This provider supports client_secret_post only: send client_id and client_secret in the form, not in an Authorization header."}
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	client, known := s.clients[id]
	// Compare hashes in constant time, so that neither the secret's length
	// nor its first wrong byte shows in the response time.
	got, want := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(client.Secret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !known || secret == "" {
		return Client{}, fail
	}
	return client, nil
}

// exchangeCode is the authorization_code grant, with PKCE required.
func (s *Server) exchangeCode(client Client, form url.Values) (tokenResponse, error) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" {
		return tokenResponse{}, invalidRequest("code is required.")
	}
	if verifier == "" {
		return tokenResponse{}, invalidRequest("code_verifier is required: this provider requires PKCE.")
	}
	c, err := s.redeemCode(code, client.ID, form.Get("redirect_uri"), verifier, form["organization_id"])
	if err != nil {
		return tokenResponse{}, err
	}
	u, m, err := s.grantMember(c.userID, c.orgID)
	if err != nil {
		return tokenResponse{}, err
	}
	resp, err := s.userTokens(u, m, client.ID, c.sid, c.nonce, c.scope)
	if err != nil {
		return tokenResponse{}, err
	}
	// A refresh token lets the app act while the user is away, so it needs
	// the user's consent to offline_access, as at Scalekit.
	if hasScope(c.scope, "offline_access") {
		resp.RefreshToken = s.issueRefresh(c.family)
	}
	s.log.Info("mock idp issued tokens", "grant", "authorization_code", "user", u.ID, "org", m.OrgID, "client", client.ID)
	return resp, nil
}

// grantMember returns the user of a grant and their membership of its
// organization, or invalid_grant when either is gone: a user removed from
// the organization gets no more tokens for it.
func (s *Server) grantMember(userID, orgID string) (User, Membership, error) {
	u, ok := s.user(userID)
	if !ok {
		return User{}, Membership{}, invalidGrant("The user of this grant no longer exists. Sign in again.")
	}
	m, ok := u.Membership(orgID)
	if !ok {
		return User{}, Membership{}, invalidGrant("The user is no longer a member of the organization of this sign-in. Sign in again.")
	}
	return u, m, nil
}

// refresh is the refresh_token grant. The new tokens carry the user's roles
// as they are now in the organization of the sign-in, never another, and a
// new refresh token replaces the spent one. A scope parameter is ignored:
// the tokens keep the scope of the sign-in; an organization_id other than
// the sign-in's is refused (redeemRefresh).
func (s *Server) refresh(client Client, form url.Values) (tokenResponse, error) {
	tok := form.Get("refresh_token")
	if tok == "" {
		return tokenResponse{}, invalidRequest("refresh_token is required.")
	}
	f, err := s.redeemRefresh(tok, client.ID, form["organization_id"])
	if err != nil {
		return tokenResponse{}, err
	}
	u, m, err := s.grantMember(f.userID, f.orgID)
	if err != nil {
		return tokenResponse{}, err
	}
	// No nonce: it belongs to the authentication, which a refresh is not.
	resp, err := s.userTokens(u, m, client.ID, f.sid, "", f.scope)
	if err != nil {
		return tokenResponse{}, err
	}
	resp.RefreshToken = s.issueRefresh(f)
	s.log.Info("mock idp issued tokens", "grant", "refresh_token", "user", u.ID, "org", m.OrgID, "client", client.ID)
	return resp, nil
}

package mockidp

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-jose/go-jose/v4/jwt"
)

// logout is GET /oidc/logout, RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0). The mock keeps no browser session, so signing
// out means revoking the sign-in's refresh tokens and sending the browser
// back to the app.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	target, clientID := q.Get("post_logout_redirect_uri"), q.Get("client_id")
	var sid string
	if hint := q.Get("id_token_hint"); hint != "" {
		var c struct {
			jwt.Claims
			AuthorizedParty string `json:"azp"`
			SessionID       string `json:"sid"`
		}
		// An expired hint is fine: a user often signs out after the ID
		// token has expired. The signature and issuer still must hold.
		if err := s.keys.verify(hint, &c); err != nil || c.Issuer != s.issuer {
			return &pageError{http.StatusBadRequest, "Sign-out refused",
				"The id_token_hint was not issued by this identity provider. Sign out from the app again."}
		}
		hintClient := c.AuthorizedParty
		if hintClient == "" && len(c.Audience) > 0 {
			hintClient = c.Audience[0]
		}
		if clientID != "" && clientID != hintClient {
			return &pageError{http.StatusBadRequest, "Sign-out refused",
				"The client_id does not match the id_token_hint. Sign out from the app again."}
		}
		clientID, sid = hintClient, c.SessionID
	}
	if target != "" {
		client, ok := s.clients[clientID]
		if !ok {
			return &pageError{http.StatusBadRequest, "Sign-out refused",
				"A post_logout_redirect_uri needs an id_token_hint that names the application. Sign out from the app again."}
		}
		if !registered(client.PostLogoutRedirectURIs, target) {
			return &pageError{http.StatusBadRequest, "Sign-out refused",
				fmt.Sprintf("The post_logout_redirect_uri is not registered for %s. Check APP_BASE_URL.", client.ID)}
		}
	}
	// Only now that the request is known good: a refused one changes nothing.
	if sid != "" {
		s.revokeSession(sid)
	}
	if target == "" {
		s.renderMessage(w, http.StatusOK, "Signed out", "You are signed out of the mock IdP. You can close this tab.")
		return nil
	}
	s.redirect(w, r, target, url.Values{"state": {q.Get("state")}})
	return nil
}

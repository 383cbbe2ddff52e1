package mockidp

import (
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"
)

// userinfo is the UserInfo response (OpenID Connect Core section 5.3.2).
type userinfo struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
}

// serveUserinfo answers GET or POST /userinfo for a bearer access token.
func (s *Server) serveUserinfo(w http.ResponseWriter, r *http.Request) error {
	invalid := &oauthError{http.StatusUnauthorized, "invalid_token", "A valid access token of this provider is required."}
	token, ok := bearer(r)
	if !ok {
		return invalid
	}
	var c jwt.Claims
	if err := s.keys.verify(token, &c); err != nil {
		return invalid
	}
	// No leeway: the token comes from this server's own clock. go-jose skips
	// an absent exp, so its presence is checked first.
	if c.Expiry == nil {
		return invalid
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, Time: s.now()}, 0); err != nil {
		return invalid
	}
	// Access tokens carry a jti and ID tokens none, so an ID token cannot
	// stand in for an access token; a management token names no user.
	u, ok := s.user(c.Subject)
	if c.ID == "" || !ok {
		return invalid
	}
	writeJSON(w, http.StatusOK, userinfo{
		Subject:       u.ID,
		Email:         u.Email,
		EmailVerified: true,
		Name:          u.Name,
		GivenName:     u.GivenName,
		FamilyName:    u.FamilyName,
	})
	return nil
}

// bearer returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 9110 section 11.1).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

package mockidp

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// serveDevToken is POST /dev/token, a convenience of the mock only (Scalekit
// has no such endpoint): it mints an access token for a demo user, named by
// email or user_id, for the demo client, so that the JSON API can be tried
// with curl without writing an OAuth client first (organization_id picks
// one organization of a member of several; the first by default):
//
//	TOKEN=$(curl -s -d email=bob@acme.example http://localhost:8081/dev/token | jq -r .access_token)
//
// The token is exactly what the token endpoint would issue.
func (s *Server) serveDevToken(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return invalidRequest("send email=<a demo user's email> or user_id=<id> as a form")
	}
	id := r.PostForm.Get("user_id")
	if email := r.PostForm.Get("email"); id == "" && email != "" {
		for _, u := range s.Users() {
			if strings.EqualFold(u.Email, email) {
				id = u.ID
			}
		}
	}
	client := r.PostForm.Get("client_id")
	if client == "" {
		client = DemoClientID
	}
	tok, err := s.OrgAccessToken(id, r.PostForm.Get("organization_id"), client)
	if errors.Is(err, ErrNotMember) {
		return invalidRequest("the user is not a member of that organization_id")
	}
	if err != nil {
		return invalidRequest("no such demo user or client: send email=<a demo user's email> or user_id=<id>")
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(s.ttl / time.Second)})
	return nil
}

package mockidp

import (
	"net/http"
	"strings"
)

// signInHinted is headless sign-in: GET /oauth/authorize with
// login_hint=<email> signs that user in at once, with no page, so that a
// test suite in any language (curl, Playwright, pytest) can sign in
// without clicking. An unknown email, or a user who is not a member of the
// requested organization, goes back to the client as the OAuth error
// access_denied, never as an HTML page a headless client would have to
// scrape. prompt=login shows the picker even with a hint (showPicker
// checks it).
//
// The hint names the person, not the organization: a member of several
// organizations gets the organization chooser, as at Scalekit, unless the
// request names one with organization_id, which is how a headless suite
// signs such a user in.
//
// It cannot be used for login CSRF against a relying party that checks
// state, as the app does: the code arrives with the attacker's state, not
// the one bound to the victim's browser.
func (s *Server) signInHinted(w http.ResponseWriter, r *http.Request, req authRequest, hint string) error {
	for _, u := range s.Users() {
		if strings.EqualFold(u.Email, hint) {
			return s.continueAs(w, r, req, u)
		}
	}
	return &redirectError{req.redirectURI, req.state, "access_denied", "login_hint names no user of the mock IdP."}
}

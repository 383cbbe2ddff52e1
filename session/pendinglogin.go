package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// A sign-in in progress (state, nonce, PKCE verifier, where to go next)
// lives in its own short-lived cookie, encrypted and signed, not in the
// database: starting a sign-in needs no account, so anybody can start
// millions, and they must cost the server no storage.

// pendingLogin is what /login hands to /auth/callback.
type pendingLogin struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"` // PKCE code_verifier
	ReturnTo string `json:"return_to"`
	// OrganizationID is the organization asked for, if any: it words a
	// refusal; the session's organization comes from the token alone.
	OrganizationID string `json:"organization_id,omitempty"`
	// Subject is the user who must come back, if any (a switch).
	Subject string `json:"subject,omitempty"`
}

// pendingLoginTTL bounds how long a sign-in may take at the IdP.
const pendingLoginTTL = 10 * time.Minute

// pendingCodec encrypts (AES-256) and signs (HMAC-SHA256) pending-login
// cookies, with keys derived from the session secret for this use only.
func pendingCodec(secret []byte) *securecookie.SecureCookie {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	c := securecookie.New(derive("pending-login signing"), derive("pending-login encryption"))
	c.MaxAge(int(pendingLoginTTL.Seconds())) // the timestamp inside is signed: an old cookie is refused
	c.SetSerializer(securecookie.JSONEncoder{})
	return c
}

// pendingCookieName names the pending-login cookie after the session cookie,
// keeping its __Host- prefix over https.
func pendingCookieName(sessionCookie string) string { return sessionCookie + "_login" }

// savePending sets the pending-login cookie. If the cookie would be too
// long even so (JSON writes some characters of a path six bytes long), the
// sign-in goes on and lands on "/": where to go afterwards is a
// convenience, and a visitor's return_to must never fail a sign-in.
func (s *SessionStore) savePending(w http.ResponseWriter, name string, p pendingLogin) error {
	v, err := s.pending.Encode(name, p)
	if err != nil && p.ReturnTo != "/" {
		p.ReturnTo = "/"
		v, err = s.pending.Encode(name, p)
	}
	if err != nil {
		return fmt.Errorf("encode pending sign-in: %w", err)
	}
	http.SetCookie(w, s.pendingCookie(name, v, int(pendingLoginTTL.Seconds())))
	return nil
}

// takePending reads the pending-login cookie and expires it: a pending
// sign-in is used once, whatever its outcome. ok is false when there is
// none, or it is forged, altered or older than pendingLoginTTL.
func (s *SessionStore) takePending(w http.ResponseWriter, r *http.Request, name string) (p pendingLogin, ok bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return p, false
	}
	http.SetCookie(w, s.pendingCookie(name, "", -1))
	if err := s.pending.Decode(name, c.Value, &p); err != nil || p.State == "" {
		return pendingLogin{}, false
	}
	return p, true
}

// pendingCookie is the pending-login cookie, with the session cookie's
// attributes and its own lifetime.
func (s *SessionStore) pendingCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true,
		Secure:   s.options.Secure,
		// Lax: sent on the top-level redirect back from the IdP.
		SameSite: http.SameSiteLaxMode,
	}
}

package mockidp

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Tamper alters the next user tokens the server issues. It is a test hook:
// relying-party tests use it to check that a bad ID token (wrong nonce,
// issuer, audience, expiry, subject or signature) ends sign-in cleanly.
type Tamper struct {
	IDClaims       func(claims map[string]any) // edits the ID token's claims before signing
	AccessClaims   func(claims map[string]any) // edits the access token's claims before signing
	BreakSignature bool                        // corrupts the ID token's signature after signing
}

// TamperNextTokens makes the next authorization-code or refresh answer
// carry tokens altered by t. Only the next one: later answers are honest.
func (s *Server) TamperNextTokens(t Tamper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper, s.ctl.tamperLeft = &t, 1
}

// takeTamper returns and clears the pending tamper, if any.
func (s *Server) takeTamper() *Tamper {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tamper
	// TamperTokens may ask for several answers; TamperNextTokens for one.
	if s.ctl.tamperLeft--; s.ctl.tamperLeft <= 0 {
		s.tamper = nil
	}
	return t
}

// signTampered signs claims after passing them through edit as a map.
func (s *Server) signTampered(claims any, edit func(map[string]any)) (string, error) {
	if edit == nil {
		return s.keys.sign(claims)
	}
	data, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("tamper: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("tamper: %w", err)
	}
	edit(m)
	return s.keys.sign(m)
}

// breakSignature flips one character of a compact JWS's signature.
func breakSignature(tok string) string {
	i := strings.LastIndex(tok, ".") + 1
	if i <= 0 || i >= len(tok) {
		return tok
	}
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

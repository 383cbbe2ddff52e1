package mockidp

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"
)

// Lifetimes of what the server keeps in memory.
const (
	codeTTL    = 60 * time.Second
	refreshTTL = 14 * 24 * time.Hour
)

// authCode is a one-time authorization code and everything it was issued
// for; the token endpoint checks each of them again.
type authCode struct {
	clientID    string
	redirectURI string
	userID      string
	orgID       string // the membership chosen at sign-in: the code is good for it only
	scope       string
	nonce       string
	challenge   string // PKCE S256 code_challenge
	sid         string
	expires     time.Time
	used        bool
	family      *family // set on redemption, so a replay can revoke what the code yielded
}

// family is one sign-in as seen by the token endpoint: the chain of refresh
// tokens that descend from one authorization code.
type family struct {
	userID   string
	orgID    string // fixed at sign-in: no refresh changes it
	clientID string
	scope    string
	sid      string
	revoked  bool
}

// refreshToken is one link of a family. A used one is kept until it expires
// so that a replay is recognized, not mistaken for an unknown token.
type refreshToken struct {
	family  *family
	expires time.Time
	used    bool
}

// grants holds codes and refresh tokens; Server.mu guards it.
type grants struct {
	codes     map[string]*authCode
	refresh   map[string]*refreshToken
	lastSweep time.Time
}

func newGrants() grants {
	return grants{codes: map[string]*authCode{}, refresh: map[string]*refreshToken{}}
}

// issueCode stores c under a new random code.
func (s *Server) issueCode(c authCode) string {
	code := rand.Text()
	now := s.now()
	c.expires = now.Add(codeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.grants.codes[code] = &c
	return code
}

// redeemCode spends a code for clientID and starts its family. A code is
// burnt by its first redemption attempt, even a failed one, and a second
// attempt revokes every refresh token the first one yielded (RFC 6749
// section 4.1.2): the code has leaked.
//
// orgs are the organization_id values the request carries, if any: each
// must be the code's own organization, since a code is good for the
// membership chosen at sign-in only.
func (s *Server) redeemCode(code, clientID, redirectURI, verifier string, orgs []string) (authCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.grants.codes[code]
	if !ok || !s.now().Before(c.expires) {
		return authCode{}, invalidGrant("The authorization code is unknown or expired. Start the sign-in again.")
	}
	if c.used {
		if c.family != nil {
			c.family.revoked = true
		}
		return authCode{}, invalidGrant("The authorization code was already used. Start the sign-in again.")
	}
	c.used = true
	switch {
	case c.clientID != clientID:
		return authCode{}, invalidGrant("The authorization code was issued to another client.")
	case c.redirectURI != redirectURI:
		return authCode{}, invalidGrant("redirect_uri differs from the one of the authorization request.")
	case !pkceMatches(verifier, c.challenge):
		return authCode{}, invalidGrant("code_verifier does not match the code_challenge.")
	case !sameOrg(orgs, c.orgID):
		return authCode{}, invalidGrant("organization_id differs from the organization chosen at sign-in; the code is good for that one only.")
	}
	c.family = &family{userID: c.userID, orgID: c.orgID, clientID: c.clientID, scope: c.scope, sid: c.sid}
	return *c, nil
}

// issueRefresh adds a new refresh token to f.
func (s *Server) issueRefresh(f *family) string {
	tok := rand.Text()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.grants.refresh[tok] = &refreshToken{family: f, expires: now.Add(refreshTTL)}
	return tok
}

// redeemRefresh spends a refresh token. Tokens rotate: each is good once, and
// a replay of a used one revokes its whole family, because either the client
// or an attacker holds a stolen copy and the server cannot tell which.
//
// orgs are the organization_id values the request carries: a client that
// hopes to switch organizations by refreshing is refused with
// invalid_request and its token is not spent, so the sign-in goes on in
// its own organization. Switching is a new authorization request.
func (s *Server) redeemRefresh(tok, clientID string, orgs []string) (*family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.grants.refresh[tok]
	switch {
	case !ok || !s.now().Before(rt.expires):
		return nil, invalidGrant("The refresh token is unknown or expired. Sign in again.")
	case rt.family.clientID != clientID:
		return nil, invalidGrant("The refresh token was issued to another client.")
	case rt.used:
		rt.family.revoked = true
		s.refreshes.replays.Add(1)
		return nil, invalidGrant("The refresh token was already used; every token of this sign-in is now revoked. Sign in again.")
	case rt.family.revoked:
		return nil, invalidGrant("The refresh token was revoked. Sign in again.")
	case !sameOrg(orgs, rt.family.orgID):
		return nil, invalidRequest("A refresh keeps the organization of its sign-in: organization_id cannot switch it. " +
			"Authorize again with prompt=select_account&organization_id=... for a token of another organization.")
	}
	rt.used = true
	s.refreshes.rotated.Add(1)
	return rt.family, nil
}

// sameOrg reports whether every organization_id a token request carries
// is the grant's own organization (none at all is fine).
func sameOrg(orgs []string, orgID string) bool {
	for _, o := range orgs {
		if o != orgID {
			return false
		}
	}
	return true
}

// refreshStats counts refresh_token grants, for tests of relying parties
// that share sessions (several instances must refresh a session once).
type refreshStats struct {
	rotated atomic.Int64 // refresh tokens spent: each answered with a new one
	replays atomic.Int64 // used refresh tokens presented again
}

// Refreshes reports how many refresh tokens were spent, each exchanged
// for new tokens. Test hook: "one refresh" is a difference of 1.
func (s *Server) Refreshes() int64 { return s.refreshes.rotated.Load() }

// RefreshReplays reports how many used refresh tokens came back, each of
// which revoked its sign-in. Test hook: a relying party that never
// replays keeps it at 0.
func (s *Server) RefreshReplays() int64 { return s.refreshes.replays.Load() }

// revokeSession revokes the refresh tokens of one sign-in, as logging out
// at the IdP does.
func (s *Server) revokeSession(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.grants.refresh {
		if rt.family.sid == sid {
			rt.family.revoked = true
		}
	}
}

// sweep forgets expired codes and refresh tokens, so memory stays bounded
// however long the server runs. It runs at most every few seconds, so that
// a load test issuing many tokens does not pay for a full scan each time.
// The caller holds s.mu.
func (s *Server) sweep(now time.Time) {
	if now.Sub(s.grants.lastSweep) < 10*time.Second {
		return
	}
	s.grants.lastSweep = now
	for k, c := range s.grants.codes {
		if !now.Before(c.expires) {
			delete(s.grants.codes, k)
		}
	}
	for k, rt := range s.grants.refresh {
		if !now.Before(rt.expires) {
			delete(s.grants.refresh, k)
		}
	}
}

// newID returns prefix followed by 18 random digits, the shape of
// Scalekit's IDs (tkn_..., ses_...).
func newID(prefix string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e18))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%s%018d", prefix, n)
}

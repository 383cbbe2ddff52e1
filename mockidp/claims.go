package mockidp

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"
)

// Token claims, as Scalekit issues them. Structs rather than maps, so that
// the claim set is fixed and reads as the contract in DESIGN.md.

// accessClaims is a user's access token: who, for which client, in which
// organization, with which roles and effective permissions.
type accessClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    []string `json:"aud"`
	ClientID    string   `json:"client_id"`
	Expiry      int64    `json:"exp"`
	IssuedAt    int64    `json:"iat"`
	NotBefore   int64    `json:"nbf"`
	ID          string   `json:"jti"`
	SessionID   string   `json:"sid"`
	OrgID       string   `json:"oid"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
}

// managementClaims is a client_credentials token: the client acts for
// itself, so there is no user, organization or role.
type managementClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ClientID  string   `json:"client_id"`
	Expiry    int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	ID        string   `json:"jti"`
}

// idClaims is an ID token: what the app's pages show about the user.
type idClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        []string `json:"aud"`
	AuthorizedParty string   `json:"azp"`
	ClientID        string   `json:"client_id"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	Nonce           string   `json:"nonce,omitempty"`
	AccessTokenHash string   `json:"at_hash"`
	Email           string   `json:"email"`
	EmailVerified   bool     `json:"email_verified"`
	Name            string   `json:"name"`
	GivenName       string   `json:"given_name"`
	FamilyName      string   `json:"family_name"`
	OrgID           string   `json:"oid"`
	Roles           []string `json:"roles"`
	SessionID       string   `json:"sid"`
}

// tokenResponse is the token endpoint's answer (RFC 6749 section 5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// managementTTL is the lifetime of client_credentials tokens (Scalekit: a day).
const managementTTL = 24 * time.Hour

// userTokens mints an access token and an ID token for one sign-in (sid)
// of u into membership m: oid, roles and permissions are that
// organization's only. The caller read m just now, so a refresh after
// SetUserRoles or after a change through the management API carries the
// new roles.
func (s *Server) userTokens(u User, m Membership, clientID, sid, nonce, scope string) (tokenResponse, error) {
	now := s.now()
	tamper := s.takeTamper()
	if tamper == nil {
		tamper = &Tamper{}
	}
	access, roles, err := s.accessToken(u, m, clientID, sid, now, tamper)
	if err != nil {
		return tokenResponse{}, err
	}
	id, err := s.signTampered(idClaims{
		Issuer:          s.issuer,
		Subject:         u.ID,
		Audience:        []string{clientID},
		AuthorizedParty: clientID,
		ClientID:        clientID,
		Expiry:          now.Add(s.ttl).Unix(),
		IssuedAt:        now.Unix(),
		Nonce:           nonce,
		AccessTokenHash: atHash(access),
		Email:           u.Email,
		EmailVerified:   true,
		Name:            u.Name,
		GivenName:       u.GivenName,
		FamilyName:      u.FamilyName,
		OrgID:           m.OrgID,
		Roles:           roles,
		SessionID:       sid,
	}, tamper.IDClaims)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("id token: %w", err)
	}
	if tamper.BreakSignature {
		id = breakSignature(id)
	}
	return tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.ttl / time.Second),
		IDToken:     id,
		Scope:       scope,
	}, nil
}

// accessToken mints the access token of userTokens, with tamper's changes
// to its claims (nil: none), and returns the roles it carries.
func (s *Server) accessToken(u User, m Membership, clientID, sid string, now time.Time, tamper *Tamper) (string, []string, error) {
	roles := slices.Clone(m.Roles)
	if roles == nil {
		roles = []string{} // an empty array, never null: relying parties iterate it
	}
	if tamper == nil {
		tamper = &Tamper{}
	}
	access, err := s.signTampered(accessClaims{
		Issuer:      s.issuer,
		Subject:     u.ID,
		Audience:    []string{clientID},
		ClientID:    clientID,
		Expiry:      now.Add(s.ttl).Unix(),
		IssuedAt:    now.Unix(),
		NotBefore:   now.Unix(),
		ID:          newID("tkn_"),
		SessionID:   sid,
		OrgID:       m.OrgID,
		Roles:       roles,
		Permissions: s.effectivePermissions(m.OrgID, roles),
	}, tamper.AccessClaims)
	if err != nil {
		return "", nil, fmt.Errorf("access token: %w", err)
	}
	return access, roles, nil
}

// managementToken mints a client_credentials token for the client itself.
func (s *Server) managementToken(clientID string) (tokenResponse, error) {
	now := s.now()
	tok, err := s.keys.sign(managementClaims{
		Issuer:    s.issuer,
		Subject:   clientID,
		Audience:  []string{clientID},
		ClientID:  clientID,
		Expiry:    now.Add(managementTTL).Unix(),
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		ID:        newID("tkn_"),
	})
	if err != nil {
		return tokenResponse{}, fmt.Errorf("management token: %w", err)
	}
	return tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(managementTTL / time.Second)}, nil
}

// atHash binds an ID token to its access token (OpenID Connect Core
// section 3.1.3.6): the left half of the SHA-256 of the token, base64url.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// AccessToken mints an access token for a user and client exactly as the
// token endpoint would after a fresh sign-in, so tests can call the app's
// API with a bearer token without driving the browser flow. The token is
// for the user's first organization (User.OrgID); OrgAccessToken names
// another.
func (s *Server) AccessToken(userID, clientID string) (string, error) {
	return s.OrgAccessToken(userID, "", clientID)
}

// OrgAccessToken is AccessToken for the user's membership of orgID: its
// oid, roles and permissions are that organization's. An empty orgID is
// the first organization; one the user is not in is ErrNotMember, and no
// token.
func (s *Server) OrgAccessToken(userID, orgID, clientID string) (string, error) {
	if _, ok := s.clients[clientID]; !ok {
		return "", fmt.Errorf("access token: no client %q", clientID)
	}
	u, ok := s.user(userID)
	if !ok {
		return "", fmt.Errorf("access token: user %q: %w", userID, ErrNoUser)
	}
	m := u.Memberships[0]
	if orgID != "" {
		if m, ok = u.Membership(orgID); !ok {
			return "", fmt.Errorf("access token: user %q in %q: %w", userID, orgID, ErrNotMember)
		}
	}
	// Only the access token: signing an ID token nobody reads would double
	// the cost of every token a test mints.
	access, _, err := s.accessToken(u, m, clientID, newID("ses_"), s.now(), s.takeTamper())
	return access, err
}

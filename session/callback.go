package session

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"regexp"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

// oauthErrorCode matches the OAuth error vocabulary (access_denied, ...):
// only such a code is repeated to the user, never free text from the URL.
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// Callback completes sign-in: it checks state, exchanges the code with the
// PKCE verifier, verifies the ID token (and its nonce and subject, which
// go-oidc leaves to the caller) and the access token, then starts a new
// session under a new id.
func (rp *RelyingParty) Callback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	// The pending sign-in is used once, whatever happens next.
	pending, ok := rp.cfg.Sessions.takePending(w, r, pendingCookieName(rp.cookie))
	if !ok {
		return &SignInError{Reason: "No sign-in was in progress in this browser, or it took longer than 10 minutes. Please sign in again."}
	}
	state, nonce, verifier, returnTo := pending.State, pending.Nonce, pending.Verifier, pending.ReturnTo

	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return &SignInError{Reason: "The sign-in response does not belong to the sign-in this browser started (state mismatch). Please sign in again."}
	}
	if e := q.Get("error"); e != "" {
		if !oauthErrorCode.MatchString(e) {
			e = "unknown_error"
		}
		if e == "access_denied" && pending.OrganizationID != "" {
			// A switch refused: the session, if any, was not touched and
			// still holds the organization it held.
			return &SignInError{Reason: "The identity provider did not let you into organization " + pending.OrganizationID +
				" (access_denied): you are not a member of it, or no longer. Nothing changed: you are still signed in where you were."}
		}
		return &SignInError{Reason: "The identity provider did not sign you in (" + e + ")."}
	}
	// RFC 9207: when the IdP names itself, it must be the one we asked.
	if iss := q.Get("iss"); iss != "" && iss != rp.cfg.Issuer {
		return &SignInError{Reason: "The sign-in response came from an unexpected identity provider."}
	}

	// The tokens reflect the user's roles as of at least now: by the
	// database's clock, which role changes are dated by (RolesChanged).
	reading, err := rp.cfg.Sessions.leases.Now(r.Context())
	if err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	asked := askedAt(reading)
	tctx, cancel := rp.tokenContext(r)
	defer cancel()
	tok, err := rp.oauth.Exchange(tctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		if isUnreachable(err) {
			return fmt.Errorf("exchange code: %w (%w)", auth.ErrIdPUnreachable, err)
		}
		return &SignInError{Reason: "The identity provider refused the sign-in code; it may have been used already. Please sign in again.", Err: err}
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return &SignInError{Reason: "The identity provider sent no ID token."}
	}
	idTok, err := rp.idVerifier.Verify(ctx, rawID)
	if err != nil {
		return &SignInError{Reason: "The ID token did not verify (signature, issuer, audience or expiry).", Err: err}
	}
	if subtle.ConstantTimeCompare([]byte(idTok.Nonce), []byte(nonce)) != 1 {
		return &SignInError{Reason: "The ID token was not issued for this sign-in (nonce mismatch)."}
	}
	if idTok.Subject == "" {
		return &SignInError{Reason: "The ID token names no user (no sub)."}
	}
	if reason := rp.checkIDToken(idTok); reason != "" {
		return &SignInError{Reason: reason}
	}
	if idTok.AccessTokenHash != "" {
		if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil {
			return &SignInError{Reason: "The access token does not match the ID token (at_hash).", Err: err}
		}
	}
	p, err := rp.access.Verify(ctx, tok.AccessToken)
	if err != nil {
		return &SignInError{Reason: "The access token did not verify.", Err: err}
	}
	if p.Subject != idTok.Subject {
		return &SignInError{Reason: "The access token and the ID token name different users."}
	}
	// A switch asked for one user in one organization: whatever else came
	// back (an IdP that ignores organization_id, another account picked at
	// the IdP) is refused, and the session keeps the organization it had.
	if pending.Subject != "" && p.Subject != pending.Subject {
		return &SignInError{Reason: "The identity provider signed in another user than the one switching organization. Nothing changed: sign out first to change user."}
	}
	if pending.OrganizationID != "" && p.OrgID != pending.OrganizationID {
		return &SignInError{Reason: "The identity provider answered with a token of organization " + p.OrgID + ", not of " + pending.OrganizationID +
			", the one asked for. Nothing changed: you are still signed in where you were."}
	}
	var profile struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idTok.Claims(&profile); err != nil {
		return &SignInError{Reason: "The ID token's claims are malformed.", Err: err}
	}
	p.Email, p.Name = profile.Email, profile.Name
	if rp.cfg.OnSignIn != nil {
		if err := rp.cfg.OnSignIn(ctx, p); err != nil {
			return fmt.Errorf("callback: %w", err)
		}
	}

	// A new session with a new id: whatever session the browser held
	// before (perhaps planted by an attacker) ends now. Until this point it
	// was left alone, so a forged callback cannot sign anybody out.
	if old, err := rp.cfg.Sessions.New(r, rp.cookie); err == nil && !old.IsNew {
		if err := rp.cfg.Sessions.delete(ctx, old.ID); err != nil {
			return fmt.Errorf("callback: %w", err)
		}
	}
	sess := sessions.NewSession(rp.cfg.Sessions, rp.cookie)
	opts := rp.cfg.Sessions.options
	sess.Options = &opts
	sess.IsNew = true
	d := dataOf(sess)
	setTokens(d, tok)
	d.Obtained, d.Created = asked, rp.now()
	d.Email, d.Name = profile.Email, profile.Name
	d.Subject, d.OrgID = p.Subject, p.OrgID
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	rp.log.InfoContext(ctx, "signed in", "sub", p.Subject, "oid", p.OrgID, "roles", p.Roles)
	http.Redirect(w, r, SafeReturnPath(returnTo), http.StatusSeeOther)
	return nil
}

// checkIDToken makes the checks of OpenID Connect Core 3.1.3.7 that go-oidc
// leaves to the caller, and returns why the ID token is refused, or "".
func (rp *RelyingParty) checkIDToken(idTok *oidc.IDToken) string {
	// iat is required (Core 2); go-oidc reads it but accepts a token
	// without one, or from the future.
	switch {
	case idTok.IssuedAt.IsZero():
		return "The ID token has no issue time (iat)."
	case idTok.IssuedAt.After(rp.now().Add(auth.ClockLeeway)):
		return "The ID token was issued in the future (iat): is this server's clock right?"
	}
	var c struct {
		AZP string `json:"azp"`
	}
	if err := idTok.Claims(&c); err != nil {
		return "The ID token's claims are malformed."
	}
	// azp names the client the token was issued to: if present it must be
	// us, and with several audiences it must be present.
	if (c.AZP != "" && c.AZP != rp.cfg.ClientID) || (c.AZP == "" && len(idTok.Audience) > 1) {
		return "The ID token was issued to another client (azp)."
	}
	return ""
}

// setTokens stores a token response in the session. A refresh answer
// without a new refresh token or ID token keeps the previous ones.
func setTokens(d *Data, tok *oauth2.Token) {
	d.AccessToken, d.Expiry = tok.AccessToken, tok.Expiry
	if tok.RefreshToken != "" {
		d.RefreshToken = tok.RefreshToken
	}
	if id, ok := tok.Extra("id_token").(string); ok && id != "" {
		d.IDToken = id
	}
}

// TokenClaims are the decoded claims of the session's current tokens.
type TokenClaims struct {
	Access map[string]any
	ID     map[string]any
}

// Claims returns the verified claims of the request's session tokens, for
// the /me page. The ID token's expiry is not checked: it proved the
// sign-in, and its claims are shown for what they are.
func (rp *RelyingParty) Claims(r *http.Request) (TokenClaims, error) {
	sess, err := rp.cfg.Sessions.New(r, rp.cookie)
	if err != nil {
		return TokenClaims{}, fmt.Errorf("read session: %w", err)
	}
	d := dataOf(sess)
	raw := d.AccessToken
	if raw == "" {
		return TokenClaims{}, auth.ErrUnauthenticated
	}
	access, err := rp.access.Claims(r.Context(), raw)
	if err != nil {
		return TokenClaims{}, err
	}
	claims := TokenClaims{Access: access}
	if rawID := d.IDToken; rawID != "" {
		if tok, err := rp.idDisplay.Verify(r.Context(), rawID); err == nil {
			_ = tok.Claims(&claims.ID)
		}
	}
	return claims, nil
}

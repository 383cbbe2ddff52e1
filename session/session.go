package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

// Sessions returns middleware for browser routes: it reads the session,
// refreshes its access token when it is about to expire, verifies it, and
// puts the principal into the request context. Signed-out requests pass
// on without one; their route's gate decides.
func (rp *RelyingParty) Sessions(fail auth.ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := rp.principal(w, r)
			if err != nil {
				fail(w, r, err)
				return
			}
			if p != nil {
				r = r.WithContext(auth.WithPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (rp *RelyingParty) principal(w http.ResponseWriter, r *http.Request) (*auth.Principal, error) {
	sess, err := rp.cfg.Sessions.New(r, rp.cookie)
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if sess.IsNew || dataOf(sess).AccessToken == "" {
		return nil, nil
	}
	if rp.now().Sub(dataOf(sess).Created) > rp.cfg.Sessions.Lifetime() {
		return nil, rp.end(w, r, sess) // sign in again, at least once per Lifetime
	}
	if rp.needsRefresh(sess) {
		if sess, err = rp.refresh(w, r, sess, ""); sess == nil || err != nil {
			return nil, err
		}
	}
	// The token came from the IdP over TLS and sits in our database, yet it
	// goes through the same verifier as a bearer token on every request
	// (a cache hit once its signature has been checked): the session store
	// is not where authorization decisions are made.
	raw := dataOf(sess).AccessToken
	p, err := rp.access.Verify(r.Context(), raw)
	if expired := (*oidc.TokenExpiredError)(nil); errors.As(err, &expired) {
		// It expired between needsRefresh and now (a slow request, a short
		// lifetime): that calls for a refresh, not a sign-out.
		if sess, err = rp.refresh(w, r, sess, raw); sess == nil || err != nil {
			return nil, err
		}
		raw = dataOf(sess).AccessToken
		p, err = rp.access.Verify(r.Context(), raw)
	}
	if err != nil && r.Context().Err() != nil {
		// The client went away while a key was being fetched: that says
		// nothing about the token, so the session stays.
		return nil, fmt.Errorf("verify session token: %w", context.Cause(r.Context()))
	}
	if err != nil {
		rp.log.InfoContext(r.Context(), "session token no longer verifies; signing out", "reason", reasonOf(err))
		return nil, rp.end(w, r, sess)
	}
	// The user's roles changed after this token was minted: its roles and
	// permissions are out of date. Get a new token now rather than letting
	// the old one grant what was taken away for up to five minutes.
	if rp.cfg.RolesChanged != nil && rp.cfg.RolesChanged(r.Context(), p.OrgID, p.Subject, rolesAsOf(sess, p)) {
		if sess, err = rp.refresh(w, r, sess, raw); sess == nil || err != nil {
			return nil, err
		}
		if p, err = rp.access.Verify(r.Context(), dataOf(sess).AccessToken); err != nil {
			return nil, rp.end(w, r, sess)
		}
	}
	p.Email, p.Name = dataOf(sess).Email, dataOf(sess).Name
	return p, nil
}

// needsRefresh reports whether less than a fifth of the access token's
// life is left (at most 30 s): refreshing a little early keeps a request
// from failing on a token that expires while it is served.
func (rp *RelyingParty) needsRefresh(sess *sessions.Session) bool {
	d := dataOf(sess)
	if d.Expiry.IsZero() || d.Obtained.IsZero() {
		return true
	}
	margin := min(30*time.Second, d.Expiry.Sub(d.Obtained)/5)
	return rp.now().Add(margin).After(d.Expiry)
}

// refreshTimeout bounds a refresh once its lease is held: the token call
// (idpTimeout) and the session's reload and save around it. It stays
// within leaseTTL, so the lease outlasts the work it protects.
const refreshTimeout = idpTimeout + 3*time.Second

// refresh renews the session's tokens, one refresh at a time per session.
// With stale == "" it refreshes a token about to expire; otherwise it
// replaces the token stale, whose roles are out of date. It returns a nil
// session when the session has ended.
//
// Once the lease is held, the refresh runs to its end even if the browser
// goes away: the IdP rotates the refresh token on use, so a refresh whose
// save was cancelled would leave the used token in the session, and the
// next request would replay it and have the whole sign-in revoked.
func (rp *RelyingParty) refresh(w http.ResponseWriter, r *http.Request, sess *sessions.Session, stale string) (*sessions.Session, error) {
	unlock := rp.refreshing.Lock(sess.ID)
	defer unlock()
	held, err := rp.cfg.Sessions.lease(r.Context(), sess.ID)
	if err != nil {
		return nil, err // nothing asked of the IdP yet: giving up is harmless
	}
	defer held.Release(r.Context())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refreshTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	// Another request of this session, here or on another instance, may
	// have refreshed while we waited.
	cur, err := rp.cfg.Sessions.New(r, rp.cookie)
	if err != nil {
		return nil, fmt.Errorf("reload session: %w", err)
	}
	if cur.IsNew {
		return nil, nil
	}
	d := dataOf(cur)
	if stale == "" && !rp.needsRefresh(cur) || stale != "" && d.AccessToken != stale {
		return cur, nil
	}
	expired := !rp.now().Before(d.Expiry)
	rt := d.RefreshToken
	if rt == "" {
		if expired || stale != "" {
			return nil, rp.end(w, r, cur) // no offline_access granted: sign in again
		}
		return cur, nil
	}
	// Still ours? This instance may have stalled (a pause, a slow reload)
	// past the lease, and another taken it: spending the refresh token now
	// would replay it. The renewal also reads the database's clock, which
	// dates when the token was asked for (see keyObtained).
	renewed, err := held.Renew(ctx)
	if err != nil {
		return nil, renewFailed(err)
	}
	asked := askedAt(renewed)
	tctx, cancel := rp.tokenContext(r)
	defer cancel()
	tok, err := rp.oauth.TokenSource(tctx, &oauth2.Token{RefreshToken: rt}).Token()
	switch {
	case err != nil && isUnreachable(err) && !expired && stale == "":
		rp.log.WarnContext(r.Context(), "token refresh failed; the current token is still valid", "err", err)
		return cur, nil
	case err != nil && isUnreachable(err):
		// An expired token, or one whose roles are out of date, must not
		// be used: fail closed until the IdP answers.
		return nil, fmt.Errorf("refresh token: %w (%w)", auth.ErrIdPUnreachable, err)
	case err != nil:
		// The IdP refused: revoked, replayed elsewhere, or the user was
		// removed. The session is over.
		rp.log.InfoContext(r.Context(), "token refresh refused; signing out", "err", err)
		return nil, rp.end(w, r, cur)
	}
	setTokens(d, tok)
	d.Obtained = asked
	// And before the save: a holder that lost the lease meanwhile must not
	// overwrite what the new holder saved.
	if _, err := held.Renew(ctx); err != nil {
		return nil, renewFailed(err)
	}
	if err := cur.Save(r, w); err != nil {
		return nil, fmt.Errorf("save refreshed session: %w", err)
	}
	return cur, nil
}

// end deletes the session and its cookie.
func (rp *RelyingParty) end(w http.ResponseWriter, r *http.Request, sess *sessions.Session) error {
	sess.Options.MaxAge = -1
	if err := sess.Save(r, w); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// rolesAsOf is the moment the session's token read the user's roles: when
// the app asked the IdP for it (precise), or else its iat (whole seconds).
func rolesAsOf(sess *sessions.Session, p *auth.Principal) time.Time {
	if t := dataOf(sess).Obtained; !t.IsZero() {
		return t
	}
	return p.IssuedAt
}

func reasonOf(err error) string {
	if te := (*auth.TokenError)(nil); errors.As(err, &te) {
		return te.Reason
	}
	return "unknown"
}

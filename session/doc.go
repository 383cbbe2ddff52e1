// Package session is the app's side of OpenID Connect for browsers: sign-in
// with the authorization code flow (PKCE, state, nonce), a server-side
// session kept sealed in the database, token refresh (one at a time per
// session, across instances), and sign-out. Every request's access token
// still goes through auth's verifier: the session is where tokens are kept,
// not where authorization is decided.
package session

// Package auth is the authorization core: it verifies an access token (the
// IdP's key set, the claims an access token must carry, a cache of tokens
// that verified), turns it into a Principal, and checks a route's Gate
// against it. Bearer is the middleware of an API; Require and Handle put a
// gate on one route of any router. It holds no state beyond the caches and
// needs no database: an API that only receives access tokens needs only
// this package and rbac.
//
// Browser sign-in and sessions are the session package's, which hands the
// same Principal to the same gates.
package auth

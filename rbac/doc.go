// Package rbac is the authorization model of the app: the permissions and
// roles of rbac.seed.json, role inheritance, and the effective permissions
// of a set of roles.
//
// It is pure code (no HTTP, no clock, no I/O beyond reading the seed file),
// so the same model drives the app's gates, the mock IdP's tokens, the seed
// command and the authorization-matrix tests.
package rbac

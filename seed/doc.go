// Package seed registers an RBAC model (rbac.seed.json) in a Scalekit
// environment through its management API (package scalekit): NewPlan reads
// the environment and lists what differs, Apply makes those changes in
// dependency order. cmd/seed is its command line; the mock IdP serves the
// same API, so the same plan runs against it.
package seed

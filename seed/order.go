package seed

import (
	"maps"
	"slices"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// Orders and set arithmetic of a plan.

// baseFirst orders roles so that each comes after the role it extends,
// keeping the file's order otherwise. Bases outside the list (a global
// base of an organization role) are already there.
func baseFirst(roles []rbac.Role) []rbac.Role {
	byName := make(map[string]rbac.Role, len(roles))
	for _, r := range roles {
		byName[r.Name] = r
	}
	done := map[string]bool{}
	out := make([]rbac.Role, 0, len(roles))
	var visit func(r rbac.Role)
	visit = func(r rbac.Role) {
		if done[r.Name] {
			return
		}
		done[r.Name] = true // before the base: a remote cycle must not loop
		if base, ok := byName[r.Extends]; ok {
			visit(base)
		}
		out = append(out, r)
	}
	for _, r := range roles {
		visit(r)
	}
	return out
}

// dependentsFirst orders roles so that each comes before the role it
// extends, keeping the given order otherwise: the order of deletion.
func dependentsFirst(roles []rbac.Role) []rbac.Role {
	done := map[string]bool{}
	out := make([]rbac.Role, 0, len(roles))
	var visit func(r rbac.Role)
	visit = func(r rbac.Role) {
		if done[r.Name] {
			return
		}
		done[r.Name] = true
		for _, d := range roles {
			if d.Extends == r.Name {
				visit(d)
			}
		}
		out = append(out, r)
	}
	for _, r := range roles {
		visit(r)
	}
	return out
}

// names returns the permissions' names as the management API spells them.
func names(perms []rbac.Permission) []string {
	out := make([]string, len(perms))
	for i, p := range perms {
		out[i] = string(p)
	}
	return out
}

// setDiff returns the names in want and not in have, and those in have
// and not in want, sorted.
func setDiff(want, have []string) (added, removed []string) {
	for _, w := range want {
		if !slices.Contains(have, w) && !slices.Contains(added, w) {
			added = append(added, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			removed = append(removed, h)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

package mockidp

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// permissionJSON is a permission as the API answers it.
type permissionJSON struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	Description          string `json:"description"`
	CreateTime           string `json:"create_time"`
	UpdateTime           string `json:"update_time"`
	IsScalekitPermission bool   `json:"is_scalekit_permission"`
}

func (p *permRecord) json() permissionJSON {
	return permissionJSON{ID: p.id, Name: p.name, Description: p.description,
		CreateTime: p.created.UTC().Format(time.RFC3339), UpdateTime: p.updated.UTC().Format(time.RFC3339),
		IsScalekitPermission: p.scalekit}
}

// permissionBody is the body of create and update.
type permissionBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (b permissionBody) validate() error {
	var v validator
	v.pattern("name", b.Name, permissionNamePattern)
	v.length("description", b.Description, 0, 2000)
	return v.err()
}

// listPermissions is GET /api/v1/permissions, paged, sorted by name:
// type=ENVIRONMENT lists the environment's own, type=SCALEKIT Scalekit's
// (sk_...), ALL (the default) both.
func (s *Server) listPermissions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	kind := cmp.Or(q.Get("type"), "ALL")
	if !slices.Contains([]string{"ALL", "ENVIRONMENT", "SCALEKIT"}, kind) {
		return invalidArgument("type must be ALL, SCALEKIT or ENVIRONMENT.", fieldViolation{"type", "value must be one of ALL, SCALEKIT, ENVIRONMENT", "enum"})
	}
	size, offset, err := pageParams(q.Get("page_size"), q.Get("page_token"), 30)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var all []permissionJSON
	for _, name := range slices.Sorted(maps.Keys(s.catalog.perms)) {
		p := s.catalog.perms[name]
		if kind == "ALL" || p.scalekit == (kind == "SCALEKIT") {
			all = append(all, p.json())
		}
	}
	s.mu.Unlock()
	page, next := paginate(all, size, offset)
	writeManaged(w, http.StatusOK, struct {
		Permissions   []permissionJSON `json:"permissions"`
		NextPageToken string           `json:"next_page_token"`
		PrevPageToken string           `json:"prev_page_token"`
		TotalSize     int              `json:"total_size"`
	}{page, next, "", len(all)})
	return nil
}

func (s *Server) createPermission(w http.ResponseWriter, r *http.Request) error {
	var b permissionBody
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if err := b.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.catalog.perms[b.Name]; dup {
		return duplicateKey()
	}
	now := s.now()
	p := &permRecord{id: newID("perm_"), name: b.Name, description: b.Description, created: now, updated: now}
	s.catalog.perms[b.Name] = p
	writeManaged(w, http.StatusCreated, map[string]permissionJSON{"permission": p.json()})
	return nil
}

func (s *Server) getPermission(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.catalog.perms[r.PathValue("name")]
	if !ok {
		return notFound("Permission %q does not exist.", r.PathValue("name"))
	}
	writeManaged(w, http.StatusOK, map[string]permissionJSON{"permission": p.json()})
	return nil
}

// updatePermission is PUT: the body repeats the name, which cannot change.
func (s *Server) updatePermission(w http.ResponseWriter, r *http.Request) error {
	var b permissionBody
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if err := b.validate(); err != nil {
		return err
	}
	name := r.PathValue("name")
	if b.Name != name {
		return invalidArgument("A permission cannot be renamed: the body's name must be the one in the path.",
			fieldViolation{"permission.name", "must equal the permission name in the path", "immutable"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.catalog.perms[name]
	if !ok {
		return notFound("Permission %q does not exist.", name)
	}
	if p.scalekit {
		return scalekitOwned(name)
	}
	p.description, p.updated = b.Description, s.now()
	writeManaged(w, http.StatusOK, map[string]permissionJSON{"permission": p.json()})
	return nil
}

// deletePermission refuses a permission that a role still grants, so that
// no role is left naming a permission that does not exist.
func (s *Server) deletePermission(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.catalog.perms[name]
	if !ok {
		return notFound("Permission %q does not exist.", name)
	}
	if p.scalekit {
		return scalekitOwned(name)
	}
	if roles := s.catalog.grantedBy(name); len(roles) > 0 {
		return failedPrecondition("Permission %q is granted by %s: remove it from those roles first.", name, strings.Join(roles, ", "))
	}
	delete(s.catalog.perms, name)
	writeManaged(w, http.StatusOK, struct{}{})
	return nil
}

// pageParams reads page_size (1 to 100, default def) and the opaque
// page_token, which holds an offset.
func pageParams(sizeParam, token string, def int) (size, offset int, err error) {
	size = def
	if sizeParam != "" {
		n, convErr := strconv.Atoi(sizeParam)
		if convErr != nil || n < 0 || n > 100 {
			return 0, 0, invalidArgument("page_size must be between 1 and 100.",
				fieldViolation{"page_size", "value must be greater than or equal to 0 and less than or equal to 100", "uint32.lte"})
		}
		if n > 0 {
			size = n
		}
	}
	if token == "" {
		return size, 0, nil
	}
	raw, decErr := base64.RawURLEncoding.DecodeString(token)
	rest, ok := strings.CutPrefix(string(raw), "offset:")
	offset, convErr := strconv.Atoi(rest)
	if decErr != nil || !ok || convErr != nil || offset < 0 {
		return 0, 0, invalidArgument("page_token is not a token this server issued.")
	}
	return size, offset, nil
}

// paginate returns one page of items and the token of the next, or "" at
// the end.
func paginate[T any](items []T, size, offset int) ([]T, string) {
	if offset >= len(items) {
		return []T{}, ""
	}
	end := min(offset+size, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "offset:%d", end))
	}
	return items[offset:end], next
}

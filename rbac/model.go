package rbac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Name patterns Scalekit's management API enforces: a seed file that passes
// here is one Scalekit accepts.
var (
	permissionName = regexp.MustCompile(`^[a-zA-Z0-9_:]{1,64}$`)
	roleName       = regexp.MustCompile(`^[a-zA-Z0-9_]{1,64}$`)
)

// PermissionDef is one permission of the seed file.
type PermissionDef struct {
	Name        Permission `json:"name"`
	Description string     `json:"description"`
}

// Role is one role of the seed file. Extends names the base role whose
// permissions it inherits (Scalekit allows one base role).
type Role struct {
	Name        string       `json:"name"`
	DisplayName string       `json:"display_name"`
	Description string       `json:"description"`
	Extends     string       `json:"extends,omitempty"`
	Permissions []Permission `json:"permissions"`
}

// Model is a validated seed file with role inheritance resolved.
type Model struct {
	Permissions []PermissionDef
	Roles       []Role
	// DefaultCreatorRole is given to the user who creates an organization,
	// DefaultMemberRole to everyone who joins later.
	DefaultCreatorRole string
	DefaultMemberRole  string
	// OrganizationRoles are roles that single organizations define for
	// themselves, next to the global ones (optional).
	OrganizationRoles []OrgRoles

	effective    map[string][]Permission            // role name -> own + inherited, sorted
	orgEffective map[string]map[string][]Permission // org -> org role -> own + inherited
}

// seedFile is the JSON layout of rbac.seed.json.
type seedFile struct {
	Permissions        []PermissionDef `json:"permissions"`
	Roles              []Role          `json:"roles"`
	DefaultCreatorRole string          `json:"default_creator_role"`
	DefaultMemberRole  string          `json:"default_member_role"`
	OrganizationRoles  []OrgRoles      `json:"organization_roles,omitempty"`
}

// ErrInvalidModel is wrapped by every validation error of Parse.
var ErrInvalidModel = errors.New("invalid rbac model")

// Load reads and validates a seed file.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load rbac model: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse validates a seed file's contents and resolves inheritance. Its
// errors name the culprit and wrap ErrInvalidModel.
func Parse(data []byte) (*Model, error) {
	var f seedFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a typo such as "extend" must not pass silently
	if err := dec.Decode(&f); err != nil {
		return nil, invalid("not valid JSON for a seed file: %v", err)
	}
	if dec.More() {
		return nil, invalid("unexpected data after the JSON object")
	}
	m := &Model{
		Permissions:        f.Permissions,
		Roles:              f.Roles,
		DefaultCreatorRole: f.DefaultCreatorRole,
		DefaultMemberRole:  f.DefaultMemberRole,
		OrganizationRoles:  f.OrganizationRoles,
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	if err := m.resolve(); err != nil {
		return nil, err
	}
	if err := m.validateOrgRoles(); err != nil {
		return nil, err
	}
	return m, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidModel}, args...)...)
}

func (m *Model) validate() error {
	if len(m.Permissions) == 0 {
		return invalid("no permissions defined")
	}
	if len(m.Roles) == 0 {
		return invalid("no roles defined")
	}
	perms := make(map[Permission]bool, len(m.Permissions))
	for _, p := range m.Permissions {
		if !permissionName.MatchString(string(p.Name)) {
			return invalid("permission %q: name must match %s", p.Name, permissionName)
		}
		// sk_ names are Scalekit's own permissions: the seed never creates,
		// changes or counts them (it keeps them on the roles that have them).
		if strings.HasPrefix(string(p.Name), "sk_") {
			return invalid("permission %q: names starting sk_ are Scalekit's own permissions, which a seed file cannot define", p.Name)
		}
		if perms[p.Name] {
			return invalid("permission %q is defined twice", p.Name)
		}
		perms[p.Name] = true
	}
	roles := make(map[string]bool, len(m.Roles))
	for _, r := range m.Roles {
		if !roleName.MatchString(r.Name) {
			return invalid("role %q: name must match %s", r.Name, roleName)
		}
		if roles[r.Name] {
			return invalid("role %q is defined twice", r.Name)
		}
		roles[r.Name] = true
		if strings.TrimSpace(r.DisplayName) == "" {
			return invalid("role %q: display_name is required", r.Name)
		}
	}
	for _, r := range m.Roles {
		if r.Extends != "" && !roles[r.Extends] {
			return invalid("role %q extends unknown role %q", r.Name, r.Extends)
		}
		for _, p := range r.Permissions {
			if !perms[p] {
				return invalid("role %q grants unknown permission %q", r.Name, p)
			}
		}
	}
	for field, name := range map[string]string{
		"default_creator_role": m.DefaultCreatorRole,
		"default_member_role":  m.DefaultMemberRole,
	} {
		if name != "" && !roles[name] {
			return invalid("%s names unknown role %q", field, name)
		}
	}
	return nil
}

// resolve computes each role's effective permissions, walking "extends"
// and refusing cycles.
func (m *Model) resolve() error {
	byName := make(map[string]Role, len(m.Roles))
	for _, r := range m.Roles {
		byName[r.Name] = r
	}
	m.effective = make(map[string][]Permission, len(m.Roles))
	for _, r := range m.Roles {
		var perms []Permission
		seen := map[string]bool{}
		for cur := r; ; cur = byName[cur.Extends] {
			if seen[cur.Name] {
				return invalid("role %q: inheritance cycle through %q", r.Name, cur.Name)
			}
			seen[cur.Name] = true
			perms = append(perms, cur.Permissions...)
			if cur.Extends == "" {
				break
			}
		}
		slices.Sort(perms)
		m.effective[r.Name] = slices.Compact(perms)
	}
	return nil
}

// Role returns the named role.
func (m *Model) Role(name string) (Role, bool) {
	i := slices.IndexFunc(m.Roles, func(r Role) bool { return r.Name == name })
	if i < 0 {
		return Role{}, false
	}
	return m.Roles[i], true
}

// Effective returns the sorted effective permissions of the given roles:
// each role's own permissions plus everything it inherits. Unknown role
// names grant nothing.
func (m *Model) Effective(roles ...string) []Permission {
	var perms []Permission
	for _, r := range roles {
		perms = append(perms, m.effective[r]...)
	}
	slices.Sort(perms)
	return slices.Compact(perms)
}

// Inherited returns the chain of base roles of a role, nearest first.
func (m *Model) Inherited(name string) []string {
	var chain []string
	r, ok := m.Role(name)
	for ok && r.Extends != "" {
		chain = append(chain, r.Extends)
		r, ok = m.Role(r.Extends)
	}
	return chain
}

// Description returns a permission's description from the seed file.
func (m *Model) Description(p Permission) string {
	for _, d := range m.Permissions {
		if d.Name == p {
			return d.Description
		}
	}
	return ""
}

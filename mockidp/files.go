package mockidp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

// The files cmd/mockidp reads: a users file, a clients file and a signing
// key. They live here, not in the command, so that a Go test starting the
// mock in-process reads the very same files a Playwright suite hands to the
// binary.

// usersFile is the users file: the organizations and their members. A
// user of one organization names it with organization_id and roles; a
// member of several lists memberships instead.
//
//	{"organizations": [{"id": "org_1", "name": "Acme"}, {"id": "org_2", "name": "Globex"}],
//	 "users": [{"id": "usr_1", "email": "a@acme.test", "name": "A", "organization_id": "org_1", "roles": ["admin"]},
//	           {"id": "usr_2", "email": "c@consulting.test", "memberships": [
//	             {"organization_id": "org_1", "roles": ["project_manager"]},
//	             {"organization_id": "org_2", "roles": ["viewer"]}]}]}
type usersFile struct {
	Organizations []orgEntry  `json:"organizations"`
	Users         []userEntry `json:"users"`
}

type orgEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// userEntry is a user as the users file and the control plane write it.
type userEntry struct {
	ID             string            `json:"id"`
	Email          string            `json:"email"`
	Name           string            `json:"name"`
	GivenName      string            `json:"given_name"`
	FamilyName     string            `json:"family_name"`
	OrganizationID string            `json:"organization_id"`
	Roles          []string          `json:"roles"`
	Memberships    []membershipEntry `json:"memberships"`
}

// membershipEntry is one organization of a user and their roles there.
type membershipEntry struct {
	OrganizationID string   `json:"organization_id"`
	Roles          []string `json:"roles"`
}

// clientsFile is the clients file: the registered OAuth clients.
type clientsFile struct {
	Clients []clientEntry `json:"clients"`
}

type clientEntry struct {
	ID                     string   `json:"id"`
	Secret                 string   `json:"secret"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
}

// FileError is a problem in a file at a line, printed as "file:line: msg"
// like a compiler's, so that an editor jumps to it.
type FileError struct {
	File string
	Line int // 1-based; 0 when the file as a whole is at fault
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// LoadUsers reads a users file. Unknown fields, a user of an organization
// the file does not list, a duplicate id or email, a user with no id,
// email or organization, one organization listed twice for a user, both
// forms (organization_id and memberships) in one entry, or a role the
// model (when not nil) does not define for that organization are errors
// that name the line of the entry at fault.
func LoadUsers(path string, model *rbac.Model) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	var f usersFile
	lines, err := decodeFile(path, data, &f, "users", "organizations")
	if err != nil {
		return nil, err
	}
	at := func(section string, i int, format string, args ...any) error {
		return &FileError{path, lines[section][i], fmt.Sprintf(format, args...)}
	}
	orgs := map[string]string{}
	for i, o := range f.Organizations {
		if o.ID == "" || strings.TrimSpace(o.Name) == "" {
			return nil, at("organizations", i, "an organization needs an id and a name")
		}
		if _, dup := orgs[o.ID]; dup {
			return nil, at("organizations", i, "organization %q is listed twice", o.ID)
		}
		orgs[o.ID] = o.Name
	}
	if len(f.Users) == 0 {
		return nil, &FileError{path, 0, `no users: the file needs a "users" array with at least one user`}
	}
	users := make([]User, 0, len(f.Users))
	ids, emails := map[string]bool{}, map[string]bool{}
	for i, e := range f.Users {
		switch {
		case e.ID == "" || e.Email == "":
			return nil, at("users", i, "a user needs an id and an email")
		case e.Memberships != nil && (e.OrganizationID != "" || e.Roles != nil):
			return nil, at("users", i, "user %q: give either organization_id and roles, or memberships, not both", e.ID)
		case e.Memberships != nil && len(e.Memberships) == 0:
			return nil, at("users", i, "user %q: memberships is empty: a user belongs to at least one organization", e.ID)
		case ids[e.ID]:
			return nil, at("users", i, "user %q is listed twice", e.ID)
		case emails[strings.ToLower(e.Email)]:
			return nil, at("users", i, "email %q is used twice: login_hint could not tell the users apart", e.Email)
		}
		entries := e.Memberships
		if entries == nil {
			entries = []membershipEntry{{e.OrganizationID, e.Roles}}
		}
		u := e.user()
		for _, m := range entries {
			name, ok := orgs[m.OrganizationID]
			switch {
			case !ok:
				return nil, at("users", i, "user %q: organization_id %q is not in \"organizations\"", e.ID, m.OrganizationID)
			case u.memberIndex(m.OrganizationID) >= 0:
				return nil, at("users", i, "user %q: organization %q is listed twice", e.ID, m.OrganizationID)
			}
			if r, ok := unknownRole(model, m.OrganizationID, m.Roles); !ok {
				return nil, at("users", i, "user %q: role %q is not in the rbac model", e.ID, r)
			}
			u.Memberships = append(u.Memberships, Membership{m.OrganizationID, name, append([]string{}, m.Roles...)})
		}
		u.mirror()
		ids[e.ID], emails[strings.ToLower(e.Email)] = true, true
		users = append(users, u)
	}
	return users, nil
}

// unknownRole returns the first of roles that a member of orgID cannot
// hold under model, and false; true when all are known or model is nil.
func unknownRole(model *rbac.Model, orgID string, roles []string) (string, bool) {
	if model == nil {
		return "", true
	}
	for _, name := range roles {
		known := slices.ContainsFunc(model.Roles, func(r rbac.Role) bool { return r.Name == name })
		for _, o := range model.OrganizationRoles {
			known = known || (o.OrganizationID == orgID && slices.ContainsFunc(o.Roles, func(r rbac.Role) bool { return r.Name == name }))
		}
		if !known {
			return name, false
		}
	}
	return "", true
}

// user turns an entry into a User, its memberships still to add.
func (e userEntry) user() User {
	u := User{ID: e.ID, Email: e.Email, Name: e.Name, GivenName: e.GivenName, FamilyName: e.FamilyName}
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	return u
}

// LoadClients reads a clients file.
func LoadClients(path string) ([]Client, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("clients file: %w", err)
	}
	var f clientsFile
	lines, err := decodeFile(path, data, &f, "clients")
	if err != nil {
		return nil, err
	}
	if len(f.Clients) == 0 {
		return nil, &FileError{path, 0, `no clients: the file needs a "clients" array with at least one client`}
	}
	clients := make([]Client, 0, len(f.Clients))
	for i, c := range f.Clients {
		if c.ID == "" || c.Secret == "" || len(c.RedirectURIs) == 0 {
			return nil, &FileError{path, lines["clients"][i], "a client needs an id, a secret and at least one redirect_uris entry"}
		}
		clients = append(clients, Client(c))
	}
	return clients, nil
}

// decodeFile decodes a JSON object into v, refusing unknown fields, and
// returns for each named array the line each element starts on. JSON
// errors name their line: a SyntaxError or UnmarshalTypeError carries a
// byte offset, which is turned into a line number here.
func decodeFile(path string, data []byte, v any, arrays ...string) (map[string][]int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, jsonFileError(path, data, err, dec.InputOffset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &FileError{path, lineAt(data, dec.InputOffset()), "text after the JSON object"}
	}
	lines, err := elementLines(data, arrays)
	if err != nil {
		return nil, &FileError{path, 0, err.Error()}
	}
	return lines, nil
}

// jsonFileError gives a decoding error the line it happened on.
func jsonFileError(path string, data []byte, err error, offset int64) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return &FileError{path, lineAt(data, syntax.Offset), "invalid JSON: " + syntax.Error()}
	case errors.As(err, &typ):
		return &FileError{path, lineAt(data, typ.Offset), fmt.Sprintf("%s must be %s, not %s", typ.Field, typ.Type, typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &FileError{path, lineAt(data, int64(len(data))), "the JSON ends too early"}
	default:
		// An unknown field: the decoder has read up to it.
		return &FileError{path, lineAt(data, offset), strings.TrimPrefix(err.Error(), "json: ")}
	}
}

// elementLines walks the top-level object again and records the line of
// each element of the named arrays, so that a check on the decoded values
// can still point at the line.
func elementLines(data []byte, arrays []string) (map[string][]int, error) {
	lines := map[string][]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := key.(string)
		want := false
		for _, a := range arrays {
			want = want || a == name
		}
		if !want {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // [ (or null)
			return nil, err
		}
		for dec.More() {
			lines[name] = append(lines[name], lineAt(data, nextNonSpace(data, dec.InputOffset())))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, err
		}
	}
	return lines, nil
}

// nextNonSpace skips whitespace and a separating comma from off.
func nextNonSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
		off++
	}
	return off
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// LoadSigningKey reads an RSA private key (PKCS #8 or PKCS #1, PEM) from
// path. With create, a missing file is made: a new 2048-bit key, written
// with mode 0600, so that the next start publishes the same JWKS and a
// relying party's cached keys (or a token it holds) stay good.
func LoadSigningKey(path string, create bool) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w (pass -generate-key to make one)", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, &FileError{path, 0, "not a PEM file: want an RSA private key (BEGIN PRIVATE KEY)"}
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, &FileError{path, 0, "not an RSA private key: " + err.Error()}
	}
	k, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, &FileError{path, 0, "the key is not RSA: tokens are signed with RS256"}
	}
	return k, nil
}

func createSigningKey(path string) (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	// O_EXCL: two mocks started at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Close()); err != nil {
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	return k, nil
}

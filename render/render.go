// Package render writes responses: HTML pages from the embedded templates,
// inside the layout that shows who is signed in, and JSON for the API. It
// also decodes JSON request bodies, with the limits every handler needs.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

// MaxBody is the largest JSON request body accepted.
const MaxBody = 64 << 10

// View is what every page template receives: the signed-in user and the
// navigation for the layout's header, and the page's own typed data.
type View struct {
	Viewer *auth.Principal
	Org    Organizations // the viewer's organization by name, and the others they may switch to
	Nav    []Link        // the links the viewer's gates let through
	Title  string
	Path   string
	Page   any
}

// Link is an entry of the layout's navigation, shown to the viewers Gate
// lets through: the gate of the page it leads to.
type Link struct {
	Label string
	Path  string
	Gate  auth.Gate
}

// Organizations is what the header says about the viewer's organizations.
type Organizations struct {
	// Current is the name of the organization of the viewer's token, or
	// its id when the name is not known.
	Current string
	// Choices are every organization the viewer is a member of, the
	// current one included; the header offers a switch when there are two
	// or more.
	Choices []OrgChoice
}

// OrgChoice is one organization the viewer may switch to.
type OrgChoice struct {
	ID      string
	Name    string
	Current bool // the organization of the viewer's token
}

// OrganizationsFunc tells the header about the viewer's organizations.
// It must not fail a page: when it knows nothing it answers the token's
// organization id and no choices.
type OrganizationsFunc func(r *http.Request, viewer *auth.Principal) Organizations

// Renderer renders the pages parsed at start-up.
type Renderer struct {
	pages map[string]*template.Template
	nav   []Link
	orgs  OrganizationsFunc
	log   *slog.Logger
}

// SetOrganizations sets where the header learns the viewer's
// organizations; without it the header shows the token's organization id.
// Call it before the renderer serves any page.
func (r *Renderer) SetOrganizations(f OrganizationsFunc) { r.orgs = f }

// organizations is what the header shows of viewer's organizations.
func (r *Renderer) organizations(req *http.Request, viewer *auth.Principal) Organizations {
	switch {
	case viewer == nil:
		return Organizations{}
	case r.orgs == nil:
		return Organizations{Current: viewer.OrgID}
	}
	return r.orgs(req, viewer)
}

// New parses one template set per page: layout and partials plus
// pages/<name>.html. Any parse error fails start-up rather than a request.
// nav is the layout's navigation for signed-in viewers.
func New(fsys fs.FS, nav []Link, log *slog.Logger) (*Renderer, error) {
	shared, err := fs.Glob(fsys, "partials/*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: make(map[string]*template.Template, len(pages)), nav: nav, log: log}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		files := append([]string{"layout.html", p}, shared...)
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, files...)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// Page renders the named page with status. It renders into a buffer first,
// so a template error becomes a clean 500 instead of half a page.
func (r *Renderer) Page(w http.ResponseWriter, req *http.Request, status int, name, title string, data any) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	var buf bytes.Buffer
	viewer := auth.PrincipalFrom(req.Context())
	view := View{Viewer: viewer, Org: r.organizations(req, viewer), Nav: r.navFor(viewer), Title: title, Path: req.URL.Path, Page: data}
	if err := t.Execute(&buf, view); err != nil {
		return fmt.Errorf("render page %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // pages show per-user data
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// navFor returns the navigation links that p may follow.
func (r *Renderer) navFor(p *auth.Principal) []Link {
	if p == nil {
		return nil
	}
	var links []Link
	for _, l := range r.nav {
		if l.Gate.Allows(p) {
			links = append(links, l)
		}
	}
	return links
}

// JSON writes v as the JSON response body with status.
func (r *Renderer) JSON(w http.ResponseWriter, status int, v any) error {
	return WriteJSON(w, status, v)
}

// WriteJSON writes v as the JSON response body with status. It encodes
// before writing anything, so that an encoding error can still become a
// clean 500.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"has":  slices.Contains[[]string],
}

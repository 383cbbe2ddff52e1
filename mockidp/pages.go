package mockidp

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
)

//go:embed templates
var templateFS embed.FS

// stylesheetPath serves the pages' one stylesheet, so the pages need no
// inline style and their Content-Security-Policy can forbid it.
const stylesheetPath = "/assets/mockidp.css"

// pages holds one parsed template set per page (layout + page), parsed at
// start so that a broken template fails New, not a sign-in.
type pages map[string]*template.Template

func parsePages() (pages, error) {
	p := pages{}
	for _, name := range []string{"picker", "message"} {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p[name] = t
	}
	return p, nil
}

// frame is what the layout needs of every page.
type frame struct {
	Title      string
	Stylesheet string
}

// pickerPage is the sign-in page: one button per demo user.
type pickerPage struct {
	frame
	ClientID string
	Action   string        // where the form posts: this server's authorize endpoint
	Params   []hiddenField // the authorization request, carried through the form
	Orgs     []orgSection
}

type hiddenField struct{ Name, Value string }

type orgSection struct {
	ID, Name string
	Users    []userButton
}

type userButton struct {
	ID, Name, Email string
	Roles           []roleLabel
}

type roleLabel struct{ Name, DisplayName string }

// messagePage tells the person something: an error, or that they signed out.
type messagePage struct {
	frame
	Message string
}

func (s *Server) renderPicker(w http.ResponseWriter, req authRequest) error {
	page := pickerPage{
		frame:    s.frame("Sign in to " + req.client.ID),
		ClientID: req.client.ID,
		Action:   s.path("/oauth/authorize"),
	}
	for _, name := range authParams {
		if v, ok := req.params[name]; ok {
			page.Params = append(page.Params, hiddenField{name, v[0]})
		}
	}
	for _, u := range s.orgUsers(req.orgID) {
		i := slices.IndexFunc(page.Orgs, func(o orgSection) bool { return o.ID == u.OrgID })
		if i < 0 {
			page.Orgs = append(page.Orgs, orgSection{ID: u.OrgID, Name: u.OrgName})
			i = len(page.Orgs) - 1
		}
		b := userButton{ID: u.ID, Name: u.Name, Email: u.Email}
		for _, name := range u.Roles {
			b.Roles = append(b.Roles, roleLabel{name, s.roleDisplayName(u.OrgID, name)})
		}
		page.Orgs[i].Users = append(page.Orgs[i].Users, b)
	}
	return s.render(w, http.StatusOK, "picker", page)
}

// renderMessage shows a short page; it is how errors reach the person.
func (s *Server) renderMessage(w http.ResponseWriter, status int, title, message string) {
	err := s.render(w, status, "message", messagePage{frame: s.frame(title), Message: message})
	if err != nil {
		s.log.Error("mock idp could not render a page", "error", err)
		http.Error(w, title, status)
	}
}

func (s *Server) frame(title string) frame {
	return frame{Title: title, Stylesheet: s.path(stylesheetPath)}
}

// path returns the absolute path of an endpoint, under the issuer's path.
func (s *Server) path(p string) string {
	return s.prefix + p
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No script, no inline style, no framing: a sign-in page is a
	// clickjacking target. form-action is left open on purpose, since the
	// form's answer redirects to the client.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // the browser may have gone; nothing left to do
	return nil
}

func (s *Server) serveStylesheet(w http.ResponseWriter, r *http.Request) error {
	css, err := templateFS.ReadFile("templates/mockidp.css")
	if err != nil {
		return fmt.Errorf("read stylesheet: %w", err)
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write(css)
	return err
}

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
	for _, name := range []string{"picker", "chooser", "message"} {
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
	Several  []userButton // members of several organizations: they choose one next
}

type hiddenField struct{ Name, Value string }

type orgSection struct {
	ID, Name string
	Users    []userButton
}

type userButton struct {
	ID, Name, Email string
	Roles           []roleLabel // in the section's organization
	Orgs            []orgChoice // for Several: each organization, with the roles there
}

type roleLabel struct{ Name, DisplayName string }

// chooserPage is the second step for a member of several organizations:
// one button per membership.
type chooserPage struct {
	frame
	ClientID string
	Action   string
	Params   []hiddenField // the request and the chosen user_id
	User     userButton
	Orgs     []orgChoice
}

type orgChoice struct {
	ID, Name string
	Roles    []roleLabel
}

// messagePage tells the person something: an error, or that they signed out.
type messagePage struct {
	frame
	Message string
}

// hiddenParams carries the authorization request through a form, but for
// the parameters in skip.
func hiddenParams(req authRequest, skip ...string) []hiddenField {
	var fields []hiddenField
	for _, name := range authParams {
		if v, ok := req.params[name]; ok && !slices.Contains(skip, name) {
			fields = append(fields, hiddenField{name, v[0]})
		}
	}
	return fields
}

// renderPicker shows every user, grouped by organization; with an
// organization_id, the members of that organization only, each with the
// roles they hold there. Without one, a member of several organizations
// is listed once, in a section of their own, since the organization is
// the next step.
func (s *Server) renderPicker(w http.ResponseWriter, req authRequest) error {
	page := pickerPage{
		frame:    s.frame("Sign in to " + req.client.ID),
		ClientID: req.client.ID,
		Action:   s.path("/oauth/authorize"),
		Params:   hiddenParams(req),
	}
	users := s.orgUsers(req.orgID)
	section := func(id, name string) *orgSection {
		i := slices.IndexFunc(page.Orgs, func(o orgSection) bool { return o.ID == id })
		if i < 0 {
			page.Orgs = append(page.Orgs, orgSection{ID: id, Name: name})
			i = len(page.Orgs) - 1
		}
		return &page.Orgs[i]
	}
	for _, u := range users {
		for _, m := range u.Memberships {
			if req.orgID == "" || m.OrgID == req.orgID {
				section(m.OrgID, m.OrgName) // every organization, in the order met
			}
		}
	}
	for _, u := range users {
		if req.orgID == "" && len(u.Memberships) > 1 {
			b := userButton{ID: u.ID, Name: u.Name, Email: u.Email}
			for _, m := range u.Memberships {
				b.Orgs = append(b.Orgs, orgChoice{ID: m.OrgID, Name: m.OrgName, Roles: s.roleLabels(m)})
			}
			page.Several = append(page.Several, b)
			continue
		}
		m := u.Memberships[0]
		if req.orgID != "" {
			m, _ = u.Membership(req.orgID)
		}
		o := section(m.OrgID, m.OrgName)
		o.Users = append(o.Users, userButton{ID: u.ID, Name: u.Name, Email: u.Email, Roles: s.roleLabels(m)})
	}
	return s.render(w, http.StatusOK, "picker", page)
}

// renderChooser is the organization chooser: u signed in, and now picks
// which of their organizations the app gets a token for.
func (s *Server) renderChooser(w http.ResponseWriter, req authRequest, u User) error {
	page := chooserPage{
		frame:    s.frame("Choose an organization"),
		ClientID: req.client.ID,
		Action:   s.path("/oauth/authorize"),
		// organization_id is the buttons' own field; login_hint is spent.
		Params: append(hiddenParams(req, "organization_id", "login_hint"), hiddenField{"user_id", u.ID}),
		User:   userButton{ID: u.ID, Name: u.Name, Email: u.Email},
	}
	for _, m := range u.Memberships {
		page.Orgs = append(page.Orgs, orgChoice{ID: m.OrgID, Name: m.OrgName, Roles: s.roleLabels(m)})
	}
	return s.render(w, http.StatusOK, "chooser", page)
}

// roleLabels names a membership's roles for a page.
func (s *Server) roleLabels(m Membership) []roleLabel {
	labels := make([]roleLabel, 0, len(m.Roles))
	for _, name := range m.Roles {
		labels = append(labels, roleLabel{name, s.roleDisplayName(m.OrgID, name)})
	}
	return labels
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

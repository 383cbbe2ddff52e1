package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
)

// TestBrowser drives the app with a real Chromium: it clicks the same links
// and buttons a person would, through the mock IdP's picker and every
// redirect, with the app's Content-Security-Policy in force. The app has no
// JavaScript; the test uses it only once, to post a form the page hides.
//
// Each step saves a full-page screenshot. SCREENSHOT_DIR (relative to the
// repository root) keeps them:
//
//	SCREENSHOT_DIR=docs go test ./app -run TestBrowser -count=1
//
// regenerates docs/project-page.png, docs/members.png and docs/switcher.png,
// the screenshots README shows (docs/.gitignore keeps only those).
func TestBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	databasetest.Run(t, testBrowser)
}

func testBrowser(t *testing.T, engine database.Engine) {
	chrome := startChrome(t)
	e := apptest.Start(t, apptest.Options{Engine: engine, Users: mockidp.DemoCast()})
	alice, carol := e.User("alice@acme.example"), e.User("carol@acme.example")

	t.Run("each demo user signs in through the picker and sees their token's claims", func(t *testing.T) {
		for _, u := range e.IdP.Users() {
			t.Run(u.Email, func(t *testing.T) {
				tab := chrome.open(t, e)
				tab.signIn(u)

				doc := tab.page()
				assert.Equal(t, u.Name, apptest.Text(doc, `[data-testid="user-name"]`))
				assert.Equal(t, u.OrgID, apptest.Text(doc, `[data-testid="user-org"]`))
				assert.Equal(t, u.Roles, allText(doc, `[data-testid="user-roles"] .role`))
				tab.screenshot("signed-in-" + localPart(u.Email))

				tab.click(`nav a[href="/me"]`)
				var claims struct {
					Sub         string   `json:"sub"`
					OID         string   `json:"oid"`
					Roles       []string `json:"roles"`
					Permissions []string `json:"permissions"`
				}
				require.NoError(t, json.Unmarshal([]byte(apptest.Text(tab.page(), `[data-testid="access-claims"]`)), &claims))
				assert.Equal(t, u.ID, claims.Sub)
				assert.Equal(t, u.OrgID, claims.OID)
				assert.Equal(t, u.Roles, claims.Roles)
				// Scalekit's own permissions of the built-in roles come along.
				want := mockidp.ScalekitPermissions(u.Roles...)
				for _, p := range e.Model.Effective(u.Roles...) {
					want = append(want, string(p))
				}
				assert.ElementsMatch(t, want, claims.Permissions)
				tab.screenshot("my-access-" + localPart(u.Email))
			})
		}
	})

	t.Run("an admin creates a project, adds tasks, assigns one to a member and marks it done", func(t *testing.T) {
		// Carol signs in first, as a member would; the assignee list comes
		// from the organization's members, synced from the IdP at sign-in.
		chrome.open(t, e).signIn(carol)
		tab := chrome.open(t, e)
		tab.signIn(alice)

		tab.click(`nav a[href="/projects"]`)
		assert.Equal(t, 1, tab.page().Find(`[data-testid="new-project"]`).Length(), "an admin sees the New project form")
		tab.fill(`[data-testid="new-project"] input[name="name"]`, "Website launch")
		tab.fill(`[data-testid="new-project"] textarea[name="description"]`, "Everything that has to happen before the new site goes live.")
		tab.screenshot("new-project")
		tab.click(`[data-testid="new-project"] button[type="submit"]`)
		require.Regexp(t, `^/projects/\d+$`, tab.path(), "creating a project opens it")
		assert.Equal(t, "Website launch", apptest.Text(tab.page(), `[data-testid="project-name"]`))

		titles := []string{"Write the launch announcement", "Review the authorization matrix", "Book the launch-day call"}
		for _, title := range titles {
			tab.fill(`[data-testid="new-task"] input[name="title"]`, title)
			tab.click(`[data-testid="new-task"] button[type="submit"]`)
		}
		doc := tab.page()
		assert.Equal(t, titles, allText(doc, `[data-testid="task-list"] .item-title`))
		assert.Contains(t, allText(doc, `[data-testid="assign-form"] option`), carol.Name, "a member who signed in can be picked")

		announcement := "#" + taskElementID(t, doc, titles[0])
		tab.choose(announcement+` select[name="assignee"]`, carol.ID)
		tab.click(announcement + ` [data-testid="assign-form"] button`)
		review := "#" + taskElementID(t, tab.page(), titles[1])
		tab.choose(review+` select[name="assignee"]`, alice.ID)
		tab.click(review + ` [data-testid="assign-form"] button`)
		tab.click(announcement + ` form[action$="/done"] button`)

		doc = tab.page()
		assert.Equal(t, carol.Name, apptest.Text(doc, announcement+" .meta strong"), "assigned to Carol")
		assert.Equal(t, alice.Name, apptest.Text(doc, review+" .meta strong"), "assigned to Alice")
		assert.Equal(t, 1, doc.Find(announcement+".task.done").Length(), "the announcement is done")
		assert.Equal(t, 1, doc.Find(`.task.done`).Length(), "only the announcement is done")
		tab.screenshot("project-page")
	})

	t.Run("a team member sees no New project form and is refused when posting it anyway", func(t *testing.T) {
		tab := chrome.open(t, e)
		tab.signIn(carol)

		tab.click(`nav a[href="/projects"]`)
		doc := tab.page()
		assert.Zero(t, doc.Find(`[data-testid="new-project"]`).Length(), "no New project form")
		assert.Contains(t, allText(doc, `[data-testid="needs"] code`), "projects:create", "the page names the permission instead")
		tab.screenshot("projects-as-team-member")

		// Build the form the page left out, as someone with devtools would,
		// and submit it from the app's own origin.
		status := tab.submitForm("/projects", url.Values{"name": {"Sneaky"}})
		assert.EqualValues(t, http.StatusForbidden, status)
		doc = tab.page()
		assert.Equal(t, "the projects:create permission", apptest.Text(doc, `[data-testid="required"]`))
		assert.Contains(t, allText(doc, `.error-page .role`), "team_member", "the 403 page shows the user's roles")
		tab.screenshot("forbidden")

		projects := apptest.Decode[struct{ Projects []struct{ Name string } }](t, e.API(e.Token(carol), "GET", "/api/projects", nil))
		for _, p := range projects.Projects {
			assert.NotEqual(t, "Sneaky", p.Name, "the refused post wrote nothing")
		}
	})

	t.Run("an admin demotes a member on the members page and the audit log shows it", func(t *testing.T) {
		bob := e.User("bob@acme.example")
		bobTab := chrome.open(t, e)
		bobTab.signIn(bob)
		bobTab.click(`nav a[href="/projects"]`)
		require.Equal(t, 1, bobTab.page().Find(`[data-testid="new-project"]`).Length(), "Bob can create projects")

		tab := chrome.open(t, e)
		tab.signIn(alice)
		tab.click(`nav a[href="/members"]`)
		row := `tr[data-user="` + bob.ID + `"]`
		// Bob holds project_manager: untick it, tick team_member.
		tab.toggle(row + ` input[name="role"][value="project_manager"]`)
		tab.toggle(row + ` input[name="role"][value="team_member"]`)
		tab.click(row + ` [data-testid="role-form"] button`)
		assert.Contains(t, apptest.Text(tab.page(), `[data-testid="changed"]`), bob.Name)
		assert.Equal(t, "team_member", apptest.Text(tab.page(), row+` [data-testid="member-roles"]`))
		tab.screenshot("members")

		bobTab.visit("/projects")
		assert.Zero(t, bobTab.page().Find(`[data-testid="new-project"]`).Length(), "Bob's next page load already reflects the demotion")

		tab.click(`nav a[href="/audit"]`)
		latest := strings.Fields(apptest.Text(tab.page(), `[data-testid="audit-log"] tbody tr:first-child`))
		assert.Equal(t, []string{"Alice", "Admin", alice.ID, "Bob", "Manager", bob.ID, "project_manager", "team_member", "the", "app", "changed"}, latest[2:],
			"who, whom, old roles, new roles, through what, outcome")
		tab.screenshot("audit")
	})

	t.Run("a consultant switches from Acme to Globex with the header's switcher", func(t *testing.T) {
		casey := e.User(caseyMail)
		tab := chrome.open(t, e)
		tab.signIn(apptest.InOrg(t, casey, acmeID))
		tab.click(`nav a[href="/projects"]`)
		doc := tab.page()
		assert.Equal(t, "Acme Corp", apptest.Text(doc, `[data-testid="org-name"]`))
		assert.Equal(t, []string{"Acme Corp", "Globex Inc"}, allText(doc, `[data-testid="org-select"] option`))
		assert.Equal(t, 1, doc.Find(`[data-testid="new-project"]`).Length(), "a project manager in Acme")
		tab.screenshotOf("switcher", "header.topbar")

		// The switch posts a form, the IdP is asked for Globex, and the
		// browser comes back to the same page: every hop a real redirect.
		tab.choose(`[data-testid="org-select"]`, globexID)
		tab.click(`[data-testid="org-switch"]`)
		assert.Equal(t, "/projects", tab.path(), "back on the same page")
		doc = tab.page()
		assert.Equal(t, "Globex Inc", apptest.Text(doc, `[data-testid="org-name"]`))
		assert.Equal(t, globexID, apptest.Text(doc, `[data-testid="user-org"]`))
		assert.Equal(t, []string{"viewer"}, allText(doc, `[data-testid="user-roles"] .role`))
		assert.Zero(t, doc.Find(`[data-testid="new-project"]`).Length(), "a viewer in Globex")
		tab.screenshot("switched-to-globex")
	})

	t.Run("signing out returns to the landing page and a protected page then asks to sign in", func(t *testing.T) {
		dave := e.User("dave@acme.example")
		tab := chrome.open(t, e)
		tab.signIn(dave)

		// The Sign out form posts to the app, which redirects to the IdP's
		// end-session endpoint, which redirects back: the CSP's form-action
		// must allow every hop or Chromium stops on the way.
		tab.click(`form[action="/logout"] button`)
		assert.Equal(t, "/", tab.path(), "back on the landing page")
		doc := tab.page()
		assert.Zero(t, doc.Find(`[data-testid="user-name"]`).Length(), "nobody is signed in")
		assert.Equal(t, 1, doc.Find(`.hero a[href="/login"]`).Length(), "the landing page offers to sign in")
		tab.screenshot("signed-out")

		tab.visit("/projects")
		assert.True(t, strings.HasPrefix(tab.location(), e.IdP.URL()+"/oauth/authorize"),
			"a protected page sends the browser to the IdP's picker, got %s", tab.location())
		assert.Equal(t, 1, tab.page().Find(`button[name="user_id"][value="`+dave.ID+`"]`).Length(), "the picker offers the demo users")
		tab.screenshot("asks-to-sign-in")
	})
}

// chromium is one Chromium process shared by the subtests of TestBrowser.
type chromium struct {
	ctx    context.Context
	shots  string    // where screenshots go
	picker sync.Once // the IdP's picker looks the same for everyone: one screenshot
}

// startChrome starts a headless Chromium, or skips the test when none is
// installed (in CI, where it must be, it fails instead). It stops the browser
// when the test ends.
func startChrome(t *testing.T) *chromium {
	t.Helper()
	path := findChrome()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found: CI must install it (see .ci/run)")
		}
		t.Skip("no Chromium found: install chromium or set CHROME_PATH")
	}
	// The defaults run Chromium headless, with no first-run dialog and no
	// background networking; the flags below say so again, for the reader.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		// This machine may have no internet: keep Chromium from calling home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start %s", path)

	shots := os.Getenv("SCREENSHOT_DIR")
	if shots != "" && !filepath.IsAbs(shots) {
		// go test runs in app/; a relative directory is meant from the
		// repository root, where README's command runs.
		shots = filepath.Join("..", shots)
	}
	if shots == "" {
		shots = t.TempDir()
		t.Cleanup(func() {
			if t.Failed() {
				t.Log("set SCREENSHOT_DIR to keep a screenshot of each step")
			}
		})
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return &chromium{ctx: ctx, shots: shots}
}

// findChrome returns the path of a Chromium-based browser: CHROME_PATH, or
// the first one on PATH.
func findChrome() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserTab is one person's tab, in a browser context of its own: no cookie
// is shared with another session, as in a private window.
type browserTab struct {
	t      *testing.T
	e      *apptest.Env
	ctx    context.Context
	chrome *chromium
	mu     sync.Mutex
	policy []string // Content-Security-Policy violations reported by the browser
}

// open starts a tab that ends with the test. A tab has a minute,
// so that a browser that stops answering fails the test instead of hanging it.
func (c *chromium) open(t *testing.T, e *apptest.Env) *browserTab {
	t.Helper()
	ctx, cancelTimeout := context.WithTimeout(c.ctx, time.Minute)
	ctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	done := make(chan struct{})
	tab := &browserTab{t: t, e: e, ctx: ctx, chrome: c}
	t.Cleanup(func() {
		cancel()
		cancelTimeout()
		<-done
		assert.Empty(t, tab.policy, "the pages break no rule of their Content-Security-Policy")
	})
	if err := chromedp.Do(ctx); err != nil {
		close(done)
		require.NoError(t, err, "open a tab")
	}

	// Chromium reports what a Content-Security-Policy blocks on the console.
	console := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				tab.mu.Lock()
				tab.policy = append(tab.policy, m.Text)
				tab.mu.Unlock()
			}
		}
	}()
	return tab
}

// signIn starts at the landing page, presses Sign in and picks u on the
// mock IdP's page; it ends on the landing page, signed in.
func (tab *browserTab) signIn(u mockidp.User) {
	tab.t.Helper()
	tab.visit("/")
	tab.click(`.hero a[href="/login"]`)
	require.True(tab.t, strings.HasPrefix(tab.location(), tab.e.IdP.URL()+"/oauth/authorize"), "Sign in opens the IdP's picker")
	tab.chrome.picker.Do(func() { tab.screenshot("picker") })
	tab.click(`button[name="user_id"][value="` + u.ID + `"]`)
	if len(u.Memberships) > 1 {
		// A member of several organizations picks one on the IdP's second page.
		tab.click(`button[name="organization_id"][value="` + u.OrgID + `"]`)
	}
	require.Equal(tab.t, tab.e.URL+"/", tab.location(), "the callback lands on the start page")
	require.Equal(tab.t, u.Name, apptest.Text(tab.page(), `[data-testid="user-name"]`), "signed in as %s", u.Email)
}

// visit loads a page of the app and waits for it, redirects included.
func (tab *browserTab) visit(path string) {
	tab.t.Helper()
	resp := tab.navigate("open "+path, chromedp.Navigate(tab.e.URL+path))
	require.Less(tab.t, resp.Status, int64(400), "open %s: %s", path, resp.URL)
}

// click activates the element as a keyboard user would (focus, Enter)
// and waits for the page it leads to; every link and button of the app
// navigates. A mouse click lands on coordinates read a moment before, and
// a page opened at a #fragment (every task form leads to one) may still be
// scrolling there: on a busy machine the click then missed the button.
func (tab *browserTab) click(selector string) {
	tab.t.Helper()
	resp := tab.navigate("click "+selector, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Focus(chromedp.CSS(selector), chromedp.NodeVisible)(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.KeyEvent(kb.Enter)(ctx, t)
	})
	require.Less(tab.t, resp.Status, int64(400), "click %s: %s", selector, resp.URL)
}

// navigate runs an action that makes the tab navigate and waits until the
// page at the end of the redirects has loaded. It returns that page's
// response.
func (tab *browserTab) navigate(what string, action chromedp.Action[chromedp.Void]) *network.Response {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		// A navigation that never ends is often a form whose redirect the
		// Content-Security-Policy (form-action) blocked: say where it stopped.
		at, _ := chromedp.Run(tab.ctx, chromedp.Location())
		require.NoError(tab.t, err, "%s: no page loaded, the tab is at %s", what, at)
	}
	return resp
}

// fill types text into an empty field.
func (tab *browserTab) fill(selector, text string) {
	tab.t.Helper()
	require.NoError(tab.t, chromedp.Do(tab.ctx, chromedp.SendKeys(chromedp.CSS(selector), text)), "fill %s", selector)
}

// choose selects the option with the value in a select element.
func (tab *browserTab) choose(selector, value string) {
	tab.t.Helper()
	require.NoError(tab.t, chromedp.Do(tab.ctx, chromedp.SetValue(chromedp.CSS(selector), value)), "choose %s", selector)
}

// toggle clicks a checkbox (which does not navigate).
func (tab *browserTab) toggle(selector string) {
	tab.t.Helper()
	require.NoError(tab.t, chromedp.Do(tab.ctx, chromedp.Click(chromedp.CSS(selector))), "toggle %s", selector)
}

// submitForm posts a form the page does not have, from the page's origin,
// and returns the status of the answer.
func (tab *browserTab) submitForm(action string, fields url.Values) int64 {
	tab.t.Helper()
	data, err := json.Marshal(fields)
	require.NoError(tab.t, err)
	script := `(() => {
		const form = document.createElement("form");
		form.method = "post";
		form.action = ` + mustJSON(action) + `;
		for (const [name, values] of Object.entries(` + string(data) + `)) {
			for (const value of values) {
				const input = document.createElement("input");
				input.name = name;
				input.value = value;
				form.append(input);
			}
		}
		document.body.append(form);
		form.submit();
	})()`
	return tab.navigate("post "+action, chromedp.Evaluate[chromedp.Void](script)).Status
}

// page is the current document, for checks by CSS selector.
func (tab *browserTab) page() *goquery.Document {
	tab.t.Helper()
	html, err := chromedp.Run(tab.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(tab.t, err)
	return apptest.ParseHTML(tab.t, html)
}

// location is the URL of the current page.
func (tab *browserTab) location() string {
	tab.t.Helper()
	loc, err := chromedp.Run(tab.ctx, chromedp.Location())
	require.NoError(tab.t, err)
	return loc
}

// path is the path of the current page's URL.
func (tab *browserTab) path() string {
	tab.t.Helper()
	return apptest.MustURL(tab.t, tab.location()).Path
}

// screenshot saves the whole page as name.png. Names are stable, so a new
// run overwrites the last one'tab.
func (tab *browserTab) screenshot(name string) {
	tab.t.Helper()
	png, err := chromedp.Run(tab.ctx, chromedp.FullScreenshot(100))
	require.NoError(tab.t, err, "screenshot %s", name)
	require.NoError(tab.t, os.WriteFile(filepath.Join(tab.chrome.shots, name+".png"), png, 0o644))
}

// screenshotOf saves the element matching selector as name.png, at twice
// the scale, so that a detail stays legible in the README.
func (tab *browserTab) screenshotOf(name, selector string) {
	tab.t.Helper()
	png, err := chromedp.Run(tab.ctx, chromedp.ScreenshotScale(chromedp.CSS(selector), 2))
	require.NoError(tab.t, err, "screenshot %s", name)
	require.NoError(tab.t, os.WriteFile(filepath.Join(tab.chrome.shots, name+".png"), png, 0o644))
}

// allText is the trimmed text of each element matching selector.
func allText(doc *goquery.Document, selector string) []string {
	return doc.Find(selector).Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) })
}

// taskElementID is the id of the task's list item on a project page.
func taskElementID(t *testing.T, doc *goquery.Document, title string) string {
	t.Helper()
	var id string
	doc.Find(`li.task`).EachWithBreak(func(_ int, li *goquery.Selection) bool {
		if strings.TrimSpace(li.Find(".item-title").Text()) == title {
			id, _ = li.Attr("id")
			return false
		}
		return true
	})
	require.NotEmpty(t, id, "task %q on the page", title)
	return id
}

func localPart(email string) string {
	name, _, _ := strings.Cut(email, "@")
	return name
}

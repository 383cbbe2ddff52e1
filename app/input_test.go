package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

func TestBadFormInputRerendersTheFormAndWritesNothing(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testBadFormInputRerendersTheFormAndWritesNothing)
}

func testBadFormInputRerendersTheFormAndWritesNothing(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	projectID, _ := e.ProjectWithTask(alice)

	tests := []struct {
		name, path string
		form       url.Values
		field      string
	}{
		{"an empty project name", "/projects", url.Values{"name": {"   "}}, "Give the project a name."},
		{"an oversized project name", "/projects", url.Values{"name": {strings.Repeat("x", 101)}}, "The name is too long: at most 100 characters."},
		{"an oversized description", "/projects", url.Values{"name": {"ok"}, "description": {strings.Repeat("x", 2001)}}, "The description is too long: at most 2000 characters."},
		{"an empty new name on edit", fmt.Sprintf("/projects/%d", projectID), url.Values{"name": {""}}, "Give the project a name."},
		{"an empty task title", fmt.Sprintf("/projects/%d/tasks", projectID), url.Values{"title": {""}}, "Give the task a title."},
		{"an oversized task title", fmt.Sprintf("/projects/%d/tasks", projectID), url.Values{"title": {strings.Repeat("x", 201)}}, "The title is too long: at most 200 characters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.API(e.Token(alice), "GET", "/api/projects", nil).Body
			resp := b.Post(tt.path, tt.form)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			doc := apptest.ParseHTML(t, resp.Body)
			assert.Equal(t, tt.field, apptest.Text(doc, `.form-error`), "the form says what to fix")
			assert.Equal(t, 1, doc.Find("form .form-error").Length(), "inside the form")
			assert.Equal(t, before, e.API(e.Token(alice), "GET", "/api/projects", nil).Body, "nothing written")
		})
	}
	tasks := e.API(e.Token(alice), "GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil)
	assert.Equal(t, 1, strings.Count(tasks.Body, `"title"`), "no task was added")
}

func TestBadJSONInputIsA400ThatExplains(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testBadJSONInputIsA400ThatExplains)
}

func testBadJSONInputIsA400ThatExplains(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	token := e.Token(alice)
	projectID, taskID := e.ProjectWithTask(alice)
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"not JSON", "POST", "/api/projects", `{"name":`, http.StatusBadRequest},
		{"an empty body", "POST", "/api/projects", ``, http.StatusBadRequest},
		{"an unknown field", "POST", "/api/projects", `{"name":"x","org_id":"org_200000000000000001"}`, http.StatusBadRequest},
		{"two JSON values", "POST", "/api/projects", `{"name":"x"}{"name":"y"}`, http.StatusBadRequest},
		{"a body over 64 KB", "POST", "/api/projects", `{"name":"x","description":"` + strings.Repeat("x", 70<<10) + `"}`, http.StatusBadRequest},
		{"an empty name", "POST", "/api/projects", `{"name":""}`, http.StatusBadRequest},
		{"a patch with nothing to change", "PATCH", fmt.Sprintf("/api/projects/%d", projectID), `{}`, http.StatusBadRequest},
		{"a task without title", "POST", fmt.Sprintf("/api/projects/%d/tasks", projectID), `{}`, http.StatusBadRequest},
		{"done that is not a boolean", "PATCH", fmt.Sprintf("/api/tasks/%d", taskID), `{"done":"yes"}`, http.StatusBadRequest},
		{"assign without assignee", "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), `{}`, http.StatusBadRequest},
		{"an unknown project id", "GET", "/api/projects/424242", ``, http.StatusNotFound},
		{"a project id that is not a number", "GET", "/api/projects/abc", ``, http.StatusNotFound},
		{"an unknown task id", "PATCH", "/api/tasks/424242", `{"done":true}`, http.StatusNotFound},
		{"an unknown route", "GET", "/api/nothing", ``, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.API(token, "GET", "/api/projects", nil).Body
			req, err := http.NewRequest(tt.method, e.URL+tt.path, bytes.NewBufferString(tt.body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			resp := apptest.Send(t, http.DefaultClient, req)
			assert.Equal(t, tt.want, resp.StatusCode, resp.Body)
			body := apptest.Decode[map[string]string](t, resp)
			assert.NotEmpty(t, body["error"])
			assert.NotEmpty(t, body["error_description"])
			assert.Equal(t, before, e.API(token, "GET", "/api/projects", nil).Body, "nothing written")
		})
	}
}

func TestCrossSitePostIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testCrossSitePostIsRefusedAndChangesNothing)
}

func testCrossSitePostIsRefusedAndChangesNothing(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	before := e.API(e.Token(alice), "GET", "/api/projects", nil).Body

	req, err := http.NewRequest("POST", e.URL+"/projects", strings.NewReader("name=Forged"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp := apptest.Send(t, b.Client, req)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	req, err = http.NewRequest("POST", e.URL+"/projects", strings.NewReader("name=Forged"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp = apptest.Send(t, b.Client, req)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	assert.Equal(t, before, e.API(e.Token(alice), "GET", "/api/projects", nil).Body)
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testSecurityHeadersOnEveryPage)
}

func testSecurityHeadersOnEveryPage(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	b := e.SignIn(e.User("alice@acme.example"))
	// Pages, and the answers that are not pages: a static file, a method
	// the route does not take, the API's and the webhook's JSON errors.
	requests := [][2]string{
		{"GET", "/"}, {"GET", "/projects"}, {"GET", "/me"}, {"GET", "/nope"}, {"GET", "/healthz"},
		{"GET", "/static/app.css"}, {"PUT", "/projects"}, {"TRACE", "/"}, {"OPTIONS", "/api/projects"},
		{"GET", "/api/projects"}, {"POST", "/webhooks/scalekit"},
	}
	for _, req := range requests {
		resp, path := b.Do(req[0], e.URL+req[1], nil, ""), req[0]+" "+req[1]
		csp := resp.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "default-src 'none'", path)
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.Contains(t, csp, "frame-ancestors 'none'", path)
		assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"), path)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"), path)
	}
}

func TestUnreadableFormsChangeNothing(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testUnreadableFormsChangeNothing)
}

func testUnreadableFormsChangeNothing(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	projectID, taskID := e.ProjectWithTask(alice)
	token := e.Token(alice)
	require.Equal(t, http.StatusOK, e.API(token, "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": alice.ID}).StatusCode)
	before := e.API(token, "GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil).Body

	tests := []struct {
		name, path, body string
	}{
		{"a malformed assign form", fmt.Sprintf("/tasks/%d/assign", taskID), "assignee=%zz"},
		{"an assign form without assignee", fmt.Sprintf("/tasks/%d/assign", taskID), "other=1"},
		{"an oversized done form", fmt.Sprintf("/tasks/%d/done", taskID), "done=true&pad=" + strings.Repeat("x", 70<<10)},
		{"a done form without done", fmt.Sprintf("/tasks/%d/done", taskID), ""},
		{"a malformed project form", "/projects", "name=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := b.Do("POST", e.URL+tt.path, strings.NewReader(tt.body), "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, before, e.API(token, "GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil).Body, "the task is unchanged")
		})
	}
}

// TestInputThatIsNotTextIsA400OnBothEngines sends names, titles,
// descriptions and assignees holding a NUL, invalid UTF-8 or a control
// character, through the API and the forms. PostgreSQL refuses such bytes
// in text (the statement fails: a 500), SQLite stored them as sent: both
// must answer 400 naming the field, and write nothing.
func TestInputThatIsNotTextIsA400OnBothEngines(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testInputThatIsNotTextIsA400OnBothEngines)
}

func testInputThatIsNotTextIsA400OnBothEngines(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	token := e.Token(alice)
	projectID, taskID := e.ProjectWithTask(alice)
	state := func() string {
		return e.API(token, "GET", "/api/projects", nil).Body + e.API(token, "GET", fmt.Sprintf("/api/projects/%d/tasks", projectID), nil).Body
	}
	before := state()

	bad := map[string]string{"a NUL": "a\x00b", "invalid UTF-8": "a\xffb", "an escape sequence": "\x1b[2Jx"}
	project := fmt.Sprintf("/projects/%d", projectID)
	for what, s := range bad {
		tests := []struct {
			name, method, path string
			json               map[string]string // an API call, else a form post
			form               url.Values
			field              string
		}{
			{"API project name", "POST", "/api/projects", map[string]string{"name": s}, nil, "name"},
			{"API project description", "PATCH", "/api" + project, map[string]string{"description": s}, nil, "description"},
			{"API task title", "POST", "/api" + project + "/tasks", map[string]string{"title": s}, nil, "title"},
			{"API assignee", "POST", fmt.Sprintf("/api/tasks/%d/assign", taskID), map[string]string{"assignee": s}, nil, "assignee"},
			{"form project name", "POST", "/projects", nil, url.Values{"name": {s}}, ""},
			{"form project edit", "POST", project, nil, url.Values{"name": {"Fixture"}, "description": {s}}, ""},
			{"form task title", "POST", project + "/tasks", nil, url.Values{"title": {s}}, ""},
			{"form assignee", "POST", fmt.Sprintf("/tasks/%d/assign", taskID), nil, url.Values{"assignee": {s}}, ""},
		}
		for _, tt := range tests {
			if tt.json != nil && !utf8.ValidString(s) {
				continue // JSON carries text only: a decoder reads invalid UTF-8 as U+FFFD, as RFC 8259 allows
			}
			t.Run(tt.name+" with "+what, func(t *testing.T) {
				if tt.json != nil {
					resp := e.API(token, tt.method, tt.path, tt.json)
					require.Equal(t, http.StatusBadRequest, resp.StatusCode, resp.Body)
					assert.Equal(t, tt.field, apptest.Decode[map[string]string](t, resp)["field"])
				} else {
					resp := b.Post(tt.path, tt.form)
					require.Equal(t, http.StatusBadRequest, resp.StatusCode)
					assert.NotEmpty(t, apptest.Text(apptest.ParseHTML(t, resp.Body), `.message, .form-error`), "the page says what is wrong")
				}
				assert.Equal(t, before, state(), "nothing written")
			})
		}
	}
	// What a person types stays accepted: line breaks in a description,
	// and text of any script.
	resp := e.API(token, "PATCH", "/api"+project, map[string]string{"description": "line one\r\nline two\ttabbed"})
	assert.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	resp = e.API(token, "POST", "/api/projects", map[string]string{"name": "Запуск ✓ 発売"})
	assert.Equal(t, http.StatusCreated, resp.StatusCode, resp.Body)
}

// TestEveryBrowserFormRefusesCrossSitePosts posts a form that would
// succeed, to every POST route of the browser's tables (sign-out and the
// organization switch included), as a page of another site would, or a
// sibling subdomain, or a sandboxed frame: each is refused with 403, the
// session stays signed in, and nothing changes.
func TestEveryBrowserFormRefusesCrossSitePosts(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	alice, bob := e.User("alice@acme.example"), e.User("bob@acme.example")
	b := e.SignIn(alice)
	projectID, taskID := e.ProjectWithTask(alice)
	fix := fixtures{admin: alice, projectID: projectID, taskID: taskID}
	forged := []struct {
		name, header, value string
	}{
		{"another site", "Sec-Fetch-Site", "cross-site"},
		{"a sibling subdomain", "Sec-Fetch-Site", "same-site"},
		{"an old browser on another origin", "Origin", "https://evil.example"},
		{"a sandboxed frame", "Origin", "null"},
	}
	var posts int
	for _, rt := range tableOf(e.App) {
		if rt.Method != http.MethodPost || (rt.group != "Pages" && rt.group != "SignIn") {
			continue
		}
		posts++
		path := strings.NewReplacer("/tasks/{id}", fmt.Sprintf("/tasks/%d", taskID), "{id}", strconv.FormatInt(projectID, 10), "{userID}", bob.ID).Replace(rt.Pattern)
		form := url.Values{
			"name": {"Forged"}, "title": {"Forged task"}, "assignee": {alice.ID}, "done": {"true"}, "role": {"viewer"},
			"organization_id": {alice.OrgID}, "return_to": {"/projects"},
		}
		for _, f := range forged {
			t.Run(rt.Method+" "+rt.Pattern+" from "+f.name, func(t *testing.T) {
				req, err := http.NewRequest("POST", e.URL+path, strings.NewReader(form.Encode()))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set(f.header, f.value)
				resp := apptest.Send(t, b.Client, req)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode, resp.Header.Get("Location"))
				assert.Empty(t, resp.Header.Values("Set-Cookie"), "no session ended, no sign-in started")
				assert.Equal(t, http.StatusOK, b.Get("/me").StatusCode, "still signed in")
				assertUnchanged(t, e, fix)
				assert.Equal(t, []string{"project_manager"}, e.IdPRoles(bob.ID))
			})
		}
	}
	assert.GreaterOrEqual(t, posts, 9, "every form of the app was tried")
}

// A method the path does not answer is a 405 that says which it does
// (the Allow header of RFC 9110 15.5.6), pages and API alike.
func TestA405NamesTheMethodsThePathAnswers(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	tests := []struct {
		method, path, allow string
		json                bool
	}{
		{"PUT", "/projects", "GET, HEAD, POST", false},
		{"GET", "/logout", "POST", false},
		{"TRACE", "/healthz", "GET, HEAD", false},
		{"DELETE", "/api/projects", "GET, HEAD, POST", true},
		{"PUT", "/api/projects/1", "GET, HEAD, PATCH, DELETE", true},
		{"GET", "/webhooks/scalekit", "POST", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := e.NewBrowser().Do(tt.method, e.URL+tt.path, nil, "")
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, resp.Body)
			assert.Equal(t, tt.allow, resp.Header.Get("Allow"))
			if tt.json {
				assert.Equal(t, "method_not_allowed", apptest.Decode[map[string]string](t, resp)["error"])
			}
		})
	}
}

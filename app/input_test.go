package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
	for _, path := range []string{"/", "/projects", "/me", "/nope", "/healthz"} {
		resp := b.Get(path)
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

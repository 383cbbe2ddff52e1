package apptest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// TestAnEndToEndTest is the shape of every end-to-end test of the app: the
// app and the mock IdP on random ports, one user through the real sign-in
// redirects, another calling the JSON API with a minted token.
func TestAnEndToEndTest(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, func(t *testing.T, engine database.Engine) {
		e := apptest.Start(t, apptest.Options{Engine: engine})

		alice := e.SignIn(e.User("alice@acme.example"))
		page := alice.Get("/projects")
		require.Equal(t, http.StatusOK, page.StatusCode, page.Body)
		assert.Equal(t, "org_100000000000000001", apptest.Text(apptest.ParseHTML(t, page.Body), `[data-testid="user-org"]`), "the header shows the token's organization")

		bob := e.User("bob@acme.example")
		created := e.API(e.Token(bob), "POST", "/api/projects", map[string]string{"name": "Launch"})
		require.Equal(t, http.StatusCreated, created.StatusCode, created.Body)
		assert.Equal(t, "Launch", apptest.Decode[struct{ Project struct{ Name string } }](t, created).Project.Name)

		dave := e.User("dave@acme.example") // a viewer
		refused := e.API(e.Token(dave), "POST", "/api/projects", map[string]string{"name": "Nope"})
		assert.Equal(t, http.StatusForbidden, refused.StatusCode, refused.Body)
	})
}

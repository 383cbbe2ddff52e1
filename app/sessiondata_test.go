package app_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/app/apptest"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/database/databasetest"
)

// sessionRows reads the sessions table as someone holding a copy of the
// database would.
func sessionRows(t *testing.T, e *apptest.Env) map[string]string {
	t.Helper()
	db, _ := databasetest.Open(t, e.Config.Database())
	rows, err := db.Query(`SELECT id_hash, data FROM sessions`)
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, data string
		require.NoError(t, rows.Scan(&id, &data))
		got[id] = data
	}
	require.NoError(t, rows.Err())
	return got
}

func setSessionRow(t *testing.T, e *apptest.Env, idHash, data string) {
	t.Helper()
	db, _ := databasetest.Open(t, e.Config.Database())
	_, err := db.Exec(`UPDATE sessions SET data = $1 WHERE id_hash = $2`, []byte(data), idHash)
	require.NoError(t, err)
}

func TestTheDatabaseHoldsNoUsableToken(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testTheDatabaseHoldsNoUsableToken)
}

func testTheDatabaseHoldsNoUsableToken(t *testing.T, engine database.Engine) {
	e := apptest.Start(t, apptest.Options{Engine: engine})
	alice := e.User("alice@acme.example")
	b := e.SignIn(alice)
	require.Equal(t, http.StatusOK, b.Get("/projects").StatusCode)

	rows := sessionRows(t, e)
	require.NotEmpty(t, rows)
	for _, data := range rows {
		assert.NotContains(t, data, "eyJ", "no JWT (access or ID token) in clear")
		for _, leak := range []string{"refresh_token", "access_token", alice.Email, alice.ID} {
			assert.NotContains(t, data, leak)
		}
	}
}

func TestAlteredSessionRowsSignTheUserOut(t *testing.T) {
	t.Parallel()
	databasetest.Run(t, testAlteredSessionRowsSignTheUserOut)
}

func testAlteredSessionRowsSignTheUserOut(t *testing.T, engine database.Engine) {
	tests := []struct {
		name  string
		alter func(own, other string) string
	}{
		{"another user's row copied over", func(_, other string) string { return other }},
		{"one character changed", func(own, _ string) string {
			b := []byte(own)
			b[len(b)/2] ^= 1
			return string(b)
		}},
		{"a row in clear, as older versions wrote", func(string, string) string {
			return "access_token=x&refresh_token=y"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apptest.Start(t, apptest.Options{Engine: engine})
			bob := e.SignIn(e.User("bob@acme.example"))
			before := sessionRows(t, e)
			require.Len(t, before, 1, "one row per signed-in session")
			alice := e.SignIn(e.User("alice@acme.example"))
			rows := sessionRows(t, e)
			require.Len(t, rows, 2)
			var bobID, aliceID string
			for id := range rows {
				if _, ok := before[id]; ok {
					bobID = id
				} else {
					aliceID = id
				}
			}
			setSessionRow(t, e, bobID, tt.alter(rows[bobID], rows[aliceID]))

			resp := bob.Get("/projects")
			assert.Equal(t, http.StatusFound, resp.StatusCode, "asked to sign in again, not served as anyone")
			assert.Equal(t, "/login?return_to=%2Fprojects", resp.Header.Get("Location"))
			assert.Equal(t, http.StatusOK, alice.Get("/projects").StatusCode, "the other session is untouched")
		})
	}
}

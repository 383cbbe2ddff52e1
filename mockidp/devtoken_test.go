package mockidp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
)

func TestDevTokenMintsADemoUsersAccessToken(t *testing.T) {
	model, err := rbac.Load("../rbac.seed.json")
	require.NoError(t, err)
	idp := mockidptest.Start(t, mockidp.Config{Model: model})

	tests := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"by email", url.Values{"email": {"bob@acme.example"}}, http.StatusOK},
		{"by user id", url.Values{"user_id": {"usr_100000000000000002"}}, http.StatusOK},
		{"an unknown user is refused", url.Values{"email": {"mallory@evil.example"}}, http.StatusBadRequest},
		{"an unknown client is refused", url.Values{"email": {"bob@acme.example"}, "client_id": {"skc_other"}}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.PostForm(idp.URL()+"/dev/token", tt.form)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
			var body struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			if tt.status == http.StatusOK {
				assert.NotEmpty(t, body.AccessToken)
				assert.Equal(t, "Bearer", body.TokenType)
			}
		})
	}
}

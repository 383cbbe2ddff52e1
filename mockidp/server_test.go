package mockidp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/mockidp/mockidptest"
)

func TestNewRefusesABadConfig(t *testing.T) {
	model := loadModel(t)
	tests := []struct {
		name   string
		issuer string
		cfg    mockidp.Config
	}{
		{"no model", "http://127.0.0.1:9000", mockidp.Config{}},
		{"an issuer with a trailing slash", "http://127.0.0.1:9000/", mockidp.Config{Model: model}},
		{"an issuer that is not http(s)", "ftp://127.0.0.1:9000", mockidp.Config{Model: model}},
		{"a relative issuer", "/idp", mockidp.Config{Model: model}},
		{"a user with a role the model lacks", "http://127.0.0.1:9000", mockidp.Config{Model: model,
			Users: []mockidp.User{{ID: "usr_1", OrgID: "org_1", Roles: []string{"superuser"}}}}},
		{"a user listed twice", "http://127.0.0.1:9000", mockidp.Config{Model: model,
			Users: []mockidp.User{{ID: "usr_1", OrgID: "org_1"}, {ID: "usr_1", OrgID: "org_1"}}}},
		{"a client without a secret", "http://127.0.0.1:9000", mockidp.Config{Model: model,
			Clients: []mockidp.Client{{ID: "skc_1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			s, err := mockidp.New(tt.issuer, tt.cfg)
			assert.Error(t, err)
			assert.Nil(t, s)
		})
	}
}

func TestNewServesUnderTheIssuerPath(t *testing.T) {
	s, err := mockidp.New("https://idp.example/env1", mockidp.Config{Model: loadModel(t)})
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/env1/.well-known/openid-configuration", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var got map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, "https://idp.example/env1", got["issuer"])
	assert.Equal(t, "https://idp.example/env1/keys", got["jwks_uri"])
	assert.NoError(t, s.Close(), "closing a server that New made is a no-op")
}

func TestStartKeepsLocalhostInTheIssuer(t *testing.T) {
	s, err := mockidp.Start(mockidp.Config{Model: loadModel(t), Addr: "localhost:0"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	assert.True(t, strings.HasPrefix(s.URL(), "http://localhost:"), s.URL())
	resp, err := http.Get(s.URL() + "/.well-known/openid-configuration")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestATestIdPListensOnLoopback(t *testing.T) {
	s := mockidptest.Start(t, mockidp.Config{Model: loadModel(t), Addr: ":8080"})
	assert.True(t, strings.HasPrefix(s.URL(), "http://127.0.0.1:"), s.URL())
	assert.NotEqual(t, "http://127.0.0.1:8080", s.URL(), "mockidptest.Start picks a free port")
}

func TestDemoDataIsWhatTheREADMEPromises(t *testing.T) {
	model := loadModel(t)
	s := mockidptest.Start(t, mockidp.Config{Model: model})
	users := s.Users()
	require.Len(t, users, 6)
	for _, u := range users {
		assert.Regexp(t, `^usr_\d{18}$`, u.ID)
		assert.Regexp(t, `^org_\d{18}$`, u.OrgID)
		assert.Equal(t, u.GivenName+" "+u.FamilyName, u.Name)
		for _, r := range u.Roles {
			_, ok := model.Role(r)
			assert.True(t, ok, "%s has role %q from the seed file", u.Name, r)
		}
	}
	assert.Equal(t, []string{model.DefaultCreatorRole}, demoUser(t, alice).Roles, "Alice created Acme")
	assert.Equal(t, []string{model.DefaultMemberRole}, demoUser(t, "usr_200000000000000002").Roles, "Grace joined Globex later")

	users[0].Roles[0] = "viewer"
	assert.Equal(t, []string{"admin"}, s.Users()[0].Roles, "Users returns a copy")
}

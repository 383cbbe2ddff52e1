package scalekit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// fakeAPI answers the token endpoint, and every other request with status
// and body.
func fakeAPI(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/oauth/token" {
			_, _ = w.Write([]byte(`{"access_token":"test-token","token_type":"Bearer","expires_in":3600}`))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestErrorBodiesAreDecodedIntoTypedErrors(t *testing.T) {
	const info = `"@type":"type.googleapis.com/scalekit.v1.errdetails.ErrorInfo"`
	tests := []struct {
		name        string
		status      int
		body        string
		want        error
		notWant     error
		wantMessage string
		wantCode    string
		violations  []scalekit.FieldViolation
	}{
		{"a 404 is ErrNotFound and keeps the server's message", 404,
			`{"code":5,"message":"permission not found","details":[{` + info + `,"error_code":"NOT_FOUND"}]}`,
			scalekit.ErrNotFound, scalekit.ErrInvalid, "permission not found", "NOT_FOUND", nil},
		{"a 409 is ErrAlreadyExists", 409,
			`{"code":6,"message":"role already exists","details":[{` + info + `,"error_code":"ALREADY_EXISTS"}]}`,
			scalekit.ErrAlreadyExists, scalekit.ErrInvalid, "role already exists", "ALREADY_EXISTS", nil},
		{"Scalekit's 400 duplicate key is ErrAlreadyExists, not ErrInvalid", 400,
			`{"code":3,"message":"duplicate key not allowed","details":[]}`,
			scalekit.ErrAlreadyExists, scalekit.ErrInvalid, "duplicate key not allowed", "", nil},
		{"a 400 with field violations is ErrInvalid and lists them", 400,
			`{"code":3,"message":"validation failed","details":[{` + info + `,"error_code":"INVALID_ARGUMENT","validation_error_info":{"field_violations":[{"field":"name","description":"value does not match regex pattern","constraint":"string.pattern"}]}}]}`,
			scalekit.ErrInvalid, scalekit.ErrAlreadyExists, "validation failed", "INVALID_ARGUMENT",
			[]scalekit.FieldViolation{{Field: "name", Description: "value does not match regex pattern", Constraint: "string.pattern"}}},
		{"google.rpc.BadRequest violations are read too", 400,
			`{"code":3,"message":"bad request","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"display_name","description":"required"}]}]}`,
			scalekit.ErrInvalid, nil, "bad request", "", []scalekit.FieldViolation{{Field: "display_name", Description: "required"}}},
		{"a 401 is ErrUnauthenticated", 401,
			`{"code":16,"message":"token expired","details":[{` + info + `,"error_code":"UNAUTHENTICATED"}]}`,
			scalekit.ErrUnauthenticated, scalekit.ErrNotFound, "token expired", "UNAUTHENTICATED", nil},
		{"an OAuth-style 401 keeps its description", 401, `{"error":"invalid_token","error_description":"expired"}`,
			scalekit.ErrUnauthenticated, nil, "invalid_token: expired", "", nil},
		{"a 403 is ErrPermissionDenied", 403, `{"code":7,"message":"not allowed"}`,
			scalekit.ErrPermissionDenied, scalekit.ErrUnauthenticated, "not allowed", "", nil},
		{"a 429 is ErrRateLimited once the retries run out", 429, `{"code":8,"message":"slow down"}`,
			scalekit.ErrRateLimited, nil, "slow down", "", nil},
		{"a proxy's HTML page keeps the status and a short excerpt", 502, "<html><body>" + strings.Repeat("Bad gateway ", 50) + "</body></html>",
			nil, scalekit.ErrNotFound, "<html><body>Bad gateway", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeAPI(t, tt.status, tt.body)
			c, err := scalekit.New(scalekit.Config{EnvironmentURL: srv.URL, ClientID: "skc_1", ClientSecret: "s",
				MaxRetries: 1, Backoff: func(int, time.Duration) time.Duration { return 0 }})
			require.NoError(t, err)

			_, err = c.GetPermission(context.Background(), "projects:read")
			require.Error(t, err)
			var apiErr *scalekit.APIError
			require.True(t, errors.As(err, &apiErr), "got %T: %v", err, err)
			assert.Equal(t, tt.status, apiErr.Status)
			assert.Contains(t, apiErr.Message, tt.wantMessage)
			assert.LessOrEqual(t, len(apiErr.Message), 210, "an HTML page is cut short")
			assert.Equal(t, tt.wantCode, apiErr.ErrorCode)
			assert.Equal(t, tt.violations, apiErr.Violations)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			if tt.notWant != nil {
				assert.NotErrorIs(t, err, tt.notWant)
			}
			assert.Contains(t, err.Error(), "get permission projects:read", "errors name the step")
			assert.NotContains(t, err.Error(), "test-token", "errors never carry the token")
		})
	}
}

func TestTheMockAnswersInvalidNamesWithFieldViolations(t *testing.T) {
	e := start(t)
	_, err := e.client.CreatePermission(context.Background(), "users.write", "the docs' dotted name")
	require.Error(t, err)
	assert.ErrorIs(t, err, scalekit.ErrInvalid)
	var apiErr *scalekit.APIError
	require.True(t, errors.As(err, &apiErr))
	require.Len(t, apiErr.Violations, 1)
	assert.Equal(t, "name", apiErr.Violations[0].Field)
	assert.Equal(t, "INVALID_ARGUMENT", apiErr.ErrorCode)
}

func TestDefaultBackoffHonoursRetryAfter(t *testing.T) {
	assert.Equal(t, 3*time.Second, scalekit.DefaultBackoff(1, 3*time.Second))
	assert.Equal(t, time.Minute, scalekit.DefaultBackoff(1, time.Hour), "a long Retry-After is capped")
	for attempt := 1; attempt <= 10; attempt++ {
		d := scalekit.DefaultBackoff(attempt, 0)
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, 8*time.Second)
	}
}

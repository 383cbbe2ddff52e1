package scalekit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

func TestRetriesFollowTheStatus(t *testing.T) {
	tests := []struct {
		name         string
		status, n    int
		wantErr      error
		wantRequests int64
		wantWaits    []time.Duration
	}{
		{"two 429s are retried, honouring Retry-After", http.StatusTooManyRequests, 2, nil, 3, []time.Duration{time.Second, time.Second}},
		{"two 503s are retried", http.StatusServiceUnavailable, 2, nil, 3, []time.Duration{time.Second, time.Second}},
		{"a 500 is retried", http.StatusInternalServerError, 1, nil, 2, []time.Duration{0}},
		{"retries stop after three", http.StatusServiceUnavailable, 10, errors.New("503"), 4, []time.Duration{time.Second, time.Second, time.Second}},
		{"a 409 is not retried", http.StatusConflict, 1, scalekit.ErrAlreadyExists, 1, nil},
		{"a 401 is retried once with a fresh token", http.StatusUnauthorized, 1, nil, 2, nil},
		{"a second 401 is final", http.StatusUnauthorized, 2, scalekit.ErrUnauthenticated, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t)
			e.idp.FailManagement(tt.n, tt.status, "")

			p, err := e.client.GetPermission(context.Background(), "projects:read")
			switch {
			case tt.wantErr == nil:
				require.NoError(t, err)
				assert.Equal(t, "projects:read", p.Name)
			case errors.Is(tt.wantErr, scalekit.ErrAlreadyExists) || errors.Is(tt.wantErr, scalekit.ErrUnauthenticated):
				assert.ErrorIs(t, err, tt.wantErr)
			default:
				var apiErr *scalekit.APIError
				require.True(t, errors.As(err, &apiErr))
				assert.Equal(t, tt.status, apiErr.Status)
			}
			assert.Equal(t, tt.wantRequests, e.idp.ManagementRequests())
			assert.Equal(t, tt.wantWaits, e.waits.got())
		})
	}
}

func TestWrongCredentialsAreUnauthenticatedAndSendNothing(t *testing.T) {
	e := start(t)
	c := newClient(t, e.idp.URL(), "not-the-secret", e.waits)

	_, err := c.ListRoles(context.Background(), scalekit.IncludeNone)
	require.Error(t, err)
	assert.ErrorIs(t, err, scalekit.ErrUnauthenticated)
	assert.Contains(t, err.Error(), "invalid_client", "the error keeps the server's reason")
	assert.NotContains(t, err.Error(), "not-the-secret", "the error never shows the secret")
	assert.Zero(t, e.idp.ManagementRequests(), "no API call without a token")
}

func TestListPermissionsFollowsPagesToTheEnd(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	for i := range 205 {
		_, err := e.client.CreatePermission(ctx, fmt.Sprintf("extra:p%03d", i), "")
		require.NoError(t, err)
	}
	before := e.idp.ManagementRequests()

	perms, err := e.client.ListPermissions(ctx)
	require.NoError(t, err)
	assert.Len(t, perms, 205+len(e.model.Permissions))
	assert.Equal(t, int64(3), e.idp.ManagementRequests()-before, "215 permissions are three pages of 100")
	seen := map[string]bool{}
	for _, p := range perms {
		assert.False(t, seen[p.Name], "permission %s listed twice", p.Name)
		seen[p.Name] = true
	}
}

func TestPagingSendsTheTokensItReceives(t *testing.T) {
	tests := []struct {
		name    string
		pages   map[string]string // page_token -> next_page_token
		want    []string          // page tokens the server receives
		wantErr string
	}{
		{"three pages", map[string]string{"": "p2", "p2": "p3", "p3": ""}, []string{"", "p2", "p3"}, ""},
		{"a token handed out twice stops the listing", map[string]string{"": "p2", "p2": "p2"}, []string{"", "p2"}, "page token twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/oauth/token" {
					_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":3600}`))
					return
				}
				q := r.URL.Query()
				assert.Equal(t, "ENVIRONMENT", q.Get("type"))
				assert.Equal(t, "100", q.Get("page_size"))
				mu.Lock()
				got = append(got, q.Get("page_token"))
				mu.Unlock()
				_ = json.NewEncoder(w).Encode(map[string]any{
					"permissions":     []map[string]string{{"name": "p:" + q.Get("page_token")}},
					"next_page_token": tt.pages[q.Get("page_token")],
				})
			}))
			t.Cleanup(srv.Close)
			c, err := scalekit.New(scalekit.Config{EnvironmentURL: srv.URL, ClientID: "skc_1", ClientSecret: "s"})
			require.NoError(t, err)

			perms, err := c.ListPermissions(context.Background())
			assert.Equal(t, tt.want, got)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, perms, len(tt.want))
		})
	}
}

func TestListOrganizationUsersFollowsPagesToTheEnd(t *testing.T) {
	var users []mockidp.User
	for i := range 130 {
		users = append(users, mockidp.User{ID: fmt.Sprintf("usr_9%017d", i), Email: fmt.Sprintf("u%d@acme.example", i),
			OrgID: acme, OrgName: "Acme Corp", Roles: []string{"viewer"}})
	}
	users = append(users, mockidp.User{ID: "usr_800000000000000001", OrgID: "org_other", Roles: []string{"admin"}})
	e := start(t, users...)

	got, err := e.client.ListOrganizationUsers(context.Background(), acme)
	require.NoError(t, err)
	require.Len(t, got, 130, "only Acme's members, all of them")
	assert.Equal(t, []string{"viewer"}, got[129].RolesIn(acme))
	assert.Nil(t, got[0].RolesIn("org_other"))
	assert.Equal(t, int64(2), e.idp.ManagementRequests(), "130 users are two pages of 100")
}

func TestEachAttemptHasATimeout(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/oauth/token" {
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"Bearer","expires_in":3600}`))
			return
		}
		attempts.Add(1)
		<-r.Context().Done() // a server that never answers
	}))
	t.Cleanup(srv.Close)
	w := &waits{}
	c, err := scalekit.New(scalekit.Config{EnvironmentURL: srv.URL, ClientID: "skc_1", ClientSecret: "s",
		Timeout: 50 * time.Millisecond, MaxRetries: 1, Backoff: w.backoff})
	require.NoError(t, err)

	start := time.Now()
	_, err = c.ListRoles(context.Background(), scalekit.IncludeNone)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, int32(2), attempts.Load(), "a timed-out attempt is retried")
}

func TestGetUserListsEveryMembershipWithItsOrganizationsName(t *testing.T) {
	e := start(t, mockidp.DemoCast()...)
	casey := mockidp.DemoConsultant()

	got, err := e.client.GetUser(context.Background(), casey.ID)
	require.NoError(t, err)
	require.Len(t, got.Memberships, 2)
	assert.Equal(t, acme, got.Memberships[0].OrganizationID)
	assert.Equal(t, "Acme Corp", got.Memberships[0].DisplayName)
	assert.Equal(t, "Globex Inc", got.Memberships[1].DisplayName)
	assert.Equal(t, []string{"project_manager"}, got.RolesIn(acme))
	assert.Equal(t, []string{"viewer"}, got.RolesIn(got.Memberships[1].OrganizationID))

	_, err = e.client.GetUser(context.Background(), "usr_999999999999999999")
	var apiErr *scalekit.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.Status)
}

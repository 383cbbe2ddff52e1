package mockidp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/internal/testkit"
	"github.com/scalekit-samples/go-rbac-projects/mockidp"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// received is an event as an endpoint reads it.
type received struct {
	Type           string `json:"type"`
	OrganizationID string `json:"organization_id"`
	OccurredAt     string `json:"occurred_at"`
	Data           struct {
		Name string `json:"name"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	} `json:"data"`
}

func TestTheMockReportsRoleChangesToItsWebhookEndpoint(t *testing.T) {
	e := start(t)
	verifier, err := standardwebhooks.NewWebhook(testkit.WebhookSecret)
	require.NoError(t, err)
	var mu sync.Mutex
	var got []received
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// The mock's clock is the fake one: verify at its time, not ours.
		if err := verifier.VerifyIgnoringTimestamp(body, r.Header); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev received
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	t.Cleanup(endpoint.Close)
	require.NoError(t, e.idp.SetWebhook(mockidp.WebhookTarget{URL: endpoint.URL, Secret: testkit.WebhookSecret}))
	c := e.client(t)
	ctx := context.Background()
	last := func() received {
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, got, "the event arrived before the change returned")
		return got[len(got)-1]
	}

	require.NoError(t, e.idp.SetUserRoles(dave, []string{"editor"})) // the dashboard
	ev := last()
	assert.Equal(t, "user.organization_membership_updated", ev.Type)
	assert.Equal(t, dave, ev.Data.User.ID)
	assert.Equal(t, acme, ev.Data.Organization.ID)
	assert.Equal(t, e.clock.Now().UTC().Format(time.RFC3339Nano), ev.OccurredAt, "dated by the mock's clock")

	updated, err := c.UpdateMemberRoles(ctx, acme, dave, []string{"viewer"}) // the management API
	require.NoError(t, err)
	assert.Equal(t, "user.organization_membership_updated", last().Type)
	assert.Equal(t, e.clock.Now().Truncate(time.Second).UTC(), updated.AsOf.UTC(), "the answer's Date is the mock's clock")

	_, err = c.UpdateRole(ctx, "viewer", scalekitRoleUpdate("Viewer!"))
	require.NoError(t, err)
	ev = last()
	assert.Equal(t, "role.updated", ev.Type)
	assert.Equal(t, "viewer", ev.Data.Name)
	assert.Empty(t, ev.OrganizationID, "an environment's role names no organization")

	require.NoError(t, e.idp.SetWebhook(mockidp.WebhookTarget{}))
	before := last()
	require.NoError(t, e.idp.SetUserRoles(dave, []string{"editor"}))
	assert.Equal(t, before, last(), "no endpoint, no event")
}

func scalekitRoleUpdate(display string) scalekit.RoleUpdate {
	return scalekit.RoleUpdate{DisplayName: &display}
}

package mockidp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Webhooks: like Scalekit, the mock can tell an endpoint that roles
// changed. It sends user.organization_membership_updated when a member's
// roles change (SetUserRoles, as the dashboard does, or the management
// API), and role.* / permission.* events when the management API changes
// the model. Each is signed the Standard Webhooks way and dated by the
// mock's clock (occurred_at and webhook-timestamp).
//
// Unlike Scalekit, delivery is synchronous and made once: the call that
// made the change answers after the endpoint did, so tests need not wait
// for it. A failed delivery is logged.

type webhookSink struct {
	url    string
	signer *standardwebhooks.Webhook
	client *http.Client
}

// SetWebhook sends the mock's events to url, signed with secret (the
// endpoint's whsec_... secret). An empty url stops them.
func (s *Server) SetWebhook(url, secret string) error {
	if url == "" {
		s.webhook.Store(nil)
		return nil
	}
	signer, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	s.webhook.Store(&webhookSink{url: url, signer: signer, client: &http.Client{Timeout: 10 * time.Second}})
	return nil
}

// emit delivers an event, if an endpoint is set. The caller must not hold
// s.mu: the endpoint may call the management API back.
func (s *Server) emit(typ, orgID string, data map[string]any) {
	sink := s.webhook.Load()
	if sink == nil {
		return
	}
	now := s.now().UTC()
	body, err := json.Marshal(map[string]any{
		"spec_version":    "1",
		"id":              newID("evt_"),
		"type":            typ,
		"environment_id":  "env_mock",
		"organization_id": orgID,
		"occurred_at":     now.Format(time.RFC3339Nano),
		"data":            data,
	})
	if err != nil {
		s.log.Error("mock idp webhook not encoded", "type", typ, "error", err)
		return
	}
	msgID := newID("msg_")
	sig, err := sink.signer.Sign(msgID, now, body)
	if err != nil {
		s.log.Error("mock idp webhook not signed", "type", typ, "error", err)
		return
	}
	req, err := http.NewRequest(http.MethodPost, sink.url, bytes.NewReader(body))
	if err != nil {
		s.log.Error("mock idp webhook not sent", "type", typ, "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := sink.client.Do(req)
	if err != nil {
		s.log.Warn("mock idp webhook delivery failed", "type", typ, "error", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.log.Warn("mock idp webhook refused", "type", typ, "status", resp.StatusCode)
	}
}

// emitMembership reports that a member's roles changed.
func (s *Server) emitMembership(orgID, userID string, roles []string) {
	refs := make([]map[string]string, len(roles))
	for i, r := range roles {
		refs[i] = map[string]string{"name": r}
	}
	s.emit("user.organization_membership_updated", orgID, map[string]any{
		"user":         map[string]string{"id": userID},
		"organization": map[string]string{"id": orgID},
		"roles":        refs,
	})
}

// modelEvents names the event of each management route that changes the
// model or a membership (patterns relative to the API's root).
var modelEvents = map[string]string{
	"POST /permissions":                                   "permission.created",
	"PUT /permissions/{name}":                             "permission.updated",
	"DELETE /permissions/{name}":                          "permission.deleted",
	"POST /roles":                                         "role.created",
	"PUT /roles/{name}":                                   "role.updated",
	"DELETE /roles/{name}":                                "role.deleted",
	"DELETE /roles/{name}/base":                           "role.updated",
	"DELETE /roles/{name}/permissions/{permission}":       "role.updated",
	"POST /organizations/{org}/roles":                     "role.created",
	"PUT /organizations/{org}/roles/{name}":               "role.updated",
	"DELETE /organizations/{org}/roles/{name}":            "role.deleted",
	"DELETE /organizations/{org}/roles/{name}/base":       "role.updated",
	"PATCH /memberships/organizations/{org}/users/{user}": "user.organization_membership_updated",
}

// notifying wraps a management action of the pattern (prefixed by api,
// the API's root) so that its success emits the pattern's event, if any.
func (s *Server) notifying(pattern, api string, action func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	method, path, _ := strings.Cut(pattern, " ")
	typ, ok := modelEvents[method+" "+strings.TrimPrefix(path, api)]
	if !ok {
		return action
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := action(w, r); err != nil {
			return err
		}
		org := r.PathValue("org")
		if user := r.PathValue("user"); user != "" {
			u, _ := s.user(user)
			s.emitMembership(org, user, u.Roles)
			return nil
		}
		data := map[string]any{}
		if name := r.PathValue("name"); name != "" {
			data["name"] = name
		}
		if org != "" {
			data["organization_id"] = org // an organization's own role
		}
		s.emit(typ, org, data)
		return nil
	}
}

package mockidp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Signed webhooks out: the mock tells an app about its own state changes
// the way Scalekit does (Standard Webhooks: webhook-id, webhook-timestamp,
// webhook-signature over "id.timestamp.body" with the whsec_ secret), so
// that an app's webhook handling is tested against the same source as its
// tokens.

// Event types the mock sends.
const (
	EventMembershipUpdated = "user.organization_membership_updated"
	// The creation and removal of a membership are named after
	// EventMembershipUpdated; data names the user and the organization.
	EventMembershipCreated    = "user.organization_membership_created"
	EventMembershipDeleted    = "user.organization_membership_deleted"
	EventDirectoryUserCreated = "organization.directory.user_created"
	EventDirectoryUserUpdated = "organization.directory.user_updated"
	EventDirectoryUserDeleted = "organization.directory.user_deleted"
)

// WebhookTarget is where events go: an endpoint URL and its whsec_ secret.
type WebhookTarget struct {
	URL    string
	Secret string
}

// Delivery is one event sent (or being sent), as the control plane lists it.
type Delivery struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Status   int    `json:"status"` // the endpoint's last answer; 0 when none came
	Attempts int    `json:"attempts"`
	Response string `json:"response,omitempty"` // the start of the endpoint's last answer, to debug a handler
	Error    string `json:"error,omitempty"`
	Done     bool   `json:"done"`
}

// event is a Scalekit-shaped event: its envelope and data.
type event struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Object         string `json:"object"`
	OrganizationID string `json:"organization_id"`
	OccurredAt     string `json:"occurred_at"`
	Data           any    `json:"data"`
}

// membershipEvent is sent when a member's roles in orgID change; typ may
// also be the creation or removal of the membership.
func membershipEvent(u User, orgID string) event {
	return membershipEventOf(EventMembershipUpdated, u, orgID)
}

func membershipEventOf(typ string, u User, orgID string) event {
	type ref struct {
		ID    string `json:"id"`
		Email string `json:"email,omitempty"`
	}
	return newEvent(typ, "OrganizationMembership", orgID, struct {
		User         ref `json:"user"`
		Organization ref `json:"organization"`
	}{ref{u.ID, u.Email}, ref{ID: orgID}})
}

// directoryEvents is what directory sync sends about a user, once per
// organization directory the user is in.
func directoryEvents(typ string, u User) []event {
	evs := make([]event, 0, len(u.Memberships))
	for _, m := range u.Memberships {
		evs = append(evs, directoryEvent(typ, u, m))
	}
	return evs
}

// directoryEvent is what one organization's directory sync sends about a
// user: a diruser_ ID (not the usr_ one), the email, and the roles mapped
// from the user's groups in that organization.
func directoryEvent(typ string, u User, m Membership) event {
	type role struct {
		RoleName string `json:"role_name"`
	}
	roles := []role{}
	for _, r := range m.Roles {
		roles = append(roles, role{r})
	}
	return newEvent(typ, "DirectoryUser", m.OrgID, struct {
		ID             string `json:"id"`
		OrganizationID string `json:"organization_id"`
		Email          string `json:"email"`
		GivenName      string `json:"given_name"`
		FamilyName     string `json:"family_name"`
		Active         bool   `json:"active"`
		Roles          []role `json:"roles"`
	}{"diruser_" + strings.TrimPrefix(u.ID, "usr_"), m.OrgID, u.Email, u.GivenName, u.FamilyName, typ != EventDirectoryUserDeleted, roles})
}

// newEvent returns an event of typ; enqueue dates it by the mock's clock.
func newEvent(typ, object, orgID string, data any) event {
	return event{ID: newID("evt_"), Type: typ, Object: object, OrganizationID: orgID, Data: data}
}

// webhooks sends events one at a time, in the order they happened, from a
// worker that runs only while there is something to send.
type webhooks struct {
	log    *slog.Logger
	client *http.Client
	now    func() time.Time // the mock's clock: events and signatures are dated by it, as Scalekit's by its own

	mu         sync.Mutex
	target     WebhookTarget
	signer     *standardwebhooks.Webhook // nil: no target, events are dropped
	queue      []queued
	running    bool
	deliveries []*Delivery // newest last, at most maxDeliveries
}

type queued struct {
	ev   event
	d    *Delivery
	done chan struct{}
}

const maxDeliveries = 200

func newWebhooks(t WebhookTarget, log *slog.Logger, now func() time.Time) (*webhooks, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	h := &webhooks{log: log, client: &http.Client{Timeout: 5 * time.Second}, now: now}
	if t.URL == "" && t.Secret == "" {
		return h, nil
	}
	return h, h.set(t)
}

// set checks and installs a target; an empty URL turns webhooks off.
func (h *webhooks) set(t WebhookTarget) error {
	var signer *standardwebhooks.Webhook
	if t.URL != "" {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &FieldError{"url", "must be an absolute http(s) URL"}
		}
		if !strings.HasPrefix(t.Secret, "whsec_") {
			return &FieldError{"secret", "must be a whsec_ secret, as Scalekit's dashboard shows one"}
		}
		if signer, err = standardwebhooks.NewWebhook(t.Secret); err != nil {
			return &FieldError{"secret", "must be whsec_ followed by base64: " + err.Error()}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.target, h.signer = t, signer
	return nil
}

// url is the current target URL, without the secret.
func (h *webhooks) url() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.target.URL
}

// enqueue schedules events and returns a channel closed once all of them
// are delivered or given up; with no target it is closed at once.
func (h *webhooks) enqueue(evs ...event) <-chan struct{} {
	all := make(chan struct{})
	h.mu.Lock()
	if h.signer == nil || len(evs) == 0 {
		h.mu.Unlock()
		close(all)
		return all
	}
	var last chan struct{}
	for _, ev := range evs {
		if ev.OccurredAt == "" {
			ev.OccurredAt = h.now().UTC().Format(time.RFC3339Nano)
		}
		d := &Delivery{ID: ev.ID, Type: ev.Type}
		if len(h.deliveries) >= maxDeliveries {
			h.deliveries = slices.Delete(h.deliveries, 0, 1)
		}
		h.deliveries = append(h.deliveries, d)
		last = make(chan struct{})
		h.queue = append(h.queue, queued{ev, d, last})
	}
	if !h.running {
		h.running = true
		go h.drain()
	}
	h.mu.Unlock()
	// In order: the last one done means all are.
	go func() { <-last; close(all) }()
	return all
}

func (h *webhooks) drain() {
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		q := h.queue[0]
		h.queue = h.queue[1:]
		target, signer := h.target, h.signer
		h.mu.Unlock()
		h.deliver(target, signer, q)
		close(q.done)
	}
}

// deliver posts one event, retrying a failed attempt twice (a network
// error, 429 or 5xx), as a sender with at-least-once delivery does.
func (h *webhooks) deliver(t WebhookTarget, signer *standardwebhooks.Webhook, q queued) {
	body, err := json.Marshal(q.ev)
	if err == nil && signer == nil {
		err = errors.New("webhooks were turned off")
	}
	for attempt := 1; err == nil && attempt <= 3; attempt++ {
		status, answer, perr := h.post(t.URL, signer, q.ev.ID, body)
		h.mu.Lock()
		q.d.Attempts, q.d.Status, q.d.Response = attempt, status, answer
		h.mu.Unlock()
		if perr == nil && status < 300 {
			break
		}
		if perr == nil {
			perr = fmt.Errorf("the endpoint answered %d", status)
		}
		retry := status == 0 || status == http.StatusTooManyRequests || status >= 500
		if !retry || attempt == 3 {
			err = perr
			break
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	h.mu.Lock()
	q.d.Done = true
	if err != nil {
		q.d.Error = err.Error()
	}
	h.mu.Unlock()
	if err != nil {
		h.log.Warn("mock idp webhook not delivered", "event", q.ev.Type, "id", q.ev.ID, "error", err)
		return
	}
	h.log.Info("mock idp webhook delivered", "event", q.ev.Type, "id", q.ev.ID)
}

func (h *webhooks) post(target string, signer *standardwebhooks.Webhook, id string, body []byte) (int, string, error) {
	now := h.now()
	sig, err := signer.Sign(id, now, body)
	if err != nil {
		return 0, "", fmt.Errorf("sign webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(answer), nil
}

// list returns copies of the deliveries, oldest first.
func (h *webhooks) list() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Delivery, len(h.deliveries))
	for i, d := range h.deliveries {
		out[i] = *d
	}
	return out
}

func (h *webhooks) clearDeliveries() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliveries = nil
}

// SetWebhook sends events to t from now on; a zero target turns them off.
func (s *Server) SetWebhook(t WebhookTarget) error {
	return s.ctl.hooks.set(t)
}

// Deliveries lists the webhook events sent lately, oldest first.
func (s *Server) Deliveries() []Delivery {
	return s.ctl.hooks.list()
}

// modelEvents names the event of each management route that changes the
// model or a membership (patterns relative to the API's root).
var modelEvents = map[string]string{
	"PATCH /memberships/organizations/{org}/users/{user}": EventMembershipUpdated,
	"POST /permissions":                             "permission.created",
	"PUT /permissions/{name}":                       "permission.updated",
	"DELETE /permissions/{name}":                    "permission.deleted",
	"POST /roles":                                   "role.created",
	"PUT /roles/{name}":                             "role.updated",
	"DELETE /roles/{name}":                          "role.deleted",
	"DELETE /roles/{name}/base":                     "role.updated",
	"DELETE /roles/{name}/permissions/{permission}": "role.updated",
	"POST /organizations/{org}/roles":               "role.created",
	"PUT /organizations/{org}/roles/{name}":         "role.updated",
	"DELETE /organizations/{org}/roles/{name}":      "role.deleted",
	"DELETE /organizations/{org}/roles/{name}/base": "role.updated",
}

// notifying wraps a management action of the pattern (prefixed by api,
// the API's root) so that its success sends the pattern's event, if any,
// before the answer leaves: a test that changed the model through the API
// finds the app told when the call returns.
func (s *Server) notifying(pattern, api string, action func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	method, path, _ := strings.Cut(pattern, " ")
	typ, ok := modelEvents[method+" "+strings.TrimPrefix(path, api)]
	if !ok {
		return action
	}
	object := "Role"
	if strings.HasPrefix(typ, "permission.") {
		object = "Permission"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := action(w, r); err != nil {
			return err
		}
		org := r.PathValue("org")
		if user := r.PathValue("user"); user != "" {
			if u, ok := s.user(user); ok {
				<-s.ctl.hooks.enqueue(membershipEvent(u, org))
			}
			return nil
		}
		data := map[string]any{}
		if name := r.PathValue("name"); name != "" {
			data["name"] = name
		}
		if org != "" {
			data["organization_id"] = org // an organization's own role
		}
		<-s.ctl.hooks.enqueue(newEvent(typ, object, org, data))
		return nil
	}
}

package members

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/rbac"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Directory-sync events this app acts on (seed document 003, "Automate
// role assignment with directory groups").
const (
	EventUserCreated = "organization.directory.user_created"
	EventUserUpdated = "organization.directory.user_updated"
	EventUserDeleted = "organization.directory.user_deleted"
)

// Webhook receives Scalekit's directory-sync webhooks and applies the
// directory's roles to the member: same checks, audit and immediate effect
// as a change made on the members page.
type Webhook struct {
	verifier *standardwebhooks.Webhook // nil: no secret configured, the route does not exist
	db       *sql.DB
	idp      IdP
	assigner *Assigner
	model    *rbac.Model
	log      *slog.Logger
}

// NewWebhook returns the webhook receiver. secret is the endpoint's
// whsec_... secret from the Scalekit dashboard; empty disables the route.
func NewWebhook(db *sql.DB, secret string, idp IdP, assigner *Assigner, model *rbac.Model, log *slog.Logger) (*Webhook, error) {
	h := &Webhook{db: db, idp: idp, assigner: assigner, model: model, log: log}
	if secret == "" {
		return h, nil
	}
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("SCALEKIT_WEBHOOK_SECRET: %w", err)
	}
	h.verifier = v
	return h, nil
}

// event is the part of a directory-sync event this app reads.
type event struct {
	Type           string `json:"type"`
	OrganizationID string `json:"organization_id"`
	OccurredAt     string `json:"occurred_at"` // RFC 3339
	Data           struct {
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
		Email          string `json:"email"`
		Roles          []struct {
			RoleName string `json:"role_name"`
		} `json:"roles"`
	} `json:"data"`
}

// webhookResult is the JSON answer; senders only look at the status, people
// debugging a delivery read the rest.
type webhookResult struct {
	Status string `json:"status"` // applied, duplicate, ignored, refused
	Reason string `json:"reason,omitempty"`
}

// Receive is POST /webhooks/scalekit. It answers 401 to a bad signature or
// a timestamp more than five minutes off, 2xx to anything it has verified
// and will not retry profitably (applied, already seen, ignored, refused),
// and 5xx only when a retry may succeed.
func (h *Webhook) Receive(w http.ResponseWriter, r *http.Request) error {
	if h.verifier == nil {
		return fmt.Errorf("webhooks are off (no SCALEKIT_WEBHOOK_SECRET): %w", problem.ErrNotFound)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return problem.Invalid("body", "the request body could not be read (at most %d bytes)", render.MaxBody)
	}
	// Signature and timestamp (5-minute tolerance, constant-time compare)
	// by the Standard Webhooks library: the body is not trusted before.
	if err := h.verifier.Verify(body, r.Header); err != nil {
		h.log.InfoContext(r.Context(), "webhook refused", "reason", "signature or timestamp")
		return fmt.Errorf("webhook signature: %w", auth.ErrUnauthenticated)
	}
	id := r.Header.Get("webhook-id")
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return problem.Invalid("body", "the event is not valid JSON")
	}
	// Claim the id before acting, in one statement: of two concurrent
	// deliveries of the same event, only one applies it.
	claimed, err := h.claim(r.Context(), id)
	if err != nil {
		return err
	}
	if !claimed {
		return render.WriteJSON(w, http.StatusOK, webhookResult{Status: "duplicate"})
	}
	res, err := h.apply(r.Context(), id, ev)
	if err != nil {
		// Transient (the IdP or the database failed): release the id so
		// that the sender's retry is applied.
		h.release(r.Context(), id)
		return err
	}
	return render.WriteJSON(w, http.StatusOK, res)
}

func (h *Webhook) apply(ctx context.Context, id string, ev event) (webhookResult, error) {
	if !slices.Contains([]string{EventUserCreated, EventUserUpdated, EventUserDeleted}, ev.Type) {
		return webhookResult{Status: "ignored", Reason: "event type " + ev.Type + " is not handled"}, nil
	}
	orgID := cmp.Or(ev.Data.OrganizationID, ev.OrganizationID)
	userID := ev.Data.UserID
	if userID == "" {
		var err error
		if userID, err = h.userByEmail(ctx, orgID, ev.Data.Email); err != nil {
			return webhookResult{}, err
		}
		if userID == "" {
			return webhookResult{Status: "ignored", Reason: "no member of the organization has that email"}, nil
		}
	}
	var roles []string
	for _, r := range ev.Data.Roles {
		roles = append(roles, r.RoleName)
	}
	if len(roles) == 0 || ev.Type == EventUserDeleted {
		// No mapped group (or the user left the directory): the role of
		// someone who merely belongs to the organization.
		roles = []string{h.model.DefaultMemberRole}
	}
	var occurred time.Time
	if ev.OccurredAt != "" {
		var err error
		if occurred, err = time.Parse(time.RFC3339Nano, ev.OccurredAt); err != nil {
			return webhookResult{}, problem.Invalid("occurred_at", "occurred_at %q is not an RFC 3339 time", short(ev.OccurredAt))
		}
	}
	err := h.assigner.SetRoles(ctx, Change{OrgID: orgID, Actor: "webhook:" + id, Target: userID, Roles: roles,
		Source: SourceDirectorySync, OccurredAt: occurred})
	var input *problem.InputError
	switch {
	case errors.Is(err, errStale):
		return webhookResult{Status: "ignored", Reason: errStale.Error()}, nil
	case err == nil && ev.Type == EventUserDeleted:
		// Gone from the directory: no longer offered as an assignee.
		if err := h.assigner.dir.Forget(ctx, orgID, userID); err != nil {
			return webhookResult{}, err
		}
		return webhookResult{Status: "applied"}, nil
	case err == nil:
		// In the directory: assignable now, not only after a sign-in.
		if err := h.assigner.dir.Join(ctx, orgID, userID, ev.Data.Email, roles); err != nil {
			return webhookResult{}, err
		}
		return webhookResult{Status: "applied"}, nil
	case errors.As(err, &input), errors.Is(err, problem.ErrConflict), errors.Is(err, problem.ErrNotFound):
		return webhookResult{Status: "refused", Reason: RefusalReason(err)}, nil
	}
	return webhookResult{}, err
}

func (h *Webhook) userByEmail(ctx context.Context, orgID, email string) (string, error) {
	if email == "" || !identifier.MatchString(orgID) {
		return "", nil
	}
	users, err := h.idp.ListOrganizationUsers(ctx, orgID)
	if errors.Is(err, scalekit.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find directory user: %w", err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Email, email) {
			return u.ID, nil
		}
	}
	return "", nil
}

// webhookIDRetention is how long a delivery id is remembered; senders
// retry for hours, not weeks.
const webhookIDRetention = 7 * 24 * time.Hour

// claim records the delivery id; false means it was already there.
func (h *Webhook) claim(ctx context.Context, id string) (bool, error) {
	_, _ = h.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1`,
		time.Now().Add(-webhookIDRetention).Unix())
	res, err := h.db.ExecContext(ctx,
		`INSERT INTO webhook_events (id, received_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, time.Now().Unix())
	if err != nil {
		return false, fmt.Errorf("claim webhook id: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim webhook id: %w", err)
	}
	return n == 1, nil
}

func (h *Webhook) release(ctx context.Context, id string) {
	if _, err := h.db.ExecContext(context.WithoutCancel(ctx), `DELETE FROM webhook_events WHERE id = $1`, id); err != nil {
		h.log.ErrorContext(ctx, "release webhook id", "err", err)
	}
}

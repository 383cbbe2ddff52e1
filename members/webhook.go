package members

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scalekit-samples/go-rbac-projects/auth"
	"github.com/scalekit-samples/go-rbac-projects/database"
	"github.com/scalekit-samples/go-rbac-projects/problem"
	"github.com/scalekit-samples/go-rbac-projects/render"
	"github.com/scalekit-samples/go-rbac-projects/scalekit"
)

// Events this app acts on. Directory sync (seed document 003, "Automate
// role assignment with directory groups") applies the directory's roles;
// the others report changes made at the IdP (its dashboard, its API):
// nothing to apply, but tokens issued before them are out of date.
const (
	EventUserCreated = "organization.directory.user_created"
	EventUserUpdated = "organization.directory.user_updated"
	EventUserDeleted = "organization.directory.user_deleted"
	// EventMembershipUpdated: a member's roles changed at the IdP.
	EventMembershipUpdated = "user.organization_membership_updated"
	// Prefixes of the model's events (role.created, role.updated,
	// role.deleted, permission.updated, ...): what a role grants changed.
	eventRolePrefix       = "role."
	eventPermissionPrefix = "permission."
)

// Sessions ends a member's browser sessions (session.SessionStore does).
type Sessions interface {
	EndSessions(ctx context.Context, orgID, userID string) (int64, error)
}

// Webhook receives Scalekit's webhooks. Directory sync applies the
// directory's roles to the member: same checks, audit and immediate effect
// as a change made on the members page. Role changes made at the IdP make
// the tokens issued before them stale at once.
type Webhook struct {
	verifier *standardwebhooks.Webhook // nil: no secret configured, the route does not exist
	db       *sql.DB
	dialect  database.Dialect
	idp      IdP
	assigner *Assigner
	sessions Sessions
	log      *slog.Logger
}

// NewWebhook returns the webhook receiver. secret is the endpoint's
// whsec_... secret from the Scalekit dashboard; empty disables the route.
// d is db's dialect.
func NewWebhook(db *sql.DB, d database.Dialect, secret string, idp IdP, assigner *Assigner, sessions Sessions, log *slog.Logger) (*Webhook, error) {
	h := &Webhook{db: db, dialect: d, idp: idp, assigner: assigner, sessions: sessions, log: log}
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

// event is the part of a Scalekit event this app reads. Directory events
// name the user by user_id or email; membership events by data.user.id and
// data.organization.id; a role's or permission's event names an
// organization only if it is one of its own.
type event struct {
	Type           string `json:"type"`
	OrganizationID string `json:"organization_id"`
	OccurredAt     string `json:"occurred_at"` // RFC 3339, by the IdP's clock
	Data           struct {
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
		Email          string `json:"email"`
		Roles          []struct {
			RoleName string `json:"role_name"`
		} `json:"roles"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	} `json:"data"`
}

// webhookResult is the JSON answer; senders only look at the status, people
// debugging a delivery read the rest.
type webhookResult struct {
	Status string `json:"status"` // applied, duplicate, ignored, refused, busy, processing
	Reason string `json:"reason,omitempty"`
}

// busyRetryAfter is the Retry-After of an event that met another role
// change of its organization: such changes take a few seconds at most.
const busyRetryAfter = 5 * time.Second

// Receive is POST /webhooks/scalekit. It answers 401 to a bad signature or
// a timestamp more than five minutes off, 2xx to anything it has verified
// and will not retry profitably (applied, already seen, ignored, refused),
// and 5xx only when a retry may succeed: then the delivery id is released,
// so that the retry is applied rather than answered as a duplicate. A
// delivery of an event that another delivery is applying is answered 503
// with Retry-After: if that one fails or its instance dies, the retry
// applies the event.
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
	// The signed send time, by the IdP's clock (Verify parsed it).
	sec, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	sent := time.Unix(sec, 0).UTC()
	// Claim the id before acting, in one statement: of two concurrent
	// deliveries of the same event, only one applies it.
	c, err := h.claim(r.Context(), id)
	if err != nil {
		return err
	}
	switch {
	case c.done:
		return render.WriteJSON(w, http.StatusOK, webhookResult{Status: "duplicate"})
	case c.holder == "":
		// Another delivery is applying it. A 2xx would lose the event if
		// that one fails: ask for it again once its claim would lapse.
		w.Header().Set("Retry-After", strconv.Itoa(int(c.left.Round(time.Second).Seconds())))
		return render.WriteJSON(w, http.StatusServiceUnavailable, webhookResult{Status: "processing", Reason: "another delivery of this event is being applied; retry later"})
	}
	res, err := h.apply(r.Context(), id, ev, sent)
	if errors.Is(err, errBusy) {
		// Another role change of the organization holds its lease. A 2xx
		// would lose the event (the retry would be a duplicate): ask for it
		// again instead.
		h.release(r.Context(), id, c.holder)
		w.Header().Set("Retry-After", strconv.Itoa(int(busyRetryAfter.Seconds())))
		return render.WriteJSON(w, http.StatusServiceUnavailable, webhookResult{Status: "busy", Reason: RefusalReason(err) + "; retry later"})
	}
	if err != nil {
		// Transient (the IdP or the database failed): release the id so
		// that the sender's retry is applied.
		h.release(r.Context(), id, c.holder)
		return err
	}
	h.complete(r.Context(), id, c.holder)
	return render.WriteJSON(w, http.StatusOK, res)
}

func (h *Webhook) apply(ctx context.Context, id string, ev event, sent time.Time) (webhookResult, error) {
	var occurred time.Time
	if ev.OccurredAt != "" {
		var err error
		if occurred, err = time.Parse(time.RFC3339Nano, ev.OccurredAt); err != nil {
			return webhookResult{}, problem.Invalid("occurred_at", "occurred_at %q is not an RFC 3339 time", short(ev.OccurredAt))
		}
	}
	switch {
	case ev.Type == EventMembershipUpdated:
		// The IdP's own date of the change, or else when it sent the
		// event: both by the clock its tokens' iat follow.
		return h.membershipUpdated(ctx, ev, cmp.Or(occurred, sent))
	case strings.HasPrefix(ev.Type, eventRolePrefix), strings.HasPrefix(ev.Type, eventPermissionPrefix):
		return h.modelChanged(ctx, ev, cmp.Or(occurred, sent))
	case slices.Contains([]string{EventUserCreated, EventUserUpdated, EventUserDeleted}, ev.Type):
		return h.directoryEvent(ctx, id, ev, occurred, sent)
	}
	return webhookResult{Status: "ignored", Reason: "event type " + short(ev.Type) + " is not handled"}, nil
}

// userByEmail finds the organization's member with the email at the IdP;
// nil if there is none.
func (h *Webhook) userByEmail(ctx context.Context, orgID, email string) (*scalekit.User, error) {
	if email == "" || !identifier.MatchString(orgID) {
		return nil, nil
	}
	users, err := h.idp.ListOrganizationUsers(ctx, orgID)
	if errors.Is(err, scalekit.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find directory user: %w", err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Email, email) {
			return &u, nil
		}
	}
	return nil, nil
}

// webhookIDRetention is how long a delivery id is remembered; senders
// retry for hours, not weeks.
const webhookIDRetention = 7 * 24 * time.Hour

// claimTTL is how long a claim keeps other deliveries of its event off:
// past it, the instance that claimed it is taken to have died, and the
// next delivery applies the event. It outlasts an event's application
// (a lease wait, two IdP calls, a few writes: finishTimeout and changeWait
// at most) with room to spare.
const claimTTL = 60 * time.Second

// claimed is the outcome of a claim: done (applied already), or held by
// holder (this delivery applies the event), or neither (another delivery
// holds it for left more).
type claimed struct {
	done   bool
	holder string
	left   time.Duration
}

// claim records the delivery id as being processed, by the database's
// clock, unless it was applied already or another delivery's claim is
// still live. Taking a new id and taking over a lapsed claim are one
// conditional statement: of concurrent deliveries, one wins.
func (h *Webhook) claim(ctx context.Context, id string) (claimed, error) {
	_, _ = h.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1`,
		time.Now().Add(-webhookIDRetention).Unix())
	holder := rand.Text()
	now := h.dialect.Now()
	res, err := h.db.ExecContext(ctx,
		`INSERT INTO webhook_events (id, received_at, state, holder, until) VALUES ($1, $2, 'processing', $3, `+now+` + $4)
		 ON CONFLICT (id) DO UPDATE SET received_at = excluded.received_at, holder = excluded.holder, until = excluded.until
		 WHERE webhook_events.state = 'processing' AND webhook_events.until < `+now,
		id, time.Now().Unix(), holder, claimTTL.Milliseconds())
	if err != nil {
		return claimed{}, fmt.Errorf("claim webhook id: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return claimed{}, fmt.Errorf("claim webhook id: %w", err)
	} else if n == 1 {
		return claimed{holder: holder}, nil
	}
	var state string
	var left int64
	err = h.db.QueryRowContext(ctx, `SELECT state, until - `+now+` FROM webhook_events WHERE id = $1`, id).Scan(&state, &left)
	switch {
	case errors.Is(err, sql.ErrNoRows): // released since: the retry will claim it
		return claimed{left: time.Second}, nil
	case err != nil:
		return claimed{}, fmt.Errorf("claim webhook id: %w", err)
	case state == "done":
		return claimed{done: true}, nil
	}
	return claimed{left: min(max(time.Duration(left)*time.Millisecond, time.Second), claimTTL)}, nil
}

// complete marks the event applied: later deliveries are duplicates.
func (h *Webhook) complete(ctx context.Context, id, holder string) {
	res, err := h.db.ExecContext(context.WithoutCancel(ctx),
		`UPDATE webhook_events SET state = 'done' WHERE id = $1 AND holder = $2`, id, holder)
	if err != nil {
		// The claim lapses and a redelivery applies the event again: the
		// events this app handles are idempotent (roles set, not toggled).
		h.log.ErrorContext(ctx, "webhook applied but not marked done", "err", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		h.log.WarnContext(ctx, "webhook applied after its claim lapsed; another delivery may have applied it too")
	}
}

// release gives up the claim, so that the sender's retry applies the event.
func (h *Webhook) release(ctx context.Context, id, holder string) {
	if _, err := h.db.ExecContext(context.WithoutCancel(ctx),
		`DELETE FROM webhook_events WHERE id = $1 AND holder = $2 AND state = 'processing'`, id, holder); err != nil {
		h.log.ErrorContext(ctx, "release webhook id", "err", err)
	}
}

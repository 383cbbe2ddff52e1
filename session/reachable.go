package session

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

// reachability remembers whether the IdP answered recently. Login asks it
// before sending the browser away: if the IdP is down, the user gets our
// "identity provider unreachable" page instead of a browser error on
// someone else's host.
type reachability struct {
	url    string // the discovery document: cheap, and always served
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	checkedAt time.Time
	err       error
	probing   bool
}

// failureTTL is how long a failed probe is trusted: a down IdP is not asked
// on every sign-in attempt. Success is not cached, so the first sign-in
// after the IdP went down already gets our page.
const failureTTL = 5 * time.Second

// probeTimeout bounds one probe.
const probeTimeout = 3 * time.Second

// check probes the IdP, or returns the last answer while a probe is in
// flight or a failure is fresh. One probe runs at a time, outside the lock,
// so a flood of GET /login costs the IdP at most one request at a time.
//
// The probe's answer is shared by every sign-in, so it must say something
// about the IdP and nothing about the caller: it runs detached from ctx's
// cancellation, on its own timeout. A caller that goes away stops waiting
// for it (and gets its context's error, which is never cached); the probe
// finishes and records the IdP's real state. Otherwise one client dropping
// its connection would make every /login answer 503 for failureTTL.
func (r *reachability) check(ctx context.Context) error {
	r.mu.Lock()
	if r.probing || (r.err != nil && r.now().Sub(r.checkedAt) < failureTTL) {
		err := r.err
		r.mu.Unlock()
		return err
	}
	r.probing = true
	r.mu.Unlock()

	done := make(chan error, 1) // buffered: the probe never waits for a caller that left
	go func() {
		err := r.probe(context.WithoutCancel(ctx))
		r.mu.Lock()
		r.err, r.checkedAt, r.probing = err, r.now(), false
		r.mu.Unlock()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("wait for the identity provider's probe: %w", context.Cause(ctx))
	}
}

func (r *reachability) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = r.client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				err = fmt.Errorf("discovery answered %s", resp.Status)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("probe %s: %w (%w)", r.url, auth.ErrIdPUnreachable, err)
	}
	return nil
}

package auth

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
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
}

// failureTTL is how long a failed probe is trusted: a down IdP is not
// probed on every sign-in attempt. Success is not cached, so a sign-in
// right after the IdP went down still gets our page.
const failureTTL = 5 * time.Second

func (r *reachability) check(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil && r.now().Sub(r.checkedAt) < failureTTL {
		return r.err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r.err = nil
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
		r.err = fmt.Errorf("probe %s: %w (%w)", r.url, ErrIdPUnreachable, err)
	}
	r.checkedAt = r.now()
	return r.err
}

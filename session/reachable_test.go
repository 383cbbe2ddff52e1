package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scalekit-samples/go-rbac-projects/auth"
)

func TestACallerThatGoesAwayDoesNotMakeTheIdPLookDown(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release // a slow IdP: the probe is in flight until the test says
	}))
	t.Cleanup(idp.Close)
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // runs first: the server's Close waits for the handler
	r := &reachability{url: idp.URL, client: idp.Client(), now: time.Now}

	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { gone <- r.check(ctx) }()
	<-arrived
	cancel()
	err := <-gone
	assert.ErrorIs(t, err, context.Canceled, "the caller that left stops waiting")
	assert.NotErrorIs(t, err, auth.ErrIdPUnreachable, "and its leaving says nothing about the IdP")

	assert.NoError(t, r.check(context.Background()), "while the probe is in flight, the last answer (none: fine) holds")
	unblock()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return !r.probing
	}, 5*time.Second, time.Millisecond, "the probe finishes without its caller")
	assert.NoError(t, r.check(context.Background()), "and records the IdP's real state: up")
}

func TestAProbeOnACanceledContextIsNotCached(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(idp.Close)
	r := &reachability{url: idp.URL, client: idp.Client(), now: time.Now}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = r.check(ctx)
	assert.NoError(t, r.check(context.Background()), "the next sign-in is not refused")
}

func TestADownIdPIsRememberedForAWhile(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := idp.URL
	idp.Close()
	now := time.Now()
	r := &reachability{url: url, client: http.DefaultClient, now: func() time.Time { return now }}

	require.ErrorIs(t, r.check(context.Background()), auth.ErrIdPUnreachable)
	assert.ErrorIs(t, r.check(context.Background()), auth.ErrIdPUnreachable, "within failureTTL: not asked again")
}

// Package testkit holds the small fakes that tests of several packages
// share: clocks a test moves by hand and a buffer that loggers write to
// concurrently. Only tests import it.
package testkit

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is a time that moves only when the test says (Advance): a fake
// for the Now of the IdP, the relying party or a poller.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock stopped at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d ahead.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// OffsetClock is the real time, as far ahead as Advance has moved it: for
// the clock of a running app, whose timers and database keep real time,
// while the test skips past an expiry instead of sleeping.
type OffsetClock struct{ offset atomic.Int64 }

// NewOffsetClock returns an OffsetClock ahead of the real time.
func NewOffsetClock(ahead time.Duration) *OffsetClock {
	c := &OffsetClock{}
	c.offset.Store(int64(ahead))
	return c
}

// Now returns the real time plus the offset.
func (c *OffsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock d further ahead.
func (c *OffsetClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Buffer is a bytes.Buffer safe for the concurrent writes of a logger and
// the reads of the test.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WebhookSecret is the Standard Webhooks secret (whsec_ and base64) that
// tests sign and check their webhook deliveries with: a test value, never
// a real environment's.
const WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

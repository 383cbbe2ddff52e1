package auth

import (
	"strings"
	"sync"
	"time"
)

// tokenCache remembers the principals of access tokens that verified, keyed
// by the token itself, until each token's exp. Checking an RS256
// signature costs tens of microseconds; a client sends the same token for
// minutes, so the check is done once per token instead of once per request.
// Failures are never cached: a refused token is checked afresh every time.
//
// The key is the whole token, compared byte for byte: a shorter digest
// would have to be cryptographic (a collision would lend a verified
// principal to a forged token), and hashing a 1 KB token with SHA-256
// costs more than the map lookup it saves. 10,000 tokens of about 1 KB
// bound the cache near 10 MB.
type tokenCache struct {
	mu      sync.RWMutex
	entries map[string]Principal
	max     int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{entries: make(map[string]Principal), max: max}
}

// get returns a copy of the cached principal while its token is unexpired.
func (c *tokenCache) get(key string, now time.Time) (*Principal, bool) {
	c.mu.RLock()
	p, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(p.ExpiresAt) {
		return nil, false
	}
	return &p, true // a copy: callers may fill in profile fields
}

// put caches p. When the cache is full it first drops expired entries and,
// if that is not enough, half of the rest: the cost of a miss is only a
// signature check, so a crude bound beats unbounded memory.
func (c *tokenCache) put(key string, p Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.ExpiresAt) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max/2 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[strings.Clone(key)] = p // not a view into a request's header buffer
}

package handlers

import (
	"context"
	"sync"
	"time"
)

// ttlCache keeps values for a while, computes each missing key once however many requests
// ask for it at the same time, and holds at most max entries. Errors are not cached. With a
// version function (withVersion) an entry also ends as soon as the version moves on, which
// makes the cache exact for data that changes only through this process.
type ttlCache[V any] struct {
	ttl     time.Duration
	max     int
	now     func() time.Time
	version func() uint64

	mu       sync.Mutex
	entries  map[string]ttlEntry[V]
	inflight map[string]*ttlCall[V]
}

type ttlEntry[V any] struct {
	v       V
	exp     time.Time
	version uint64
}

type ttlCall[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func newTTLCache[V any](ttl time.Duration, max int, now func() time.Time) *ttlCache[V] {
	if now == nil {
		now = time.Now
	}
	return &ttlCache[V]{ttl: ttl, max: max, now: now, entries: map[string]ttlEntry[V]{}, inflight: map[string]*ttlCall[V]{}}
}

// withVersion makes entries end when version returns something else than at their load.
func (c *ttlCache[V]) withVersion(version func() uint64) *ttlCache[V] {
	c.version = version
	return c
}

func (c *ttlCache[V]) currentVersion() uint64 {
	if c.version == nil {
		return 0
	}
	return c.version()
}

func (c *ttlCache[V]) get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	// Read before loading: a change during the load leaves the entry stamped old, so the
	// next request loads again rather than keeping a value that may have missed it.
	version := c.currentVersion()
	if e, ok := c.entries[key]; ok && c.now().Before(e.exp) && e.version == version {
		c.mu.Unlock()
		return e.v, nil
	}
	if call, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.v, call.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	call := &ttlCall[V]{done: make(chan struct{})}
	c.inflight[key] = call
	c.mu.Unlock()

	// The first caller's request may be cancelled while others wait: load without its deadline.
	call.v, call.err = load(context.WithoutCancel(ctx))
	close(call.done)

	c.mu.Lock()
	delete(c.inflight, key)
	if call.err == nil {
		if len(c.entries) >= c.max {
			now := c.now()
			for k, e := range c.entries {
				if !now.Before(e.exp) {
					delete(c.entries, k)
				}
			}
			for k := range c.entries { // still full: drop arbitrary entries
				if len(c.entries) < c.max {
					break
				}
				delete(c.entries, k)
			}
		}
		c.entries[key] = ttlEntry[V]{v: call.v, exp: c.now().Add(c.ttl), version: version}
	}
	c.mu.Unlock()
	return call.v, call.err
}

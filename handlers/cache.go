package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
)

// ttlCache keeps values for a while, computes each missing key once however many requests
// ask for it at the same time, and holds at most max entries. Errors are not cached.
//
// With a version function (withVersion) an entry also ends as soon as the version moves on,
// which makes the cache exact for data that changes only through this process. With
// serveStale, an entry whose version moved on but whose time is not up is still answered at
// once while one background load replaces it: a busy page then never waits for its
// aggregate, and shows a change as soon as that one load is done. Such reloads start at most
// once per staleReload per key, so a stream of syncs (each one a new version) costs a few
// loads a second at most rather than one per sync.
type ttlCache[V any] struct {
	ttl     time.Duration
	max     int
	now     func() time.Time
	version func() uint64
	stale   bool
	inline  bool // a stale entry's reload runs in the request that found it (see reloadInRequest)

	mu       sync.Mutex
	entries  map[string]ttlEntry[V]
	inflight map[string]*ttlCall[V]
	gen      uint64 // moved by clear; a load begun before it stores nothing
}

// staleReload is how often at most an outdated entry of a serveStale cache is reloaded.
const staleReload = time.Second

type ttlEntry[V any] struct {
	v       V
	exp     time.Time
	loaded  time.Time
	version uint64
}

type ttlCall[V any] struct {
	done    chan struct{}
	v       V
	err     error
	gen     uint64
	version uint64 // the version read when the load began: its result is as of then
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

// serveStale answers with an outdated (by version, not by time) entry while reloading it.
func (c *ttlCache[V]) serveStale() *ttlCache[V] {
	c.stale = true
	return c
}

// reloadInRequest makes a serveStale cache reload an outdated entry in the request that finds
// it rather than in the background: that one request waits for the load while every other
// one is answered from the outdated entry at once. For loads that need their request (the
// API's finished answers are the handler's own output).
func (c *ttlCache[V]) reloadInRequest() *ttlCache[V] {
	c.stale, c.inline = true, true
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
	e, ok := c.entries[key]
	now := c.now()
	timely := ok && now.Before(e.exp)
	if timely && e.version == version {
		c.mu.Unlock()
		return e.v, nil
	}
	call, loading := c.inflight[key]
	// A load that began before a change cannot answer for after it: whoever read the newer
	// version loads again rather than waiting for data that may predate the change.
	loading = loading && call.version == version
	if timely && c.stale && !wantsFresh(ctx) {
		if !loading && now.Sub(e.loaded) >= staleReload {
			call = c.begin(key, version)
			if c.inline {
				c.mu.Unlock()
				// Without the deadline, as below: a fresh get may be waiting on this load.
				c.finish(context.WithoutCancel(ctx), key, version, call, load)
				if call.err != nil {
					return e.v, nil // the outdated entry is still a good answer
				}
				return call.v, nil
			}
			// The request may end before the load does: load without its deadline.
			go c.finish(context.WithoutCancel(ctx), key, version, call, load)
		}
		c.mu.Unlock()
		return e.v, nil
	}
	if loading {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.v, call.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	call = c.begin(key, version)
	c.mu.Unlock()
	// Others may wait on this load while the first caller's request is cancelled: load
	// without its deadline.
	c.finish(context.WithoutCancel(ctx), key, version, call, load)
	return call.v, call.err
}

// begin registers a load of key as of version; c.mu must be held.
func (c *ttlCache[V]) begin(key string, version uint64) *ttlCall[V] {
	call := &ttlCall[V]{done: make(chan struct{}), gen: c.gen, version: version}
	c.inflight[key] = call
	return call
}

// finish runs a load begun with begin and stores its value.
func (c *ttlCache[V]) finish(ctx context.Context, key string, version uint64, call *ttlCall[V], load func(context.Context) (V, error)) {
	call.v, call.err = load(ctx)
	close(call.done)

	c.mu.Lock()
	defer c.mu.Unlock()
	if call.gen != c.gen {
		return // cleared meanwhile: the inflight entry and the value belong to the past
	}
	if c.inflight[key] == call {
		delete(c.inflight, key) // else a load as of a later version took its place
	}
	if call.err != nil {
		return
	}
	if e, ok := c.entries[key]; ok && e.version > version {
		return // a load as of a later version finished first: keep its value
	}
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
	now := c.now()
	c.entries[key] = ttlEntry[V]{v: call.v, exp: now.Add(c.ttl), loaded: now, version: version}
}

// clear forgets every entry and every load in progress, so that the next request loads
// afresh: a serveStale cache calls it after a change that someone is about to look for
// (an admin deletes a repository, then opens the list).
func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]ttlEntry[V]{}
	c.inflight = map[string]*ttlCall[V]{}
}

// cachedResults is a page's results table, rendered once per entry of results and kept under
// key: its data comes through data (under the same key) as current as results' version
// requires (see fresh), and view renders it.
func cachedResults[D any](ctx context.Context, results *ttlCache[templ.Component], data *ttlCache[D], key string,
	load func(context.Context) (D, error), view func(context.Context, D) (templ.Component, error)) (templ.Component, error) {
	return results.get(ctx, key, func(ctx context.Context) (templ.Component, error) {
		ctx = fresh(ctx)
		d, err := data.get(ctx, key, load)
		if err != nil {
			return nil, err
		}
		t, err := view(ctx, d)
		if err != nil {
			return nil, err
		}
		return fragment(ctx, t)
	})
}

type freshKey struct{}

// fresh marks ctx for a load whose result a version-keyed cache will stamp with the current
// version (a rendered fragment, a finished API answer): a serveStale cache asked through it
// loads, or waits for the load in progress, rather than answering with its outdated entry.
// Otherwise the result would be stamped current while built from the past, and kept until the
// next change or its time-to-live.
func fresh(ctx context.Context) context.Context { return context.WithValue(ctx, freshKey{}, true) }

func wantsFresh(ctx context.Context) bool { v, _ := ctx.Value(freshKey{}).(bool); return v }

// cacheKey joins the parts of a cache key. Filters hold optional values as *string, which
// fmt would print as addresses: those are written out (or "<nil>") so that equal filters
// give equal keys.
func cacheKey(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		switch v := p.(type) {
		case *string:
			if v == nil {
				b.WriteString("<nil>")
			} else {
				b.WriteString(strconv.Quote(*v))
			}
		default:
			fmt.Fprintf(&b, "%v", v)
		}
		b.WriteByte(0)
	}
	return b.String()
}

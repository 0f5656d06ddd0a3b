package handlers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newTTLCache[int](time.Minute, 2, clock)
	ctx := context.Background()
	var loads atomic.Int32
	load := func(v int) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { loads.Add(1); return v, nil }
	}

	if v, _ := c.get(ctx, "a", load(1)); v != 1 {
		t.Fatalf("got %d, want 1", v)
	}
	if v, _ := c.get(ctx, "a", load(2)); v != 1 || loads.Load() != 1 {
		t.Fatalf("within the TTL: got %d after %d loads, want the cached 1 after 1 load", v, loads.Load())
	}
	advance(time.Minute)
	if v, _ := c.get(ctx, "a", load(3)); v != 3 {
		t.Fatalf("after the TTL: got %d, want a fresh 3", v)
	}

	// Errors are not cached.
	boom := errors.New("boom")
	if _, err := c.get(ctx, "e", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if v, err := c.get(ctx, "e", load(4)); err != nil || v != 4 {
		t.Fatalf("after an error: got %d %v, want a fresh 4", v, err)
	}

	// Concurrent callers of a missing key share one load.
	loads.Store(0)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.get(ctx, "slow", func(context.Context) (int, error) { loads.Add(1); <-release; return 5, nil })
			if err != nil || v != 5 {
				t.Errorf("concurrent get: %d %v", v, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for 8 concurrent callers, want 1", n)
	}

	// The number of entries stays bounded.
	for _, k := range []string{"x", "y", "z"} {
		_, _ = c.get(ctx, k, load(0))
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d entries, want at most 2", n)
	}
}

func TestTTLCacheEndsEntriesWhenTheVersionMoves(t *testing.T) {
	var version atomic.Uint64
	c := newTTLCache[int](time.Hour, 8, nil).withVersion(version.Load)
	ctx := context.Background()
	n := 0
	load := func(context.Context) (int, error) { n++; return n, nil }
	if v, _ := c.get(ctx, "k", load); v != 1 {
		t.Fatalf("got %d, want 1", v)
	}
	if v, _ := c.get(ctx, "k", load); v != 1 {
		t.Fatalf("same version: got %d, want the cached 1", v)
	}
	version.Add(1)
	if v, _ := c.get(ctx, "k", load); v != 2 {
		t.Fatalf("after a change: got %d, want a fresh 2", v)
	}
	// A change during a load stamps the entry with the version read before it.
	_, _ = c.get(ctx, "during", func(context.Context) (int, error) { version.Add(1); return 10, nil })
	if v, _ := c.get(ctx, "during", func(context.Context) (int, error) { return 11, nil }); v != 11 {
		t.Fatalf("entry loaded across a change: got %d, want it reloaded (11)", v)
	}
}

func TestTTLCacheServesStaleWhileReloading(t *testing.T) {
	var version atomic.Uint64
	c := newTTLCache[int](time.Hour, 8, nil).withVersion(version.Load).serveStale()
	ctx := context.Background()
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { return 1, nil }); v != 1 {
		t.Fatalf("got %d, want 1", v)
	}
	version.Add(1)
	release := make(chan struct{})
	var loads atomic.Int32
	slow := func(context.Context) (int, error) { loads.Add(1); <-release; return 2, nil }
	for range 5 {
		if v, err := c.get(ctx, "k", slow); err != nil || v != 1 {
			t.Fatalf("while reloading: got %d %v, want the stale 1 at once", v, err)
		}
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _ := c.get(ctx, "k", slow)
		if v == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background load never replaced the stale entry")
		}
		time.Sleep(time.Millisecond)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d background loads for one change, want 1", n)
	}
}

func TestTTLCacheReloadsStaleEntriesAtMostOncePerInterval(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var version atomic.Uint64
	c := newTTLCache[int](time.Hour, 8, clock).withVersion(version.Load).serveStale()
	ctx := context.Background()
	var loads atomic.Int32
	load := func(context.Context) (int, error) { return int(loads.Add(1)), nil }
	c.get(ctx, "k", load)
	for range 20 { // a burst of changes within the interval: no reload yet
		version.Add(1)
		if v, _ := c.get(ctx, "k", load); v != 1 {
			t.Fatalf("got %d, want the first value while the interval runs", v)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads during the interval, want 1", n)
	}
	mu.Lock()
	now = now.Add(staleReload)
	mu.Unlock()
	c.get(ctx, "k", load) // starts one background reload
	deadline := time.Now().Add(5 * time.Second)
	for loads.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads after the interval, want 2", n)
	}
}

func TestTTLCacheClearDropsEntriesAndLoadsInProgress(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var version atomic.Uint64
	c := newTTLCache[int](time.Hour, 8, func() time.Time { return now }).withVersion(version.Load).serveStale()
	ctx := context.Background()
	c.get(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	version.Add(1)
	now = now.Add(staleReload)
	// The stale entry answers and starts a background load that will return the old value 2,
	// as a load begun before a change would.
	release := make(chan struct{})
	done := make(chan struct{})
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { <-release; defer close(done); return 2, nil }); v != 1 {
		t.Fatalf("got %d, want the stale 1", v)
	}
	c.clear()
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { return 3, nil }); v != 3 {
		t.Fatalf("after clear: got %d, want a fresh load (3)", v)
	}
	close(release)
	<-done
	time.Sleep(10 * time.Millisecond) // let the old load reach finish
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { return 4, nil }); v != 3 {
		t.Fatalf("got %d: the load begun before clear replaced the fresh value 3", v)
	}
}

func TestTTLCacheReloadInRequest(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var version atomic.Uint64
	c := newTTLCache[int](time.Hour, 8, clock).withVersion(version.Load).reloadInRequest()
	ctx := context.Background()
	c.get(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	version.Add(1)
	mu.Lock()
	now = now.Add(staleReload)
	mu.Unlock()

	// The request that finds the entry outdated loads in its own call; others meanwhile get the old value.
	started, release := make(chan struct{}), make(chan struct{})
	got := make(chan int)
	go func() {
		v, _ := c.get(ctx, "k", func(context.Context) (int, error) { close(started); <-release; return 2, nil })
		got <- v
	}()
	<-started
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { t.Error("a second load started"); return 9, nil }); v != 1 {
		t.Fatalf("during the reload: got %d, want the outdated 1 at once", v)
	}
	close(release)
	if v := <-got; v != 2 {
		t.Fatalf("the reloading request got %d, want its own load's 2", v)
	}
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { return 9, nil }); v != 2 {
		t.Fatalf("after the reload: got %d, want 2", v)
	}
	// A failed reload answers the outdated entry; the next request tries again.
	version.Add(1)
	mu.Lock()
	now = now.Add(staleReload)
	mu.Unlock()
	if v, err := c.get(ctx, "k", func(context.Context) (int, error) { return 0, errors.New("boom") }); err != nil || v != 2 {
		t.Fatalf("failed reload: got %d %v, want the outdated 2", v, err)
	}
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { return 3, nil }); v != 3 {
		t.Fatalf("after a failed reload: got %d, want a new load's 3", v)
	}
}

func TestTTLCacheFreshContextSkipsOutdatedEntries(t *testing.T) {
	var version atomic.Uint64
	c := newTTLCache[int](time.Hour, 8, nil).withVersion(version.Load).serveStale()
	ctx := context.Background()
	c.get(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	version.Add(1)
	if v, _ := c.get(fresh(ctx), "k", func(context.Context) (int, error) { return 2, nil }); v != 2 {
		t.Fatalf("fresh get of an outdated entry: got %d, want a load's 2", v)
	}
	if v, _ := c.get(ctx, "k", func(context.Context) (int, error) { return 3, nil }); v != 2 {
		t.Fatalf("got %d, want the entry the fresh get stored (2)", v)
	}
}

// Bug B of issue 13: a load that starts before a write and finishes after it must not answer
// for the new version, neither to a request that waits for it nor as the stored entry.
func TestTTLCacheLoadBegunBeforeAWriteDoesNotAnswerAfterIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    func(version func() uint64) *ttlCache[int]
		ctx  context.Context
	}{
		{"exact", func(v func() uint64) *ttlCache[int] { return newTTLCache[int](time.Hour, 8, nil).withVersion(v) }, context.Background()},
		{"stale/fresh", func(v func() uint64) *ttlCache[int] {
			return newTTLCache[int](time.Hour, 8, nil).withVersion(v).serveStale()
		}, fresh(context.Background())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var version atomic.Uint64
			c := tc.c(version.Load)
			// A load begins as of version 0 and reads the data before the write...
			reading, release := make(chan struct{}), make(chan struct{})
			oldDone := make(chan int, 1)
			go func() {
				v, _ := c.get(context.Background(), "k", func(context.Context) (int, error) {
					close(reading)
					<-release
					return 1, nil // what the data was before the write
				})
				oldDone <- v
			}()
			<-reading
			// ...the write moves the version; a request after it must see the new data (2).
			version.Add(1)
			got := make(chan int, 1)
			go func() {
				v, _ := c.get(tc.ctx, "k", func(context.Context) (int, error) { return 2, nil })
				got <- v
			}()
			select {
			case v := <-got:
				if v != 2 {
					t.Fatalf("a request after the write got %d, want 2", v)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a request after the write waits for the load begun before it")
			}
			close(release)
			if v := <-oldDone; v != 1 {
				t.Fatalf("the load's own request got %d, want its 1", v)
			}
			// The load that finished last must not replace the newer entry.
			if v, _ := c.get(tc.ctx, "k", func(context.Context) (int, error) { return 3, nil }); v != 2 {
				t.Fatalf("after both loads: got %d, want the entry as of the write (2)", v)
			}
		})
	}
}

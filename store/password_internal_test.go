package store

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// Past maxWaiting queued callers, a new one is refused at once rather than queued, so
// requests waiting for the hasher cannot pile up.
func TestPasswordQueueIsBounded(t *testing.T) {
	p := newPasswords(nil, 1, time.Hour, nil)
	p.sem <- struct{}{} // the one slot is busy
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan error, p.maxWaiting)
	for range p.maxWaiting {
		go func() { results <- p.acquire(ctx) }()
	}
	// A regression would queue for the hour; the guard turns that into a failure.
	guard, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	for p.waiting.Load() < int64(p.maxWaiting) {
		if guard.Err() != nil {
			t.Fatalf("got %d callers counted as waiting, want %d", p.waiting.Load(), p.maxWaiting)
		}
		runtime.Gosched()
	}
	if err := p.acquire(guard); !errors.Is(err, ErrBusy) {
		t.Fatalf("caller beyond %d waiters: got %v, want ErrBusy at once", p.maxWaiting, err)
	}
	cancel()
	for range p.maxWaiting {
		if err := <-results; !errors.Is(err, context.Canceled) {
			t.Fatalf("queued caller: got %v, want context.Canceled", err)
		}
	}
	if n := p.waiting.Load(); n != 0 {
		t.Fatalf("got %d waiters left, want 0", n)
	}
}

package handlers

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle is a token bucket per key (client IP, account email). Buckets refill at
// `every` up to `burst`; a full bucket carries no state and is forgotten, which bounds
// memory by the number of keys active within burst*every.
type throttle struct {
	mu        sync.Mutex
	every     time.Duration
	burst     int
	now       func() time.Time
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

func newThrottle(every time.Duration, burst int, now func() time.Time) *throttle {
	return &throttle{every: every, burst: burst, now: now, buckets: map[string]*rate.Limiter{}}
}

func (t *throttle) bucket(key string, now time.Time) *rate.Limiter {
	if now.Sub(t.lastSweep) > time.Minute {
		for k, b := range t.buckets {
			if b.TokensAt(now) >= float64(t.burst) {
				delete(t.buckets, k)
			}
		}
		t.lastSweep = now
	}
	b, ok := t.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Every(t.every), t.burst)
		t.buckets[key] = b
	}
	return b
}

// take spends one token. When none is left it returns false and how long until one is.
func (t *throttle) take(key string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.bucket(key, now)
	if b.AllowN(now, 1) {
		return true, 0
	}
	return false, t.wait(b, now)
}

// check reports whether a token is available without spending it.
func (t *throttle) check(key string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.bucket(key, now)
	if b.TokensAt(now) >= 1 {
		return true, 0
	}
	return false, t.wait(b, now)
}

func (t *throttle) wait(b *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - b.TokensAt(now)
	return time.Duration(math.Ceil(missing * float64(t.every)))
}

package store

import (
	"testing"
	"time"
)

// An answer is reused only under the generation it was read under.
func TestSessionCacheFollowsTheGeneration(t *testing.T) {
	var c sessionCache
	if _, _, ok := c.get("h", "g1"); ok {
		t.Fatal("empty cache answered")
	}
	c.put("h", User{ID: 1}, Session{UserID: 1}, "g1", time.Now())
	if u, _, ok := c.get("h", "g1"); !ok || u.ID != 1 {
		t.Fatal("a current answer was not kept")
	}
	if _, _, ok := c.get("h", "g2"); ok {
		t.Fatal("an answer read under an older generation was reused")
	}
	// A lookup that read its data before the change must not put it back.
	c.put("h", User{ID: 1}, Session{UserID: 1}, "g1", time.Now())
	if _, _, ok := c.get("h", "g2"); ok {
		t.Fatal("an answer read before the change came back into the cache")
	}
	// A miss reads the generation with its data, without a get first: that answer is kept.
	c.put("n", User{ID: 3}, Session{UserID: 3}, "g3", time.Now())
	if !c.has("n") {
		t.Fatal("has: the answer just put is not there")
	}
	if u, _, ok := c.get("n", "g3"); !ok || u.ID != 3 {
		t.Fatal("an answer put under a newer generation was not kept")
	}
	c.put("old", User{ID: 2}, Session{}, "g3", time.Now().Add(-sessionCacheTTL))
	if _, _, ok := c.get("old", "g3"); ok || c.has("old") {
		t.Fatal("an answer older than the TTL was reused")
	}
}

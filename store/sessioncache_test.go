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
	c.put("old", User{ID: 2}, Session{}, "g2", time.Now().Add(-sessionCacheTTL))
	if _, _, ok := c.get("old", "g2"); ok {
		t.Fatal("an answer older than the TTL was reused")
	}
}

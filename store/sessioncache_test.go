package store

import (
	"testing"
	"time"
)

// A lookup that read the database before an invalidation must not put its answer back.
func TestSessionCacheRefusesAnswersReadBeforeAClear(t *testing.T) {
	var c sessionCache
	_, _, ok, gen := c.get("h")
	if ok {
		t.Fatal("empty cache answered")
	}
	c.clear() // a logout between the read and the put
	c.put("h", User{ID: 1}, Session{UserID: 1}, gen, time.Now())
	if _, _, ok, _ := c.get("h"); ok {
		t.Fatal("an answer read before the logout came back into the cache")
	}
	_, _, _, gen = c.get("h")
	c.put("h", User{ID: 1}, Session{UserID: 1}, gen, time.Now())
	if u, _, ok, _ := c.get("h"); !ok || u.ID != 1 {
		t.Fatal("a current answer was not kept")
	}
	c.put("old", User{ID: 2}, Session{}, gen, time.Now().Add(-sessionCacheTTL))
	if _, _, ok, _ := c.get("old"); ok {
		t.Fatal("an answer older than the TTL was reused")
	}
}

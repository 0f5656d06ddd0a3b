package store

import (
	"sync"
	"time"
)

// sessionCacheTTL is how long a session lookup is reused. Every page view looks its session
// up; reusing the answer for two seconds saves a join per request on a busy site. Changes
// this process makes to sessions or users (logout, password, deactivation, role) empty the
// cache at once; changes made by another process (kubestats user …) apply within the TTL.
const sessionCacheTTL = 2 * time.Second

// sessionCache holds recent SessionUser answers by token hash.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
	// gen moves on at every invalidation, so that a lookup which read the database before
	// a logout cannot put the ended session back afterwards.
	gen uint64
}

type cachedSession struct {
	u    User
	sess Session
	at   time.Time
}

// get returns a fresh cached answer, and the generation to hand to put.
func (c *sessionCache) get(hash string) (User, Session, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || time.Since(e.at) >= sessionCacheTTL {
		return User{}, Session{}, false, c.gen
	}
	return e.u, e.sess, true, c.gen
}

// put stores an answer read under generation gen, unless something was invalidated since.
func (c *sessionCache) put(hash string, u User, sess Session, gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedSession{} // bounded: old entries are only a performance loss
	}
	c.m[hash] = cachedSession{u: u, sess: sess, at: at}
}

// clear forgets every answer.
func (c *sessionCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

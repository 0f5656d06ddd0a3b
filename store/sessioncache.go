package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// sessionsGenKey names the settings row that every change to sessions or users replaces
// with a new random value, in the change's own transaction (bumpSessionsGen). A cached
// session lookup is reused only while the row still holds the value it was read under,
// so a change made by any process, this one or a CLI run (kubestats user set-password),
// applies to the very next lookup.
//
// The check is one read of one row per cached lookup: 5–11 µs on the reader pool (2 busy
// cores), against 0.4–1.2 µs for the unchecked hit it replaces and 13–23 µs for a miss (the
// sessions⋈users join with its time columns), so the cache saves about half a lookup. Most
// of the check is SQLite starting a read transaction, which any cross-process signal inside
// the database (PRAGMA data_version included) costs as well. A miss reads the generation
// in the join, once. A random value rather than a counter cannot repeat after a restore.
const sessionsGenKey = "sessions_generation"

// sessionCacheTTL bounds how long a lookup is reused even with the generation unchanged:
// it covers what the generation cannot see, edits behind the store's back (raw SQL) and
// another server's touches of last_seen_at.
const sessionCacheTTL = 2 * time.Second

// sessionCache holds recent SessionUser answers by token hash, each with the generation
// its data was read under.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
	// gen is the generation last seen; a new one empties the map, whose entries can no
	// longer be used.
	gen string
}

type cachedSession struct {
	u    User
	sess Session
	gen  string
	at   time.Time
}

// get returns a fresh cached answer read under gen, the generation the database holds now.
func (c *sessionCache) get(hash, gen string) (User, Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		c.m, c.gen = nil, gen
		return User{}, Session{}, false
	}
	e, ok := c.m[hash]
	if !ok || e.gen != gen || time.Since(e.at) >= sessionCacheTTL {
		return User{}, Session{}, false
	}
	return e.u, e.sess, true
}

// has reports whether a fresh answer is cached at all, so that a lookup with nothing to
// reuse goes straight to the query (which reads the generation with the data).
func (c *sessionCache) has(hash string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	return ok && time.Since(e.at) < sessionCacheTTL
}

// put stores an answer whose data was read under generation gen. Entries of another
// generation are dropped: whichever of the two is current, only one can be.
func (c *sessionCache) put(hash string, u User, sess Session, gen string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		c.m, c.gen = nil, gen
	}
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedSession{} // bounded: old entries are only a performance loss
	}
	c.m[hash] = cachedSession{u: u, sess: sess, gen: gen, at: at}
}

// sessionsGenSQL reads the generation as a column, so a query can take it in the same
// snapshot as the data it caches.
const sessionsGenSQL = "coalesce((SELECT value FROM settings WHERE key = '" + sessionsGenKey + "'), '')"

// sessionsGen reads the current generation.
func (s *Store) sessionsGen(ctx context.Context) (string, error) {
	var gen string
	if err := s.queryRow(ctx, "SELECT "+sessionsGenSQL).Scan(&gen); err != nil {
		return "", fmt.Errorf("store: sessions generation: %w", err)
	}
	return gen, nil
}

// bumpSessionsGen gives the generation a new value inside tx, the transaction that changes
// sessions or users, so no process can see the change under the old value.
func (s *Store) bumpSessionsGen(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO settings (key, value, updated_at) VALUES (?, hex(randomblob(8)), ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		sessionsGenKey, s.now())
	return err
}

package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache. The store's read queries have a few dozen
// distinct texts (filters add bounded variants); past the bound a text runs unprepared, as
// every query did before the cache, so an unexpected source of distinct texts costs speed,
// never memory.
const maxCachedStmts = 256

// stmtCache keeps the reader pool's prepared statements by SQL text. SQLite parses and plans
// a statement in about as long as the indexed lookups behind a page take to run, and the
// pure-Go build does it in transpiled C; a *sql.Stmt is prepared once per pooled connection
// and then only bound and stepped.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

// stmt returns the cached statement for q, preparing it on first use; nil when the cache is full.
func (s *Store) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	c := &s.stmts
	c.mu.RLock()
	st, ok := c.m[q]
	full := len(c.m) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || full {
		return st, nil
	}
	// Prepared outside the lock: preparing may wait for a pooled connection.
	st, err := s.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		st.Close()
		return prev, nil
	}
	if len(c.m) >= maxCachedStmts {
		st.Close()
		return nil, nil
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[q] = st
	return st, nil
}

// query runs a read query on the reader pool through the statement cache.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.r.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is query for a single row; errors surface at Scan, as with sql.DB.QueryRowContext.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, q)
	if err != nil || st == nil {
		// An unpreparable text fails again here, and the error reaches the caller's Scan.
		return s.r.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// close releases the prepared statements; Store.Close calls it before closing the pool.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for q, st := range c.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	return first
}

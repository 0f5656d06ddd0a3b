// Package storetest opens real, migrated SQLite stores in a test's temp dir.
package storetest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/kubestats/kubestats/store"
)

// FastPasswords are argon2id parameters cheap enough for tests under -race; the
// production parameters are tested on their own.
var FastPasswords = argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Schema returns the project's schema.sql.
func Schema(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("storetest: cannot locate schema.sql")
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "schema.sql"))
	if err != nil {
		t.Fatalf("storetest: read schema.sql: %v", err)
	}
	return string(b)
}

// Options returns store options for a new database file in t.TempDir().
func Options(t testing.TB) store.Options {
	t.Helper()
	p := FastPasswords
	return store.Options{
		Path:           filepath.Join(t.TempDir(), "kubestats.db"),
		Schema:         Schema(t),
		PasswordParams: &p,
	}
}

// Open opens a fresh store; edit may adjust the options first. It is closed at cleanup.
func Open(t testing.TB, edit ...func(*store.Options)) *store.Store {
	t.Helper()
	opts := Options(t)
	for _, e := range edit {
		e(&opts)
	}
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Clock is a settable time source for Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// CopyFile copies a database file (or its -wal) for a test or benchmark that must not change
// the original, such as the load test's generated database.
func CopyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Package store owns Kubestats' SQLite database: connections, migrations and every query.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Sentinel errors; callers match them with errors.Is, never by text.
var (
	ErrNotFound           = errors.New("not found")
	ErrConflict           = errors.New("already exists")
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrLastSuperuser      = errors.New("at least one active superuser must remain")
	ErrSchemaTooNew       = errors.New("database schema is newer than this binary")
	// ErrDatabaseFile marks a backup or export target that is the database itself or a file
	// SQLite keeps beside it: renamed into place there, the copy would replace the live database.
	ErrDatabaseFile = errors.New("writing there would destroy the database; choose another file")
)

// ValidationError reports bad input for one field, in words fit for a form.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// Options configure Open. Zero values pick the production defaults.
type Options struct {
	Path   string // database file; created when missing
	Schema string // schema.sql, embedded by main
	// ReadConns bounds the reader pool; each connection has its own page cache.
	ReadConns int
	Now       func() time.Time
	// PasswordParams are the argon2id parameters for new hashes. Tests pass cheap ones:
	// the race detector makes the production cost (64 MiB, 2 passes) take seconds.
	PasswordParams *argon2id.Params
	// HashConcurrency bounds simultaneous hash computations (each may take 64 MiB).
	HashConcurrency int
	// HashWait is how long a password hash or check waits for a free slot before it gives
	// up with ErrBusy; 0 means defaultHashWait.
	HashWait time.Duration
	// PasswordHook, when set, runs inside the hashing slot before every hash ("hash") and
	// every verification ("verify"); tests count and hold password work with it.
	PasswordHook func(op string)
}

// Store is the only way into the database. Writes go through one connection so that
// SQLite never sees two writers; reads use a small pool that never blocks the writer.
type Store struct {
	w, r *sql.DB
	path string
	now  func() time.Time
	pw   *passwords
	// version counts committed changes (see Version); ecosystem those of the aggregate alone.
	version, ecosystem atomic.Uint64
	// sessions reuses recent session lookups (see sessionCacheTTL).
	sessions sessionCache
	// stmts keeps prepared read statements (see stmtCache).
	stmts stmtCache
	// tightened is what Open narrowed (see Tightened).
	tightened []ModeChange
}

// Version changes whenever this process commits a change to what the community views show:
// a scan, a failed sync, discovery, a refresh, a repository action, an aggregate. Handlers key
// caches of derived views on it, so a cached view is never older than the last such change;
// changes made by another process (a CLI run) reach them when the cache's time-to-live ends.
// Transient sync states (queued, syncing) do not count: the repository page reads them live.
func (s *Store) Version() uint64 { return s.version.Load() }

// changed marks a committed change for Version.
func (s *Store) changed() { s.version.Add(1) }

// Open opens (creating if needed) and migrates the database at opts.Path.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("store: no database path given")
	}
	if err := CheckDirOf("database", opts.Path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	tightened, err := ownerOnly(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", opts.Path, err)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w, err := sql.Open("sqlite", dsn(opts.Path, false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", opts.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", opts.Path, err)
	}
	s := &Store{w: w, path: opts.Path, now: func() time.Time { return opts.Now().UTC() }, tightened: tightened}
	if err := s.migrate(ctx, opts.Schema); err != nil {
		w.Close()
		return nil, err
	}
	// The reader pool opens after migration so that it never sees a half-made schema.
	r, err := sql.Open("sqlite", dsn(opts.Path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open readers %s: %w", opts.Path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open readers %s: %w", opts.Path, err)
	}
	s.r = r
	s.pw = newPasswords(opts.PasswordParams, opts.HashConcurrency, opts.HashWait, opts.PasswordHook)
	return s, nil
}

// CheckDirOf checks that the directory of the file at path exists and is a directory, naming
// the file's role (what) in the error: "database directory /x cannot be used: no such file or
// directory". Nothing creates these directories, so a missing one is a mistyped path.
func CheckDirOf(what, path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s directory %s cannot be used: %w", what, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s directory %s is not a directory", what, dir)
	}
	return nil
}

// ownerOnly keeps the database's files to their owner: they hold password hashes, token
// digests and the cookie key. SQLite creates a database 0644 but gives its WAL, shared-memory
// and journal files the main file's mode, so creating the main file 0600 before SQLite opens
// it covers them all. An existing database's files (made by an older version, or copied in)
// are narrowed here; a failure to narrow one is reported, not fatal, since the database still
// works and the caller logs it.
func ownerOnly(path string) ([]ModeChange, error) {
	// SQLite opens, and names its other files after, the path with symlinks resolved.
	file := canonicalPath(path)
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	var changed []ModeChange
	for _, p := range []string{file, file + "-wal", file + "-shm", file + "-journal"} {
		st, err := os.Stat(p)
		if err != nil {
			continue // not there: SQLite creates it from the main file's mode
		}
		from := st.Mode().Perm()
		if from&0o077 == 0 {
			continue
		}
		m := ModeChange{Path: p, From: from, To: from &^ 0o077}
		if err := os.Chmod(p, m.To); err != nil {
			m.Err = err
		}
		changed = append(changed, m)
	}
	return changed, nil
}

// dsn puts every per-connection setting in the DSN so each pooled connection gets it.
// immediate transactions take the write lock at BEGIN, which avoids SQLITE_BUSY on
// lock upgrades; readers are query_only so a mistaken write through them fails loudly.
func dsn(path string, readOnly bool) string {
	q := "_busy_timeout=5000&_journal_mode=WAL&_foreign_keys=1&_synchronous=NORMAL&_txlock=immediate&_time_format=sqlite"
	if readOnly {
		q += "&_pragma=query_only(1)"
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.stmts.close(), s.r.Close(), s.w.Close())
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// InTx runs fn in one write transaction, committed when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Ping checks that both the writer and a reader answer a query.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.queryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		return fmt.Errorf("store: ping readers: %w", err)
	}
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		return fmt.Errorf("store: ping writer: %w", err)
	}
	return nil
}

// Size is the database size in bytes, counting the WAL file that checkpoints fold in.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var pages, pageSize int64
	if err := s.queryRow(ctx, "SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()").Scan(&pages, &pageSize); err != nil {
		return 0, fmt.Errorf("store: size: %w", err)
	}
	size := pages * pageSize
	if st, err := os.Stat(s.path + "-wal"); err == nil {
		size += st.Size()
	}
	return size, nil
}

// SchemaVersion is the database's PRAGMA user_version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.queryRow(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// ModeChange is a database file whose permissions Open narrowed to the owner's.
type ModeChange struct {
	Path     string
	From, To fs.FileMode
	Err      error // the narrowing failed; the file keeps From
}

// Tightened lists the database files Open found readable by others and narrowed (or failed to,
// see ModeChange.Err), for the caller to log: Open has no logger.
func (s *Store) Tightened() []ModeChange { return s.tightened }

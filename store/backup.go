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
	"time"
)

// Backup writes a consistent copy of the whole database to path with VACUUM INTO, safe
// while the app reads and writes: the copy is one read transaction's snapshot, which in WAL
// mode blocks no writer. It refuses to replace an existing file (fs.ErrExist); see
// BackupReplace. It refuses the database's own files (ErrDatabaseFile), and the file is
// private (0600): it holds password hashes and session digests. See writeCopy for how the
// file reaches path.
func (s *Store) Backup(ctx context.Context, path string) error {
	return s.backup(ctx, path, false)
}

// BackupReplace is Backup that replaces an existing file at path.
func (s *Store) BackupReplace(ctx context.Context, path string) error {
	return s.backup(ctx, path, true)
}

func (s *Store) backup(ctx context.Context, path string, replace bool) error {
	return s.writeCopy(ctx, "backup", copyTarget{path: path, replace: replace, mode: 0o600}, func(tmp string) error {
		db, conn, err := s.sideConn(ctx)
		if err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		_, err = conn.ExecContext(ctx, "VACUUM INTO ?", tmp)
		conn.Close()
		db.Close()
		if err != nil {
			return fmt.Errorf("store: backup: vacuum into: %w", err)
		}
		return nil
	})
}

// copyTarget is where a backup or an export goes and how it is left there.
type copyTarget struct {
	path    string
	replace bool        // false: refuse an existing file (fs.ErrExist)
	mode    fs.FileMode // the finished file's permissions
	modTime time.Time   // the finished file's modification time; zero leaves it
}

// writeCopy is the one way backups and exports reach their path. Never the database's own
// files (ErrDatabaseFile). The copy is built by fill under a temporary name in the target's
// directory, flushed, given its mode, then renamed into place (or hard-linked, when an
// existing file must not be replaced): path holds the old file or the new one, never part of
// one, and whoever has the old file open keeps reading the old file, never its replacement
// being written over it.
func (s *Store) writeCopy(ctx context.Context, op string, t copyTarget, fill func(tmp string) error) error {
	if t.path == "" {
		return fmt.Errorf("store: %s: %w", op, errNoPath)
	}
	if what, ok := DatabaseFile(s.path, t.path); ok {
		return fmt.Errorf("store: %s: %s is %s: %w", op, t.path, what, ErrDatabaseFile)
	}
	if !t.replace {
		// Checked first to fail fast; the link below is what makes it race-free.
		if _, err := os.Lstat(t.path); err == nil {
			return fmt.Errorf("store: %s: %s: %w", op, t.path, fs.ErrExist)
		}
	}
	dir := filepath.Dir(t.path)
	// Both VACUUM INTO and ATTACH accept an empty file, so the name can be reserved race-free.
	// CreateTemp makes it 0600: nothing is readable by others before it is complete.
	f, err := os.CreateTemp(dir, "."+filepath.Base(t.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // gone already after a successful rename; a link leaves the target
	if err := fill(tmp); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if err := os.Chmod(tmp, t.mode); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if !t.modTime.IsZero() {
		if err := os.Chtimes(tmp, t.modTime, t.modTime); err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
	}
	if t.replace {
		err = os.Rename(tmp, t.path)
	} else {
		// A hard link fails when path exists, unlike a rename, which would replace it.
		err = os.Link(tmp, t.path)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("store: %s: %s: %w", op, t.path, fs.ErrExist)
		}
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	syncDir(dir)
	return nil
}

// DatabaseFile reports whether path names the database at db or a file SQLite keeps beside it
// (its write-ahead log, shared-memory file or rollback journal), and which, in words; see
// SamePath for how paths are compared.
func DatabaseFile(db, path string) (string, bool) {
	// SQLite names its files after the database's resolved path, so a database reached through
	// a symlink keeps them beside the real file.
	bases := []string{db}
	if c := canonicalPath(db); c != db {
		bases = append(bases, c)
	}
	for _, f := range []struct{ suffix, what string }{
		{"", "the database"},
		{"-wal", "the database's write-ahead log"},
		{"-shm", "the database's shared-memory file"},
		{"-journal", "the database's rollback journal"},
	} {
		for _, b := range bases {
			if SamePath(b+f.suffix, path) {
				return f.what, true
			}
		}
	}
	return "", false
}

// SamePath reports whether a and b name the same file: equal once made absolute and clean with
// symlinks resolved (a missing file's directory, and a dangling link's target, are resolved
// too), or the same file by os.SameFile when both exist (hard links, case-insensitive disks).
func SamePath(a, b string) bool {
	if canonicalPath(a) == canonicalPath(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// canonicalPath is p absolute, clean and with symlinks resolved as far as they lead.
func canonicalPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	for range 40 { // Linux's own bound on a chain of links
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		// Missing, or a dangling link: resolve its directory (a relative link is relative to
		// the real one), then follow the link by hand.
		if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			abs = filepath.Join(d, filepath.Base(abs))
		}
		target, err := os.Readlink(abs)
		if err != nil {
			return abs // not a link: a file that does not exist (yet)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(abs), target)
		}
		abs = filepath.Clean(target)
	}
	return abs
}

// sideConn opens one connection of its own on the database file for long copies (backup,
// export): the reader pool's connections are query-only and the writer's single connection
// must stay free for the app. Deferred transactions (no _txlock): these copies only read
// the main database. Foreign keys stay off: the export's tables are filled in an order the
// source already guarantees.
func (s *Store) sideConn(ctx context.Context) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: s.path}).EscapedPath()+"?_busy_timeout=5000&_time_format=sqlite")
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// syncFile flushes a finished copy to disk before it is renamed into place, so a crash
// cannot leave a complete-looking name over incomplete contents.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename durable. Best effort: not every platform can sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

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
)

// Backup writes a consistent copy of the whole database to path with VACUUM INTO, safe
// while the app reads and writes: the copy is one read transaction's snapshot, which in WAL
// mode blocks no writer. It refuses to replace an existing file (fs.ErrExist); see
// BackupReplace. The copy is made under a temporary name in the same directory first, so
// path never holds a partial database.
func (s *Store) Backup(ctx context.Context, path string) error {
	return s.backup(ctx, path, false)
}

// BackupReplace is Backup that replaces an existing file at path.
func (s *Store) BackupReplace(ctx context.Context, path string) error {
	return s.backup(ctx, path, true)
}

func (s *Store) backup(ctx context.Context, path string, replace bool) error {
	if path == "" {
		return fmt.Errorf("store: backup: %w", errNoPath)
	}
	if !replace {
		// Checked first to fail fast; the link below is what makes it race-free.
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("store: backup: %s: %w", path, fs.ErrExist)
		}
	}
	dir := filepath.Dir(path)
	// VACUUM INTO accepts an empty file, so the temporary name can be reserved race-free.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	tmp := f.Name() // mode 0600: a backup holds password hashes and session digests
	f.Close()
	defer os.Remove(tmp) // gone already after a successful rename or link

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
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		// A hard link fails when path exists, unlike a rename, which would replace it.
		err = os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("store: backup: %s: %w", path, fs.ErrExist)
		}
	}
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	syncDir(dir)
	return nil
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

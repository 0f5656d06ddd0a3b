package store_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// checkBackup opens a backup as the app would (migrations included) and checks that it is
// whole and holds what the source held.
func checkBackup(t *testing.T, path string, wantRepos map[string]int, wantUser string) {
	t.Helper()
	ctx := context.Background()
	var integrity string
	if err := openExport(t, path).QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	b, err := store.Open(ctx, store.Options{Path: path, Schema: storetest.Schema(t), PasswordParams: &storetest.FastPasswords})
	if err != nil {
		t.Fatalf("restored backup does not open: %v", err)
	}
	defer b.Close()
	counts, err := b.RepositoryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(counts, wantRepos) {
		t.Fatalf("restored backup: repositories by status %v, want %v", counts, wantRepos)
	}
	if _, err := b.GetUserByEmail(ctx, wantUser); err != nil {
		t.Fatalf("restored backup lacks user %s: %v", wantUser, err)
	}
}

func TestBackupIsWholeAndRefusesToOverwrite(t *testing.T) {
	s, _ := seedDataset(t)
	ctx := context.Background()
	counts, err := s.RepositoryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 3 {
		t.Fatalf("fixture: repositories by status %v, want live, blocked and deleted", counts)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	// A backup is the whole database, private rows included: it restores the service.
	checkBackup(t, path, counts, privateEmail)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600: it holds password hashes", st.Mode().Perm())
	}

	before, _ := os.ReadFile(path)
	if err := s.Backup(ctx, path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("backup over an existing file: %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a refused backup changed the existing file")
	}
	if err := os.WriteFile(path, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.BackupReplace(ctx, path); err != nil {
		t.Fatal(err)
	}
	checkBackup(t, path, counts, privateEmail)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the backup", len(entries))
	}
	if err := s.Backup(ctx, ""); err == nil {
		t.Fatal("backup to an empty path succeeded")
	}
}

// Exports and backups are renamed into place, so a target that is the database or a file
// SQLite keeps beside it would replace the live database: every spelling of one is refused and
// the database file is left as it was.
func TestExportAndBackupRefuseTheDatabaseFiles(t *testing.T) {
	s, _ := seedDataset(t)
	ctx := context.Background()
	db := s.Path()
	dir := filepath.Dir(db)
	before, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	link, hard, dangling := filepath.Join(dir, "link.db"), filepath.Join(dir, "hard.db"), filepath.Join(dir, "dangling.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hard); err != nil {
		t.Fatal(err)
	}
	// Not there yet: SQLite creates the journal when it needs one, and the link then leads to it.
	if err := os.Symlink(db+"-journal", dangling); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A relative link is relative to the directory it really is in: through deep, which is
	// sub/inner, ../../ leads back to dir, where a lexical reading would leave it.
	if err := os.Mkdir(filepath.Join(dir, "sub", "inner"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("sub", "inner"), filepath.Join(dir, "deep")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "..", filepath.Base(db)+"-journal"), filepath.Join(dir, "sub", "inner", "rel.db")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	targets := []string{db, db + "-wal", db + "-shm", db + "-journal", filepath.Base(db), "./sub/../" + filepath.Base(db),
		link, hard, dangling, filepath.Join(dir, "deep", "rel.db")}
	ops := map[string]func(string) error{
		"export":         func(p string) error { _, err := s.Export(ctx, p, time.Now()); return err },
		"backup":         func(p string) error { return s.Backup(ctx, p) },
		"backup replace": func(p string) error { return s.BackupReplace(ctx, p) },
	}
	for name, op := range ops {
		for _, p := range targets {
			if err := op(p); !errors.Is(err, store.ErrDatabaseFile) {
				t.Errorf("%s to %s: got %v, want ErrDatabaseFile", name, p, err)
			}
		}
	}
	after, err := os.Stat(db)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the database file was replaced (%v)", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := s.Readers().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	if st, err := os.Lstat(db + "-journal"); err == nil && st.Size() > 0 {
		t.Fatalf("a refused export wrote %d bytes to the journal", st.Size())
	}
}

// Both exports and backups replace an existing file by renaming a finished copy over it: a
// reader that has the old file open keeps reading a whole database, never a half-written one.
func TestExportAndBackupReplaceByRename(t *testing.T) {
	s, _ := seedDataset(t)
	ctx := context.Background()
	dir := t.TempDir()
	cases := []struct {
		name  string
		write func(p string) error
		mode  os.FileMode
	}{
		{"export", func(p string) error { _, err := s.Export(ctx, p, time.Now()); return err }, 0o644},
		{"backup", func(p string) error { return s.BackupReplace(ctx, p) }, 0o600},
	}
	for _, tc := range cases {
		p := filepath.Join(dir, tc.name+".sqlite")
		if err := tc.write(p); err != nil {
			t.Fatal(err)
		}
		old, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// One connection, held: a pool could reopen the path and read the new file.
		reader, err := openExport(t, p).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		var n int
		if err := reader.QueryRowContext(ctx, "SELECT count(*) FROM repositories").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := tc.write(p); err != nil {
			t.Fatal(err)
		}
		cur, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if os.SameFile(old, cur) {
			t.Errorf("%s: the file was rewritten in place, not replaced by a rename", tc.name)
		}
		if cur.Mode().Perm() != tc.mode {
			t.Errorf("%s: mode %v, want %v", tc.name, cur.Mode().Perm(), tc.mode)
		}
		var again int
		if err := reader.QueryRowContext(ctx, "SELECT count(*) FROM repositories").Scan(&again); err != nil || again != n {
			t.Errorf("%s: a reader of the old file got %d, %v; want %d", tc.name, again, err, n)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("directory holds %d entries, want the export and the backup only", len(entries))
	}
}

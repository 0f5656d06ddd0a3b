package store_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"

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

package handlers_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

// sqliteFile writes a downloaded body to disk and opens it read-only.
func sqliteFile(t *testing.T, body string) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "download.sqlite")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("downloaded file: integrity_check %q, %v", check, err)
	}
	return db
}

func TestExportDownload(t *testing.T) {
	exportPath := filepath.Join(t.TempDir(), "kubestats-export.sqlite")
	e := newEnv(t, func(c *handlers.Config) { c.ExportPath = exportPath }).withUsers()
	ctx := context.Background()
	token, _, err := e.store.CreateToken(ctx, e.user.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	anon, session := e.client(), e.client().mustLogin(userEmail)
	bearer := []string{"Authorization", "Bearer " + token}
	const path = "/api/v1/export.sqlite"

	// Before the first export: the API's 404 with its own code, after authentication.
	if r := anon.get(path); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous on a private site: got %d, want 401", r.StatusCode)
	}
	r := anon.get(path, bearer...)
	var apiErr struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &apiErr); err != nil || r.StatusCode != http.StatusNotFound || apiErr.Error.Code != "no_export" {
		t.Fatalf("before any export: got %d %s, want 404 no_export", r.StatusCode, r.body)
	}

	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	if _, err := e.store.Export(ctx, exportPath, at); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		cl     *client
		header []string
	}{"token": {anon, bearer}, "session": {session, nil}} {
		r := c.cl.get(path, c.header...)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: got %d, want 200: %s", name, r.StatusCode, r.body)
		}
		h := r.Header
		if got := h.Get("Content-Type"); got != "application/vnd.sqlite3" {
			t.Errorf("%s: Content-Type %q", name, got)
		}
		if got := h.Get("Content-Disposition"); got != `attachment; filename="kubestats-2026-11-24.sqlite"` {
			t.Errorf("%s: Content-Disposition %q", name, got)
		}
		if got := h.Get("X-Kubestats-Export-Date"); got != "2026-11-24T03:00:00Z" {
			t.Errorf("%s: X-Kubestats-Export-Date %q", name, got)
		}
		if got := h.Get("Last-Modified"); got != at.Format(http.TimeFormat) {
			t.Errorf("%s: Last-Modified %q", name, got)
		}
		var exportedAt time.Time
		var version int
		if err := sqliteFile(t, r.body).QueryRow("SELECT exported_at, dataset_version FROM meta").Scan(&exportedAt, &version); err != nil ||
			!exportedAt.Equal(at) || version != store.DatasetVersion {
			t.Fatalf("%s: meta row %v %d %v", name, exportedAt, version, err)
		}
	}
	// Conditional and partial requests come from the file.
	if r := anon.get(path, append(bearer, "If-Modified-Since", at.Format(http.TimeFormat))...); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since the export date: got %d, want 304", r.StatusCode)
	}
	if r := anon.get(path, append(bearer, "Range", "bytes=0-15")...); r.StatusCode != http.StatusPartialContent || r.body != "SQLite format 3\x00" {
		t.Errorf("Range: got %d %q, want 206 and the SQLite header", r.StatusCode, r.body)
	}
	if r := anon.get(path); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous on a private site after an export: got %d, want 401", r.StatusCode)
	}

	// A public site serves it to anyone.
	pub := newEnv(t, func(c *handlers.Config) { c.ExportPath = exportPath; c.Public = true })
	if r := pub.client().get(path); r.StatusCode != http.StatusOK || !strings.HasPrefix(r.body, "SQLite format 3\x00") {
		t.Fatalf("anonymous on a public site: got %d, want 200 and the file", r.StatusCode)
	}
}

func TestBackupDownload(t *testing.T) {
	e := newEnv(t).withUsers()
	if r := e.client().get("/backup"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous: got %d to %q, want 303 to /login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.client().mustLogin(userEmail).get("/backup"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("plain user: got %d, want 403", r.StatusCode)
	}
	admin := e.client().mustLogin(adminEmail)
	jobsPage := admin.get("/jobs")
	if href, _ := jobsPage.doc(t).Find(`[data-testid="backup"] a`).Attr("href"); href != "/backup" {
		t.Fatalf("jobs page backup link: %q, want /backup", href)
	}
	// One backup at a time: a second while one is written is refused, and nothing is lost.
	release := e.h.HoldBackup()
	if r := admin.get("/backup"); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "already") {
		t.Fatalf("during another backup: got %d, want 409 saying one is running", r.StatusCode)
	}
	release()
	r := admin.get("/backup")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("superuser: got %d, want 200: %s", r.StatusCode, r.body)
	}
	if got := r.Header.Get("Content-Type"); got != "application/vnd.sqlite3" {
		t.Errorf("Content-Type %q", got)
	}
	if got := r.Header.Get("Content-Disposition"); !strings.HasPrefix(got, `attachment; filename="kubestats-backup-`) || !strings.HasSuffix(got, `.db"`) {
		t.Errorf("Content-Disposition %q", got)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	// It is the whole database: the users are in it.
	var n int
	if err := sqliteFile(t, r.body).QueryRow("SELECT count(*) FROM users").Scan(&n); err != nil || n != 2 {
		t.Fatalf("backup users: %d, %v; want 2", n, err)
	}
	// The temporary copy is gone from beside the database.
	entries, _ := os.ReadDir(filepath.Dir(e.store.Path()))
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".kubestats-backup-") {
			t.Fatalf("temporary backup %s left behind", en.Name())
		}
	}
}

package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// Values that must never reach the dataset.
const (
	secretValue  = "hunter2-very-secret-value"
	valuesSecret = "values-admin-password-xyz"
	privateEmail = "private-person@example.org"
	settingValue = "setting-value-never-exported"
	sessionAgent = "session-agent-never-exported"
	tokenName    = "token-name-never-exported"
)

// scanTree scans a small checkout holding a Secret and a HelmRelease with a password in its
// values, as the sync would, plus an object named after the repository to find its rows.
func scanTree(t *testing.T, marker string) *scan.Result {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"apps/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\nstringData:\n  password: " + secretValue + "\n",
		"apps/release.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
  namespace: apps
spec:
  chart:
    spec:
      chart: app
      version: 1.0.0
      sourceRef: {kind: HelmRepository, name: charts}
  values:
    image: {repository: ghcr.io/example/app, tag: "1.2.3"}
    adminPassword: ` + valuesSecret + "\n",
		"apps/marker.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + marker + "\n",
		"apps/old.yaml":    "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: old\n",
		"apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.x }}\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := scan.Dir(context.Background(), dir, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// seedDataset fills a store with one live, one blocked and one deleted scanned repository,
// and with every kind of private row: a user, a session, a token, a setting, a job run.
func seedDataset(t *testing.T) (*store.Store, *storetest.Clock) {
	t.Helper()
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	for i, action := range []store.RepoAction{"", store.ActionBlock, store.ActionDelete} {
		r := newSyncRepo(t, s, i+1)
		if _, err := s.BeginSync(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		at := c.Now().Add(-time.Hour)
		if _, err := s.ApplyScan(ctx, r.ID, store.ScanCommit{OID: r.HeadOID, CommittedAt: &at, Result: scanTree(t, "marker-"+r.Owner)}); err != nil {
			t.Fatal(err)
		}
		if action != "" {
			if err := s.ApplyRepoAction(ctx, r.ID, action); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.AggregateMissing(ctx, c.Now(), false); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.NewUser{Email: privateEmail, Name: "Private Person", Password: "correct horse battery", IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, u.ID, store.SessionPolicy{Idle: time.Hour, Lifetime: time.Hour}, "192.0.2.1", sessionAgent); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateToken(ctx, u.ID, tokenName); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "export_test", settingValue); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartJobRun(ctx, "discover", "test"); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func openExport(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func strs(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestExportHoldsPublicDataOnly(t *testing.T) {
	s, c := seedDataset(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "export.sqlite")
	info, err := s.Export(ctx, path, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	db := openExport(t, path)

	// Exactly the documented tables: nothing about people, sessions, tokens, settings or jobs.
	want := []string{"chart_usages", "deprecated_usages", "ecosystem_breakdowns", "ecosystem_daily", "image_usages", "meta",
		"readme", "repositories", "repository_metrics", "resource_events", "resources", "scan_errors"}
	got := strs(t, db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	if !slices.Equal(got, want) {
		t.Fatalf("tables:\n got %v\nwant %v", got, want)
	}
	if exp := slices.Sorted(slices.Values(store.ExportTables())); !slices.Equal(exp, want) {
		t.Fatalf("ExportTables() = %v, want %v", exp, want)
	}

	// No private value anywhere in the file's bytes (table data, indexes, free pages).
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{secretValue, valuesSecret, privateEmail, settingValue, sessionAgent, tokenName, "$argon2id$"} {
		if strings.Contains(string(raw), v) {
			t.Errorf("export contains %q", v)
		}
	}
	// The Secret is there, redacted, and its content is JSON SQLite can read.
	if got := strs(t, db, "SELECT content ->> '$.stringData.password' FROM resources WHERE kind = 'Secret'"); !slices.Equal(got, []string{scan.Redacted}) {
		t.Fatalf("exported Secret password = %v, want [%s]", got, scan.Redacted)
	}
	// Text, not a blob: other tools (Python's sqlite3, JSON functions) then read it as JSON text.
	if n := count(t, db, "SELECT count(*) FROM resources WHERE typeof(content) <> 'text' OR json_valid(content) = 0"); n != 0 {
		t.Fatalf("%d resources without JSON text content", n)
	}
	if n := count(t, db, "SELECT count(*) FROM chart_usages WHERE chart_values ->> '$.adminPassword' = ?", scan.Redacted); n != 1 {
		t.Fatalf("redacted chart values: %d rows, want 1", n)
	}

	// Only the live repository, and none of the hidden ones' rows.
	if got := strs(t, db, "SELECT owner FROM repositories"); !slices.Equal(got, []string{"owner1"}) {
		t.Fatalf("repositories = %v, want [owner1]", got)
	}
	for _, tbl := range []string{"repository_metrics", "resources", "chart_usages", "image_usages", "deprecated_usages", "scan_errors", "resource_events"} {
		if n := count(t, db, "SELECT count(*) FROM "+tbl+" WHERE repository_id NOT IN (SELECT id FROM repositories)"); n != 0 {
			t.Errorf("%s: %d rows of hidden repositories", tbl, n)
		}
		if n := count(t, db, "SELECT count(*) FROM "+tbl); n == 0 {
			t.Errorf("%s: no rows; the fixture should fill it", tbl)
		} else if int64(n) != info.Rows[tbl] {
			t.Errorf("%s: %d rows, ExportInfo says %d", tbl, n, info.Rows[tbl])
		}
	}
	if got := strs(t, db, "SELECT name FROM resources WHERE name LIKE 'marker-%'"); !slices.Equal(got, []string{"marker-owner1"}) {
		t.Fatalf("marker objects = %v, want only the live repository's", got)
	}
	for _, col := range []string{"approval", "blocked_at", "deleted_at", "sync_status", "sync_error", "next_sync_at"} {
		if n := count(t, db, "SELECT count(*) FROM pragma_table_info('repositories') WHERE name = ?", col); n != 0 {
			t.Errorf("repositories exports %s", col)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM ecosystem_daily"); n == 0 {
		t.Error("ecosystem_daily is empty")
	}

	// The readme describes every table and every column, and nothing else.
	for _, tbl := range want {
		cols := strs(t, db, "SELECT name FROM pragma_table_info(?) ORDER BY name", tbl)
		described := strs(t, db, "SELECT column_name FROM readme WHERE table_name = ? AND column_name <> '' ORDER BY column_name", tbl)
		if !slices.Equal(cols, described) {
			t.Errorf("readme for %s:\n got %v\nwant %v", tbl, described, cols)
		}
		if n := count(t, db, "SELECT count(*) FROM readme WHERE table_name = ? AND column_name = '' AND description <> ''", tbl); n != 1 {
			t.Errorf("readme: %d descriptions of table %s, want 1", n, tbl)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM readme WHERE description = ''"); n != 0 {
		t.Errorf("readme: %d empty descriptions", n)
	}

	// meta says when, from which schema, in which layout.
	var exportedAt time.Time
	var schema, version int
	if err := db.QueryRow("SELECT exported_at, schema_version, dataset_version FROM meta").Scan(&exportedAt, &schema, &version); err != nil {
		t.Fatal(err)
	}
	wantSchema, _ := s.SchemaVersion(ctx)
	if !exportedAt.Equal(c.Now()) || schema != wantSchema || version != store.DatasetVersion {
		t.Fatalf("meta = %v, %d, %d; want %v, %d, %d", exportedAt, schema, version, c.Now(), wantSchema, store.DatasetVersion)
	}
	if st, _ := os.Stat(path); !st.ModTime().Equal(c.Now()) || st.Size() != info.Bytes {
		t.Fatalf("file mtime %v size %d; want %v and %d", st.ModTime(), st.Size(), c.Now(), info.Bytes)
	}
}

func TestExportReplacesTheFileAtomically(t *testing.T) {
	s, c := seedDataset(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "export.sqlite")
	if _, err := s.Export(ctx, path, c.Now()); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file keeps reading it whole while the new one replaces it.
	old := openExport(t, path)
	if n := count(t, old, "SELECT count(*) FROM repositories"); n != 1 {
		t.Fatalf("first export: %d repositories, want 1", n)
	}
	r, err := s.GetRepositoryByName(ctx, "owner2", "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyRepoAction(ctx, r.ID, store.ActionUnblock); err != nil {
		t.Fatal(err)
	}
	c.Advance(24 * time.Hour)
	if _, err := s.Export(ctx, path, c.Now()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, openExport(t, path), "SELECT count(*) FROM repositories"); n != 2 {
		t.Fatalf("second export: %d repositories, want 2 (the unblocked one is back)", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the export (no temporary files)", len(entries))
	}
	// A failed export leaves the previous file alone and no temporary file behind.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Export(cctx, path, c.Now()); err == nil {
		t.Fatal("export with a cancelled context succeeded")
	}
	if n := count(t, openExport(t, path), "SELECT count(*) FROM repositories"); n != 2 {
		t.Fatalf("after a failed export: %d repositories, want 2", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("a failed export left %d entries", len(entries))
	}
	if _, err := s.Export(ctx, "", c.Now()); err == nil {
		t.Fatal("export to an empty path succeeded")
	}
}

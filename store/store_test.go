package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func TestOpenSetsPragmasOnEveryConnection(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	for name, db := range map[string]*sql.DB{"writer": s.Writer(), "readers": s.Readers()} {
		// Hold several reader connections at once so the check covers more than one.
		conns := make([]*sql.Conn, 0, 3)
		for range 3 {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			if name == "writer" {
				break
			}
		}
		for i, c := range conns {
			var mode string
			var fk, busy int
			if err := c.QueryRowContext(ctx, "SELECT journal_mode, foreign_keys, timeout FROM pragma_journal_mode(), pragma_foreign_keys(), pragma_busy_timeout()").Scan(&mode, &fk, &busy); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" || fk != 1 || busy != 5000 {
				t.Errorf("%s conn %d: got journal_mode=%s foreign_keys=%d busy_timeout=%d, want wal 1 5000", name, i, mode, fk, busy)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if _, err := s.Readers().ExecContext(ctx, "INSERT INTO settings (key, value, updated_at) VALUES ('x', 'y', 'z')"); err == nil {
		t.Error("write through the reader pool succeeded, want query_only refusal")
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != store.LatestVersion() {
		t.Errorf("got schema version %d (%v), want %d", v, err, store.LatestVersion())
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	opts := storetest.Options(t)
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer().Exec(fmt.Sprintf("PRAGMA user_version = %d", store.LatestVersion()+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = store.Open(context.Background(), opts)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("got %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	opts := storetest.Options(t)
	raw, err := sql.Open("sqlite", opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE notes (x TEXT)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = store.Open(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "not a Kubestats database") {
		t.Fatalf("got %v, want a refusal naming a foreign database", err)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	opts := storetest.Options(t)
	opts.Path = filepath.Join(t.TempDir(), "nope", "kubestats.db")
	_, err := store.Open(context.Background(), opts)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

// schemaShape describes a database's structure in a form that ignores how it was
// reached: a table altered by a migration and one created fresh compare equal when
// their columns, indexes, and foreign keys are equal.
func schemaShape(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	q := func(query string, args ...any) [][]string {
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var res [][]string
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(cols))
			for i, v := range vals {
				row[i] = v.String
			}
			res = append(res, row)
		}
		return res
	}
	for _, obj := range q("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name") {
		typ, name := obj[0], obj[1]
		switch typ {
		case "table":
			for _, c := range q("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", name) {
				out = append(out, fmt.Sprintf("column %s.%s %v", name, c[0], c[1:]))
			}
			for _, fk := range q("SELECT \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?)", name) {
				out = append(out, fmt.Sprintf("fk %s %v", name, fk))
			}
			// WITHOUT ROWID and other options live only in the CREATE text's tail.
			out = append(out, fmt.Sprintf("table %s without_rowid=%v strict=%v", name,
				strings.Contains(strings.ToUpper(obj[3]), "WITHOUT ROWID"), strings.Contains(strings.ToUpper(obj[3]), "STRICT")))
		case "index":
			cols := q("SELECT name, desc, coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", name)
			unique := q("SELECT \"unique\", partial FROM pragma_index_list(?) WHERE name = ?", obj[2], name)
			out = append(out, fmt.Sprintf("index %s on %s %v %v", name, obj[2], cols, unique))
		default: // views and triggers: compare their normalized text
			out = append(out, fmt.Sprintf("%s %s %s", typ, name, strings.Join(strings.Fields(obj[3]), " ")))
		}
	}
	sort.Strings(out)
	return out
}

// TestMigratedEqualsFresh opens a database made by every released schema (frozen in
// testdata/schema-vN.sql), lets Open migrate it, and compares it with a fresh one.
// It also insists that the newest version is frozen exactly as schema.sql stands, so
// a schema change without a migration step and a new snapshot fails here.
func TestMigratedEqualsFresh(t *testing.T) {
	fresh := storetest.Open(t)
	want := schemaShape(t, fresh.Writer())

	latest := store.LatestVersion()
	frozen, err := os.ReadFile(fmt.Sprintf("testdata/schema-v%d.sql", latest))
	if err != nil {
		t.Fatalf("no frozen snapshot of schema version %d: %v (copy schema.sql there when adding a migration)", latest, err)
	}
	if string(frozen) != storetest.Schema(t) {
		t.Fatalf("schema.sql differs from testdata/schema-v%d.sql: add a migration step and a new snapshot instead of editing a released schema", latest)
	}

	for v := 1; v <= latest; v++ {
		t.Run(fmt.Sprintf("from_v%d", v), func(t *testing.T) {
			old, err := os.ReadFile(fmt.Sprintf("testdata/schema-v%d.sql", v))
			if err != nil {
				t.Fatal(err)
			}
			opts := storetest.Options(t)
			raw, err := sql.Open("sqlite", opts.Path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(string(old)); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			s, err := store.Open(context.Background(), opts)
			if err != nil {
				t.Fatalf("migrate from v%d: %v", v, err)
			}
			defer s.Close()
			if got, _ := s.SchemaVersion(context.Background()); got != latest {
				t.Errorf("got version %d after migration, want %d", got, latest)
			}
			got := schemaShape(t, s.Writer())
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("migrated schema from v%d differs from fresh:\ngot:\n%s\nwant:\n%s", v, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestConcurrentWritesNeverBusy guards the DSN choice: deferred transactions fail with
// "database is locked" under concurrent read-then-write; immediate ones queue.
func TestConcurrentWritesNeverBusy(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				errs <- s.InTx(ctx, func(tx *sql.Tx) error {
					var n int
					if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM settings").Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, datetime('now'))", fmt.Sprintf("k%d-%d", g, i), fmt.Sprint(n))
					return err
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write failed: %v", err)
		}
	}
}

func TestInTxRollsBackOnError(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value, updated_at) VALUES ('a', 'b', datetime('now'))"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if _, err := s.GetSetting(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound after rollback", err)
	}
}

func TestEnsureSettingKeepsFirstValue(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	calls := 0
	gen := func() (string, error) { calls++; return fmt.Sprintf("v%d", calls), nil }
	a, err := s.EnsureSetting(ctx, store.SettingSessionKey, gen)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.EnsureSetting(ctx, store.SettingSessionKey, gen)
	if err != nil {
		t.Fatal(err)
	}
	if a != "v1" || b != "v1" || calls != 1 {
		t.Fatalf("got %q, %q after %d generations, want v1 twice after 1", a, b, calls)
	}
}

func TestSizeCountsPages(t *testing.T) {
	s := storetest.Open(t)
	n, err := s.Size(context.Background())
	if err != nil || n <= 0 {
		t.Fatalf("got size %d (%v), want > 0", n, err)
	}
}

// TestSchemaShapeSeesDifferences keeps TestMigratedEqualsFresh honest: the comparison
// must notice a column, an index or a default that one side lacks.
func TestSchemaShapeSeesDifferences(t *testing.T) {
	base := schemaShape(t, storetest.Open(t).Writer())
	for _, change := range []string{
		"ALTER TABLE users ADD COLUMN extra TEXT",
		"CREATE INDEX users_name ON users (name)",
		"DROP INDEX sessions_expires_at",
		"CREATE TABLE more (x INTEGER)",
	} {
		s := storetest.Open(t)
		if _, err := s.Writer().Exec(change); err != nil {
			t.Fatal(err)
		}
		if got := schemaShape(t, s.Writer()); strings.Join(got, "\n") == strings.Join(base, "\n") {
			t.Errorf("schemaShape did not notice %q", change)
		}
	}
}

// perms maps each of SQLite's files for the database at path that exists to its permissions.
func perms(t *testing.T, path string) map[string]os.FileMode {
	t.Helper()
	got := map[string]os.FileMode{}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil {
			got[filepath.Base(p)] = st.Mode().Perm()
		}
	}
	return got
}

// The database holds password hashes, token digests and the cookie key: its file, and the WAL
// and shared-memory files SQLite creates with the main file's mode, are the owner's alone.
func TestOpenCreatesFilesForTheOwnerOnly(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, store.NewUser{Email: "a@example.org", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	got := perms(t, s.Path())
	want := map[string]os.FileMode{"kubestats.db": 0o600, "kubestats.db-wal": 0o600, "kubestats.db-shm": 0o600}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got modes %v, want %v", got, want)
	}
	if n := len(s.Tightened()); n != 0 {
		t.Errorf("a new database reports %d files tightened", n)
	}
}

// A database made by an older version (0644, and its WAL and shared-memory files too while
// another process has it open) is narrowed at open, and Open says which files it narrowed.
func TestOpenNarrowsAnExistingDatabasesModes(t *testing.T) {
	opts := storetest.Options(t)
	ctx := context.Background()
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(opts.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	// Another process with the database open: SQLite gives the WAL and shm files it creates the
	// main file's 0644.
	other, err := sql.Open("sqlite", "file:"+opts.Path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "UPDATE settings SET value = value"); err != nil {
		t.Fatal(err)
	}
	if got := perms(t, opts.Path); len(got) != 3 || got["kubestats.db-wal"] != 0o644 || got["kubestats.db-shm"] != 0o644 {
		t.Fatalf("fixture: modes %v, want the database, its WAL and shm at 0644", got)
	}
	s, err = store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := perms(t, opts.Path)
	want := map[string]os.FileMode{"kubestats.db": 0o600, "kubestats.db-wal": 0o600, "kubestats.db-shm": 0o600}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after open: modes %v, want %v", got, want)
	}
	var tightened []string
	for _, m := range s.Tightened() {
		if m.From != 0o644 || m.To != 0o600 || m.Err != nil {
			t.Errorf("tightened %+v, want 0644 to 0600", m)
		}
		tightened = append(tightened, filepath.Base(m.Path))
	}
	sort.Strings(tightened)
	if strings.Join(tightened, " ") != "kubestats.db kubestats.db-shm kubestats.db-wal" {
		t.Errorf("Tightened names %v, want the database, its WAL and shm", tightened)
	}
}

package storegen_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storegen"
	"github.com/kubestats/kubestats/store/storetest"
)

func fill(t *testing.T, opts storegen.Options) (*store.Store, storegen.Stats) {
	t.Helper()
	ctx := context.Background()
	s, clock, err := storegen.Open(ctx, filepath.Join(t.TempDir(), "gen.db"), storetest.Schema(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	st, err := storegen.Fill(ctx, s, clock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !clock.Now().Equal(opts.Now) {
		t.Errorf("clock ends at %s, want %s", clock.Now(), opts.Now)
	}
	return s, st
}

func count(t *testing.T, s *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	err := s.InTx(context.Background(), func(tx *sql.Tx) error { return tx.QueryRow(query, args...).Scan(&n) })
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestFillSmall checks at small scale that the database holds exactly what Stats says, that
// every repo ends synced at its head, and that the history spans the requested days.
func TestFillSmall(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	opts := storegen.Options{Repos: 20, ResourcesPerRepo: 30, Days: 40, Seed: 7, Now: now}
	s, st := fill(t, opts)
	t.Log(st)

	for _, c := range []struct {
		what  string
		query string
		want  int
	}{
		{"repos", "SELECT count(*) FROM repositories", st.Repos},
		{"resources", "SELECT count(*) FROM resources", st.Resources},
		{"chart usages", "SELECT count(*) FROM chart_usages", st.ChartUsages},
		{"image usages", "SELECT count(*) FROM image_usages", st.ImageUsages},
		{"deprecations", "SELECT count(*) FROM deprecated_usages", st.Deprecations},
		{"events", "SELECT count(*) FROM resource_events", st.Events},
		{"metric rows", "SELECT count(*) FROM repository_metrics", st.MetricRows},
		// Daily refreshes: one row per repo per day, day 0 included.
		{"metric rows per day", "SELECT count(*) FROM repository_metrics", opts.Repos * (opts.Days + 1)},
		{"synced at head", "SELECT count(*) FROM repositories WHERE sync_status = 'success' AND scanned_oid = head_oid", st.Repos},
		{"scan errors (duplicates)", "SELECT count(*) FROM scan_errors", 0},
		{"resources without a body", "SELECT count(*) FROM resources r WHERE NOT EXISTS (SELECT 1 FROM resource_contents c WHERE c.hash = r.content_hash)", 0},
		{"object_count agrees", "SELECT sum(object_count) FROM repositories", st.Resources},
		{"events in the future", "SELECT count(*) FROM resource_events WHERE committed_at > ?", 0},
	} {
		args := []any{}
		if c.what == "events in the future" {
			args = append(args, now)
		}
		if got := count(t, s, c.query, args...); got != c.want {
			t.Errorf("%s: got %d, want %d", c.what, got, c.want)
		}
	}
	if avg := st.Resources / st.Repos; avg < 15 || avg > 45 {
		t.Errorf("average resources per repo %d, want about %d", avg, opts.ResourcesPerRepo)
	}
	// A push may change nothing a scan sees (a shared body), so not every scan leaves an event.
	if n := count(t, s, "SELECT count(DISTINCT commit_oid) FROM resource_events"); n > st.Scans || n < st.Scans*9/10 {
		t.Errorf("events come from %d commits, want about %d scans", n, st.Scans)
	}
	if st.ChartUsages == 0 || st.ImageUsages == 0 || st.Scans <= st.Repos {
		t.Errorf("want charts, images and later pushes: %s", st)
	}
	// Later pushes leave modified/created/deleted/moved events spread over the history.
	if n := count(t, s, "SELECT count(DISTINCT type) FROM resource_events"); n != 4 {
		t.Errorf("event types: got %d, want 4", n)
	}
	if n := count(t, s, "SELECT count(DISTINCT date(committed_at)) FROM resource_events WHERE committed_at >= ?", opts.Start()); n < 15 {
		t.Errorf("events on %d distinct days, want them spread over %d days", n, opts.Days)
	}
	if n := count(t, s, "SELECT count(*) FROM chart_usages WHERE chart = 'app-template'"); n*5 < st.ChartUsages {
		t.Errorf("app-template in %d of %d chart usages, want it the most common", n, st.ChartUsages)
	}

	// Same seed, same data.
	_, again := fill(t, opts)
	st.Duration, again.Duration = 0, 0
	if st != again {
		t.Errorf("not deterministic:\n%s\n%s", st, again)
	}
}

func TestFillRefusesLateClock(t *testing.T) {
	opts := storegen.Options{Repos: 1, Days: 2, Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s, clock, err := storegen.Open(context.Background(), filepath.Join(t.TempDir(), "gen.db"), storetest.Schema(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clock.Advance(time.Hour)
	if _, err := storegen.Fill(context.Background(), s, clock, opts); err == nil {
		t.Fatal("Fill accepted a clock past the start")
	}
}

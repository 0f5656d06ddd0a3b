package store_test

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// queryPlan returns SQLite's plan for q, one "detail" line each, parameters bound to NULL.
func queryPlan(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, make([]any, paramCount(q))...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// paramCount is how many parameters SQLite numbers in q: a ?N is number N, a bare ? the
// largest number so far plus one. The store's statements have no '?' inside literals but skip
// them anyway.
func paramCount(q string) int {
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\'':
			quoted = !quoted
		case quoted || q[i] != '?':
		default:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if k, err := strconv.Atoi(q[i+1 : j]); err == nil {
				n = max(n, k)
			} else {
				n++
			}
			i = j - 1
		}
	}
	return n
}

// smallScans are what a plan may read whole: the totals tables (a row per chart, image, kind or
// API), the list of hidden repositories (liveRepoUsage), the dashboard's narrow index of live
// repositories and its walk of the newest (stopped at its limit), constants, and the results of
// subqueries and CTEs whose own plans are listed (and checked) beside them.
var smallScans = []string{"chart_stats", "chart_version_stats", "chart_source_stats", "deprecation_stats", "image_stats",
	"kind_stats", "CONSTANT ROW",
	// CTEs of the growth statements (fresh releases, a repository's first event), by name and alias.
	"fresh", "f", "first",
	// The dashboard's recent events: the time index walked newest first, stopped at the limit.
	"e USING INDEX resource_events_committed_at"}

// smallRepositoryScans are the indexes of repositories a plan may walk.
var smallRepositoryScans = []string{"USING INDEX repositories_hidden", "USING COVERING INDEX repositories_hidden",
	"USING COVERING INDEX repositories_live", "USING INDEX repositories_live_newest"}

// fullScans returns the steps of a plan that read a table other than smallScans whole.
func fullScans(plan []string) []string {
	var bad []string
	for _, step := range plan {
		target, ok := strings.CutPrefix(strings.TrimSpace(step), "SCAN ")
		if !ok || strings.HasPrefix(target, "(subquery") {
			continue
		}
		small := slices.ContainsFunc(smallScans, func(s string) bool {
			return target == s || strings.HasPrefix(target, s+" ")
		})
		if how, ok := strings.CutPrefix(target, "repositories "); ok {
			small = slices.Contains(smallRepositoryScans, how)
		}
		if !small {
			bad = append(bad, step)
		}
	}
	return bad
}

// TestReadModelPlans explains every statement the community reads and the totals' upkeep run,
// and fails on any that reads chart_usages, resources, deprecated_usages (or any other base
// table) whole: those reads grow with the community, the pages must not.
func TestReadModelPlans(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := storetest.Open(t, func(o *store.Options) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	r := newSyncRepo(t, s, 1)
	applyReleases(t, s, r.ID, "a1", now.AddDate(0, 0, -3),
		release{"cm.yaml", "cert-manager", "cert-manager", "cert-manager", "1.14.0", "HelmRepository", "https://charts.jetstack.io", ""})
	applyFacts(t, s, newSyncRepo(t, s, 2).ID, nil, deprecationFixture[1])
	reads := map[string]func() error{}
	for _, sort := range []string{"repos", "growth", "name"} {
		for _, q := range []string{"", "cert"} {
			reads["ListCharts "+sort+" "+q] = func() error {
				_, err := s.ListCharts(ctx, store.ChartFilter{Sort: sort, Q: q, Page: 1}, 3)
				return err
			}
		}
	}
	reads["GetChart"] = func() error { _, err := s.GetChart(ctx, "cert-manager"); return err }
	for _, f := range []store.DeprecationFilter{{}, {Project: "flux"}, {Status: "removed"}, {Project: "kubernetes", Status: "deprecated"}} {
		reads["ListDeprecatedAPIs "+f.Project+" "+f.Status] = func() error { _, err := s.ListDeprecatedAPIs(ctx, f); return err }
	}
	reads["GetDeprecatedAPI"] = func() error { _, err := s.GetDeprecatedAPI(ctx, "extensions/v1beta1", "Ingress"); return err }
	reads["CommunitySummary"] = func() error { _, err := s.CommunitySummary(ctx, now, 10); return err }

	// What the setup ran is not under test.
	seen := map[string]bool{}
	for _, q := range s.PreparedReads() {
		seen[q] = true
	}
	before := len(seen)
	for name, read := range reads {
		if err := read(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, q := range s.PreparedReads() {
			if seen[q] {
				continue
			}
			seen[q] = true
			plan := queryPlan(t, s.Readers(), q)
			if bad := fullScans(plan); len(bad) > 0 {
				t.Errorf("%s reads a base table whole: %v\nquery: %s\nplan:\n  %s", name, bad, q, strings.Join(plan, "\n  "))
			}
		}
	}
	for _, q := range store.StatsUpkeepQueries() {
		plan := queryPlan(t, s.Writer(), q)
		if bad := fullScans(plan); len(bad) > 0 {
			t.Errorf("stats upkeep reads a base table whole: %v\nquery: %s\nplan:\n  %s", bad, q, strings.Join(plan, "\n  "))
		}
	}
	if len(seen)-before < 8 {
		t.Fatalf("explained %d read statements, want every one the reads ran", len(seen))
	}
}

// TestFullScansSeesABaseTableScan keeps TestReadModelPlans honest.
func TestFullScansSeesABaseTableScan(t *testing.T) {
	s := storetest.Open(t)
	for q, want := range map[string]bool{
		`SELECT chart, count(*) FROM chart_usages GROUP BY chart`:               true,
		`SELECT count(*) FROM resources WHERE name = 'x'`:                       true,
		`SELECT * FROM deprecated_usages d WHERE d.path = 'x'`:                  true,
		`SELECT count(*) FROM repositories`:                                     true,
		`SELECT chart FROM chart_usages WHERE chart = 'x'`:                      false,
		`SELECT chart FROM chart_stats ORDER BY repos DESC, chart LIMIT 10`:     false,
		`SELECT version FROM chart_version_stats WHERE chart = 'x'`:             false,
		`SELECT * FROM (SELECT chart FROM chart_source_stats) WHERE chart > ''`: false,
	} {
		if got := len(fullScans(queryPlan(t, s.Readers(), q))) > 0; got != want {
			t.Errorf("%s: full scan %v, want %v (plan %v)", q, got, want, queryPlan(t, s.Readers(), q))
		}
	}
}

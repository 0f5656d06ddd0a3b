package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
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

// statsTables are every table of totals the write path keeps.
var statsTables = []string{"image_stats", "kind_stats", "chart_stats", "chart_version_stats", "chart_source_stats", "deprecation_stats"}

// dumpTable lists a table's rows in a stable order, one per line.
func dumpTable(t *testing.T, s *store.Store, table string) string {
	t.Helper()
	// table comes from statsTables, never from input.
	rows, err := s.Writer().Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range vals {
			fmt.Fprintf(&b, "%q ", v.String)
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// statsRows dumps every totals table.
func statsRows(t *testing.T, s *store.Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range statsTables {
		fmt.Fprintf(&b, "%s:\n%s\n", table, dumpTable(t, s, table))
	}
	return b.String()
}

// emptyTables lists the tables a statsRows dump shows without rows.
func emptyTables(dump string) []string {
	var out []string
	for _, table := range statsTables {
		if strings.Contains(dump, table+":\n\n") {
			out = append(out, table)
		}
	}
	return out
}

// randomRelease is a release a random scan may deploy.
type randomRelease struct {
	kind, ns, name, chart string
}

// repoFacts is what a random repository deploys besides plain objects, as indexes into the
// test's pools; a scan changes a few of them, like a real push.
type repoFacts struct {
	images   [5]bool
	releases [6]struct {
		on                bool
		version, source   int
		resolved, oldName bool
	}
	deps [4]struct{ on, oldTable bool }
}

// mutate changes one random fact.
func (f *repoFacts) mutate(rng *rand.Rand) {
	// Changes to a release's attributes go to one that is deployed, where they count.
	r := &f.releases[rng.IntN(len(f.releases))]
	for i := range f.releases {
		if j := (i + rng.IntN(len(f.releases))) % len(f.releases); f.releases[j].on {
			r = &f.releases[j]
			break
		}
	}
	d := &f.deps[rng.IntN(len(f.deps))]
	switch rng.IntN(10) {
	case 0:
		i := rng.IntN(len(f.images))
		f.images[i] = !f.images[i]
	case 1, 2:
		i := rng.IntN(len(f.releases))
		f.releases[i].on = !f.releases[i].on
	case 3:
		r.version = rng.IntN(6)
	case 4:
		r.source = rng.IntN(4)
	case 5:
		r.resolved = !r.resolved
	case 6:
		r.oldName = !r.oldName // renamed: a new release of the same chart
	case 7:
		d.on = !d.on
	default:
		d.oldTable = !d.oldTable // the same object as another scanner release's table tells it
	}
}

// TestStatsMatchRebuild drives random scans and repository actions and checks after each
// step that the incrementally kept totals equal a rebuild from scratch, and that they are
// not trivially empty. Scans are committed at random times around the clock, in no order,
// so releases enter and leave the growth window; the clock moves on now and then, and the
// growth refresh the aggregate job runs is applied before the next step.
func TestStatsMatchRebuild(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var repos []store.Repository
	for i := 1; i <= 6; i++ {
		repos = append(repos, newSyncRepo(t, s, i))
	}
	images := []scan.Image{
		img("a.yaml", "docker.io", "library/nginx", "1.27", ""),
		img("a.yaml", "docker.io", "library/nginx", "", "sha256:aaa"),
		img("b.yaml", "ghcr.io", "home-operations/sonarr", "4.0", ""),
		img("c.yaml", "ghcr.io", "home-operations/radarr", "", ""),
		img("d.yaml", "quay.io", "x/y", "1", "sha256:bbb"),
	}
	kinds := [][3]string{{"apps/v1", "Deployment", ""}, {"v1", "ConfigMap", ""}, {"v1", "Namespace", ""}}
	releases := []randomRelease{
		{"HelmRelease", "cert-manager", "cert-manager", "cert-manager"},
		{"HelmRelease", "default", "web", "app-template"},
		{"HelmRelease", "default", "api", "app-template"},
		{"HelmRelease", "media", "web", "app-template"},
		{"HelmRelease", "monitoring", "grafana", "grafana"},
		{"Application", "argocd", "podinfo", "podinfo"},
	}
	versions := []string{"1.0.0", "1.1.0", "v1.1.0", "", "2.0.0-rc.1", ">=1.0.0"}
	// Sources that differ by URL alone and by kind alone.
	sources := [][2]string{{"HelmRepository", "https://charts.example.org"}, {"HelmRepository", "https://mirror.example.org"},
		{"GitRepository", "https://charts.example.org"}, {"helm", ""}}
	deprecations := []scan.Deprecation{depIngress("ing.yaml", "web"), depIngress("ing.yaml", "api"), depHR("hr.yaml", "app"), depPSP("psp.yaml", "restricted")}
	// result turns a repository's facts into a scan; step varies the plain objects.
	result := func(f *repoFacts, step int) *scan.Result {
		res := &scan.Result{Files: 1}
		for i, on := range f.images {
			if on {
				res.Images = append(res.Images, images[i])
			}
		}
		for i, r := range f.releases {
			if !r.on {
				continue
			}
			rel, v, src := releases[i], versions[r.version], sources[r.source]
			if r.oldName {
				rel.name += "-old"
			}
			file := fmt.Sprintf("rel%d.yaml", i)
			apiVersion, tool := "helm.toolkit.fluxcd.io/v2", scan.ToolFlux
			if rel.kind == "Application" {
				apiVersion, tool = "argoproj.io/v1alpha1", scan.ToolArgo
			}
			res.Objects = append(res.Objects, obj(file, apiVersion, rel.kind, rel.ns, rel.name, rel.chart+v))
			c := scan.Chart{File: file, Kind: rel.kind, Name: rel.name, Namespace: rel.ns, Tool: tool,
				Chart: rel.chart, Version: v, SourceKind: src[0], SourceName: "src", SourceURL: src[1]}
			if r.resolved {
				c.ChartURL = src[1] + "/" + rel.chart
			}
			res.Charts = append(res.Charts, c)
		}
		for i, d := range f.deps {
			if !d.on {
				continue
			}
			dp := deprecations[i]
			if d.oldTable {
				dp.RemovedIn = ""
			}
			res.Deprecations = append(res.Deprecations, dp)
		}
		// The plain objects change freely, so a scan with the same facts still writes events.
		for i, k := range kinds {
			for n := range rng.IntN(3) {
				res.Objects = append(res.Objects, obj(fmt.Sprintf("f%d.yaml", i), k[0], k[1], "default", fmt.Sprintf("o%d", n), fmt.Sprintf(`{"n":%d}`, step%3)))
			}
		}
		return res
	}
	actions := []store.RepoAction{store.ActionBlock, store.ActionUnblock, store.ActionDelete, store.ActionRestore, store.ActionApprove}
	facts, earliest := map[int64]*repoFacts{}, map[int64]time.Time{}
	sawGrowth, sawSplit, sawRows := false, false, map[string]bool{}
	// The race detector looks for data races, not wrong totals: fewer steps keep it affordable.
	steps := 300
	if raceEnabled {
		steps = 60
	}
	for step := range steps {
		if step > 0 && step%25 == 0 {
			clock.Advance(time.Duration(5+rng.IntN(20)) * 24 * time.Hour)
			if _, err := s.RefreshChartGrowth(ctx); err != nil {
				t.Fatal(err)
			}
		}
		r := repos[rng.IntN(len(repos))]
		if rng.IntN(4) == 0 {
			a := actions[rng.IntN(len(actions))]
			if err := s.ApplyRepoAction(ctx, r.ID, a); err != nil {
				t.Fatal(err)
			}
		} else if _, err := s.BeginSync(ctx, r.ID); err == nil {
			// Commits up to two months old, in no order.
			at := clock.Now().Add(-time.Duration(rng.IntN(60*24)) * time.Hour)
			f := facts[r.ID]
			switch {
			case f == nil:
				f = &repoFacts{}
				for range 12 {
					f.mutate(rng)
				}
				facts[r.ID] = f
			case rng.IntN(3) == 0:
				// The same facts, often from a force push back to before every earlier commit:
				// only events move, yet the first scan's releases stop being "already there".
				if rng.IntN(2) == 0 {
					at = earliest[r.ID].Add(-time.Duration(1+rng.IntN(5*24)) * time.Hour)
				}
			default:
				for range 1 + rng.IntN(3) {
					f.mutate(rng)
				}
			}
			if e, ok := earliest[r.ID]; !ok || at.Before(e) {
				earliest[r.ID] = at
			}
			if _, err := s.ApplyScan(ctx, r.ID, store.ScanCommit{OID: fmt.Sprintf("%040x", step), CommittedAt: &at, Result: result(f, step)}); err != nil {
				t.Fatal(err)
			}
		}
		kept := statsRows(t, s)
		if err := s.RebuildStats(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := statsRows(t, s); kept != rebuilt {
			t.Fatalf("step %d: kept totals differ from a rebuild:\nkept:\n%s\nrebuilt:\n%s", step, kept, rebuilt)
		}
		for _, table := range statsTables {
			sawRows[table] = sawRows[table] || !slices.Contains(emptyTables(kept), table)
		}
		var n int
		if err := s.Writer().QueryRow(`SELECT count(*) FROM chart_stats WHERE growth > 0`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		sawGrowth = sawGrowth || n > 0
		if err := s.Writer().QueryRow(`SELECT count(DISTINCT scope_status) FROM deprecation_stats
			WHERE api_version = 'extensions/v1beta1' AND scope_status <> ''`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		sawSplit = sawSplit || n == 2
	}
	for _, table := range statsTables {
		if !sawRows[table] {
			t.Errorf("%s was always empty: the test exercised nothing there", table)
		}
	}
	if !sawGrowth || !sawSplit {
		t.Errorf("saw growth %v, saw an API split by status %v: want both exercised", sawGrowth, sawSplit)
	}
}

// TestChartGrowthFollowsTheWindow pins the growth rule: a chart's growth is kept as of the last
// write that touched the chart; when the window slides past an adoption without such a write,
// RefreshChartGrowth (the aggregate job) brings it up to date, and a later write does too.
func TestChartGrowthFollowsTheWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := storetest.NewClock(now)
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	r1, r2 := newSyncRepo(t, s, 1), newSyncRepo(t, s, 2)
	grafana := release{"grafana.yaml", "monitoring", "grafana", "grafana", "8.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""}
	cm := release{"cm.yaml", "cert-manager", "cert-manager", "cert-manager", "1.14.0", "HelmRepository", "https://charts.jetstack.io", ""}
	applyReleases(t, s, r1.ID, "a1", now.AddDate(0, -3, 0), cm)
	applyReleases(t, s, r1.ID, "a2", now.AddDate(0, 0, -2), cm, grafana) // adopted two days ago
	applyReleases(t, s, r2.ID, "b1", now.AddDate(0, 0, -1), grafana)     // a first scan: not growth
	growth := func() int {
		t.Helper()
		page, err := s.ListCharts(ctx, store.ChartFilter{Q: "grafana"}, 1)
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("grafana: %+v %v", page, err)
		}
		return page.Items[0].Growth
	}
	if g := growth(); g != 1 {
		t.Fatalf("growth after the adoption: got %d, want 1", g)
	}
	if n, err := s.RefreshChartGrowth(ctx); err != nil || n != 0 {
		t.Fatalf("refresh with nothing to change: %d changed, %v", n, err)
	}
	clock.Advance(store.GrowthWindow)
	if g := growth(); g != 1 {
		t.Fatalf("growth once the window slid, before any refresh: got %d, want 1 (kept as of the last write)", g)
	}
	if n, err := s.RefreshChartGrowth(ctx); err != nil || n != 1 {
		t.Fatalf("refresh after the window slid: %d changed, %v; want 1", n, err)
	}
	if g := growth(); g != 0 {
		t.Fatalf("growth after the refresh: got %d, want 0", g)
	}

	// A write touching the chart recomputes its growth as of that write.
	applyReleases(t, s, r2.ID, "b2", clock.Now().Add(-time.Hour), grafana,
		release{"grafana2.yaml", "monitoring", "grafana-agent", "grafana", "8.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""})
	if g := growth(); g != 0 {
		t.Fatalf("growth after a second release in a repository that already ran the chart: got %d, want 0", g)
	}
	r3 := newSyncRepo(t, s, 3)
	applyReleases(t, s, r3.ID, "c1", clock.Now().AddDate(0, 0, -20), cm)
	applyReleases(t, s, r3.ID, "c2", clock.Now().Add(-time.Hour), cm, grafana)
	if g := growth(); g != 1 {
		t.Fatalf("growth after a new adoption: got %d, want 1", g)
	}
}

// TestChartGrowthFollowsEventsAlone: growth can move with no chart usage changing. A push that
// goes back in time (a force push to an older commit) gives the repository events older than its
// first scan's, and the releases that scan created are no longer "already there when discovered".
func TestChartGrowthFollowsEventsAlone(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := storetest.Open(t, func(o *store.Options) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	r := newSyncRepo(t, s, 1)
	grafana := release{"grafana.yaml", "monitoring", "grafana", "grafana", "8.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""}
	applyReleases(t, s, r.ID, "a1", now.AddDate(0, 0, -2), grafana)
	page, err := s.ListCharts(ctx, store.ChartFilter{}, 1)
	if err != nil || len(page.Items) != 1 || page.Items[0].Growth != 0 {
		t.Fatalf("after the first scan: got %+v %v, want grafana without growth", page, err)
	}
	// The same release, and a ConfigMap more, in a commit from before the first scan's.
	at := now.AddDate(0, 0, -5)
	res := &scan.Result{Files: 2, Objects: []scan.Object{
		obj(grafana.file, "helm.toolkit.fluxcd.io/v2", "HelmRelease", grafana.ns, grafana.name, grafana.chart+grafana.version+grafana.values),
		obj("cm.yaml", "v1", "ConfigMap", "default", "settings", "x"),
	}, Charts: []scan.Chart{{File: grafana.file, Kind: "HelmRelease", Name: grafana.name, Namespace: grafana.ns, Tool: scan.ToolFlux,
		Chart: grafana.chart, Version: grafana.version, SourceKind: grafana.sourceKind, SourceName: "src", SourceURL: grafana.url,
		ChartURL: grafana.url + "/" + grafana.chart}}}
	if _, err := s.BeginSync(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyScan(ctx, r.ID, store.ScanCommit{OID: "a0", CommittedAt: &at, Result: res}); err != nil {
		t.Fatal(err)
	}
	page, err = s.ListCharts(ctx, store.ChartFilter{}, 1)
	if err != nil || len(page.Items) != 1 || page.Items[0].Growth != 1 {
		t.Fatalf("after a push back in time: got %+v %v, want grafana with growth 1", page, err)
	}
}

// TestMigrationFillsReadModel: upgrading a database with data to schema version 5 fills the
// new totals exactly as the write path would have kept them.
func TestMigrationFillsReadModel(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	opts := storetest.Options(t)
	opts.Now = func() time.Time { return now }
	ctx := context.Background()
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	r1, r2, r3 := newSyncRepo(t, s, 1), newSyncRepo(t, s, 2), newSyncRepo(t, s, 3)
	cm := release{"cm.yaml", "cert-manager", "cert-manager", "cert-manager", "1.14.0", "HelmRepository", "https://charts.jetstack.io", ""}
	graf := release{"grafana.yaml", "monitoring", "grafana", "grafana", "8.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""}
	applyReleases(t, s, r1.ID, "a1", now.AddDate(0, -2, 0), cm)
	applyReleases(t, s, r1.ID, "a2", now.AddDate(0, 0, -3), cm, graf)
	applyReleases(t, s, r2.ID, "b1", now.AddDate(0, 0, -3), release{"cm.yaml", "cm", "cm", "cert-manager", "v1.13.0", "OCIRepository", "oci://x", ""})
	applyFacts(t, s, r3.ID, nil, deprecationFixture[1])
	if err := s.ApplyRepoAction(ctx, r2.ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	kept := statsRows(t, s)
	// Back to version 4: without the tables and indexes version 5 added.
	v4 := objectsOf(t, "testdata/schema-v4.sql")
	for _, o := range objectsNow(t, s.Writer()) {
		if !v4[o[1]] {
			// Names come from sqlite_master, not from input.
			if _, err := s.Writer().Exec("DROP " + o[0] + " " + o[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Writer().Exec("PRAGMA user_version = 4"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != store.LatestVersion() {
		t.Fatalf("got version %d, want %d", v, store.LatestVersion())
	}
	if migrated := statsRows(t, s); migrated != kept {
		t.Fatalf("migrated totals differ from the kept ones:\nmigrated:\n%s\nkept:\n%s", migrated, kept)
	}
	if !strings.Contains(kept, `"grafana" "1" "1" "1" "8.0.0" "1"`) || !strings.Contains(kept, `"extensions/v1beta1" "Ingress" "" ""`) {
		t.Fatalf("fixture: want grafana grown by one and the ingress API in the totals:\n%s", kept)
	}
}

// objectsNow lists the (type, name) of a database's tables and indexes.
func objectsNow(t *testing.T, db *sql.DB) [][2]string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%'
		AND name NOT LIKE 'repositories_fts_%' ORDER BY type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var o [2]string
		if err := rows.Scan(&o[0], &o[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// objectsOf names the tables and indexes a frozen schema creates.
func objectsOf(t *testing.T, schemaFile string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "frozen.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(b)); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, o := range objectsNow(t, db) {
		out[o[1]] = true
	}
	return out
}

package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storegen"
	"github.com/kubestats/kubestats/store/storetest"
)

// benchCommunityStore opens the community benchmarks' database. KUBESTATS_BENCH_DB names an
// existing database (a copy is migrated and used, the file itself is left alone), e.g. the load
// test's 5,000 repositories from make load-db; otherwise storegen fills KUBESTATS_BENCH_REPOS
// repositories (300 by default, which keeps make bench within a minute or so).
func benchCommunityStore(b *testing.B) (*store.Store, *storetest.Clock) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	if src := os.Getenv("KUBESTATS_BENCH_DB"); src != "" {
		if err := storetest.CopyFile(src, path); err != nil {
			b.Fatal(err)
		}
		// The database's own "now": its last detection, as its generator's clock ended there.
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			b.Fatal(err)
		}
		var last string
		err = raw.QueryRow(`SELECT max(detected_at) FROM resource_events`).Scan(&last)
		raw.Close()
		if err != nil {
			b.Fatal(err)
		}
		at, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", last)
		if err != nil {
			b.Fatal(err)
		}
		clock := storetest.NewClock(at)
		p := storetest.FastPasswords
		began := time.Now()
		s, err := store.Open(ctx, store.Options{Path: path, Schema: storetest.Schema(b), Now: clock.Now, PasswordParams: &p})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("opened %s (migrations included) in %s", src, time.Since(began).Round(time.Millisecond))
		b.Cleanup(func() { s.Close() })
		return s, clock
	}
	repos := 300
	if v, err := strconv.Atoi(os.Getenv("KUBESTATS_BENCH_REPOS")); err == nil && v > 0 {
		repos = v
	}
	opts := storegen.Options{Repos: repos, ResourcesPerRepo: 100, Days: 60, MetricsEvery: 30, Seed: 1,
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, clock, err := storegen.Open(ctx, path, storetest.Schema(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	st, err := storegen.Fill(ctx, s, clock, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("bench database: %s", st)
	return s, clock
}

// benchScan is a typical repository's scan: a hundred objects, releases of the most used charts
// and a few images. version changes the app-template releases (a Renovate bump).
func benchScan(version string) *scan.Result {
	res := &scan.Result{Files: 100}
	for i := range 94 {
		res.Objects = append(res.Objects, obj(fmt.Sprintf("apps/cm%d.yaml", i), "v1", "ConfigMap", "default", fmt.Sprintf("cm%d", i), "x"))
	}
	charts := []struct{ name, chart, version, url string }{
		{"web", "app-template", version, "oci://ghcr.io/bjw-s/helm"},
		{"api", "app-template", version, "oci://ghcr.io/bjw-s/helm"},
		{"db", "app-template", version, "oci://ghcr.io/bjw-s/helm"},
		{"cert-manager", "cert-manager", "v1.16.1", "https://charts.jetstack.io"},
		{"kps", "kube-prometheus-stack", "66.2.1", "oci://ghcr.io/prometheus-community/charts"},
		{"grafana", "grafana", "8.6.0", "https://grafana.github.io/helm-charts"},
	}
	for _, c := range charts {
		file := "apps/" + c.name + ".yaml"
		res.Objects = append(res.Objects, obj(file, "helm.toolkit.fluxcd.io/v2", "HelmRelease", "default", c.name, c.chart+c.version))
		res.Charts = append(res.Charts, scan.Chart{File: file, Kind: "HelmRelease", Name: c.name, Namespace: "default", Tool: scan.ToolFlux,
			Chart: c.chart, Version: c.version, SourceKind: "HelmRepository", SourceName: "src", SourceURL: c.url, ChartURL: c.url + "/" + c.chart})
		res.Images = append(res.Images, img(file, "ghcr.io", "home-operations/"+c.name, "1.0", ""))
	}
	res.Deprecations = append(res.Deprecations, depIngress("apps/cm0.yaml", "cm0"))
	return res
}

// BenchmarkCommunity measures the store reads behind the community pages and what a scan pays
// to keep them current, on one generated database.
func BenchmarkCommunity(b *testing.B) {
	s, clock := benchCommunityStore(b)
	ctx := context.Background()
	reads := []struct {
		name string
		fn   func() error
	}{
		{"ListCharts", func() error { _, err := s.ListCharts(ctx, store.ChartFilter{}, 3); return err }},
		{"ListChartsGrowth", func() error { _, err := s.ListCharts(ctx, store.ChartFilter{Sort: "growth"}, 3); return err }},
		{"ListChartsQuery", func() error { _, err := s.ListCharts(ctx, store.ChartFilter{Q: "prom"}, 3); return err }},
		{"GetChartTop", func() error { _, err := s.GetChart(ctx, "app-template"); return err }},
		{"GetChartTail", func() error { _, err := s.GetChart(ctx, "grafana"); return err }},
		{"ListDeprecatedAPIs", func() error { _, err := s.ListDeprecatedAPIs(ctx, store.DeprecationFilter{}); return err }},
		{"ListDeprecatedAPIsRemoved", func() error {
			_, err := s.ListDeprecatedAPIs(ctx, store.DeprecationFilter{Status: "removed"})
			return err
		}},
		{"CommunitySummary", func() error { _, err := s.CommunitySummary(ctx, clock.Now(), 10); return err }},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if err := r.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{repoData(900001)}, 0); err != nil {
		b.Fatal(err)
	}
	r, err := s.GetRepositoryByName(ctx, "owner900001", "home-ops")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.BeginSync(ctx, r.ID); err != nil {
		b.Fatal(err)
	}
	n := 0
	scanOnce := func(res *scan.Result) {
		n++
		at := clock.Now()
		if _, err := s.ApplyScan(ctx, r.ID, store.ScanCommit{OID: fmt.Sprintf("%040x", n), CommittedAt: &at, Result: res}); err != nil {
			b.Fatal(err)
		}
	}
	// A scan that bumps the most used chart in every iteration, and one that finds what the last found.
	bumps := []*scan.Result{benchScan("3.5.0"), benchScan("3.5.1")}
	b.Run("ApplyScanBump", func(b *testing.B) {
		scanOnce(bumps[1]) // the repository's first scan adds to every key it uses: not what is measured
		for b.Loop() {
			scanOnce(bumps[n%2])
		}
	})
	b.Run("ApplyScanUnchanged", func(b *testing.B) {
		same := benchScan("3.6.0")
		scanOnce(same)
		for b.Loop() {
			scanOnce(same)
		}
	})
}

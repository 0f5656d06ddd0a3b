package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// TestCommunitySummaryCountsLiveRepositories: the dashboard's figures cover live repositories
// only (a blocked or deleted one's last scan counts nowhere), and its lists come in order.
func TestCommunitySummaryCountsLiveRepositories(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := storetest.NewClock(now)
	s := storetest.Open(t, func(o *store.Options) { o.Now = clock.Now })
	ctx := context.Background()
	cm := release{"cm.yaml", "cert-manager", "cert-manager", "cert-manager", "1.14.0", "HelmRepository", "https://charts.jetstack.io", ""}
	graf := release{"grafana.yaml", "monitoring", "grafana", "grafana", "8.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""}
	only := release{"x.yaml", "x", "x", "only-hidden", "1.0.0", "HelmRepository", "https://x", ""}
	var repos []store.Repository
	for i := 1; i <= 5; i++ {
		repos = append(repos, newSyncRepo(t, s, i))
		clock.Advance(time.Minute)
	}
	applyReleases(t, s, repos[0].ID, "a", now.AddDate(0, 0, -30), cm, graf) // events before the week
	applyReleases(t, s, repos[1].ID, "b", now.AddDate(0, 0, -2), cm)
	applyReleases(t, s, repos[2].ID, "c", now.AddDate(0, 0, -1), cm, only) // blocked below
	applyReleases(t, s, repos[3].ID, "d", now.AddDate(0, 0, -1), only)     // deleted below
	// Repository 5 is live but never scanned.
	if _, err := s.BeginSync(ctx, repos[1].ID); err != nil {
		t.Fatal(err)
	}
	at := now.AddDate(0, 0, -1)
	res := &scan.Result{Files: 1, Images: []scan.Image{img("a.yaml", "docker.io", "library/nginx", "1.27", "")},
		Objects: []scan.Object{obj("cm.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", cm.ns, cm.name, cm.chart+cm.version+cm.values),
			obj("a.yaml", "apps/v1", "Deployment", "default", "web", "x")},
		Charts: []scan.Chart{{File: cm.file, Kind: "HelmRelease", Name: cm.name, Namespace: cm.ns, Tool: scan.ToolFlux, Chart: cm.chart,
			Version: cm.version, SourceKind: cm.sourceKind, SourceName: "src", SourceURL: cm.url}}}
	if _, err := s.ApplyScan(ctx, repos[1].ID, store.ScanCommit{OID: "b2", CommittedAt: &at, Result: res}); err != nil {
		t.Fatal(err)
	}
	for id, a := range map[int64]store.RepoAction{repos[2].ID: store.ActionBlock, repos[3].ID: store.ActionDelete} {
		if err := s.ApplyRepoAction(ctx, id, a); err != nil {
			t.Fatal(err)
		}
	}

	c, err := s.CommunitySummary(ctx, clock.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	// Live: repositories 1, 2 and 5; scanned: 1 and 2; objects: 2 + 2; charts: cert-manager and
	// grafana; images: nginx; events this week: repository 2's created HelmRelease and the
	// Deployment of its second scan.
	got := fmt.Sprintf("repos=%d scanned=%d resources=%d charts=%d images=%d events=%d top=%v",
		c.Repos, c.ScannedRepos, c.Resources, c.Charts, c.Images, c.EventsWeek, c.TopCharts)
	want := "repos=3 scanned=2 resources=4 charts=2 images=1 events=2 top=[{cert-manager 2} {grafana 1}]"
	if got != want {
		t.Errorf("summary:\n got %s\nwant %s", got, want)
	}
	var newest []string
	for _, r := range c.Newest {
		newest = append(newest, r.Owner)
	}
	if fmt.Sprint(newest) != "[owner5 owner2 owner1]" {
		t.Errorf("newest: got %v, want owner5 owner2 owner1 (hidden ones left out)", newest)
	}
	for _, e := range c.Recent {
		if e.Owner != "owner1" && e.Owner != "owner2" {
			t.Errorf("recent event of a hidden repository: %+v", e)
		}
	}

	// A repository that comes back counts again, at once.
	if err := s.ApplyRepoAction(ctx, repos[2].ID, store.ActionUnblock); err != nil {
		t.Fatal(err)
	}
	c, err = s.CommunitySummary(ctx, clock.Now(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Repos != 4 || c.Charts != 3 || fmt.Sprint(c.TopCharts) != "[{cert-manager 3}]" || len(c.Newest) != 1 {
		t.Errorf("after unblocking: repos=%d charts=%d top=%v newest=%d, want 4, 3, [{cert-manager 3}], 1", c.Repos, c.Charts, c.TopCharts, len(c.Newest))
	}
}

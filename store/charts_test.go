package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// release is a chart deployed by a HelmRelease: the object (for events) and the chart usage.
type release struct {
	file, ns, name, chart, version, sourceKind, url, values string
}

func applyReleases(t *testing.T, s *store.Store, id int64, oid string, at time.Time, rels ...release) {
	t.Helper()
	ctx := context.Background()
	res := &scan.Result{Files: len(rels)}
	for _, r := range rels {
		res.Objects = append(res.Objects, obj(r.file, "helm.toolkit.fluxcd.io/v2", "HelmRelease", r.ns, r.name, r.chart+r.version+r.values))
		c := scan.Chart{File: r.file, Kind: "HelmRelease", Name: r.name, Namespace: r.ns, Tool: scan.ToolFlux, Chart: r.chart,
			Version: r.version, SourceKind: r.sourceKind, SourceName: "src", SourceURL: r.url, ChartURL: r.url + "/" + r.chart}
		if r.values != "" {
			c.Values = json.RawMessage(r.values)
		}
		res.Charts = append(res.Charts, c)
	}
	if _, err := s.BeginSync(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyScan(ctx, id, store.ScanCommit{OID: oid, CommittedAt: &at, Result: res}); err != nil {
		t.Fatal(err)
	}
}

func TestChartAggregates(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := storetest.NewClock(now)
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	old := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	recent := now.AddDate(0, 0, -5)
	const jetstack = "https://charts.jetstack.io"
	cm := func(file, version, values string) release {
		return release{file, "cert-manager", "cert-manager", "cert-manager", version, "HelmRepository", jetstack, values}
	}
	at := func(file, version, values string) release {
		return release{file, "default", "app-" + file, "app-template", version, "OCIRepository", "oci://ghcr.io/bjw-s/helm", values}
	}
	r1, r2, r3, r4, r5 := newSyncRepo(t, s, 1), newSyncRepo(t, s, 2), newSyncRepo(t, s, 3), newSyncRepo(t, s, 4), newSyncRepo(t, s, 5)
	applyReleases(t, s, r1.ID, "a1", old,
		cm("cm.yaml", "1.14.0", `{"installCRDs":true,"token":"[redacted]"}`),
		at("web.yaml", "3.0.0", `{"controllers":{"app":{"containers":{"app":{"image":{"tag":"1.0"}}}}},"args":["a","b"]}`),
		at("api.yaml", "3.0.0", `{"controllers":{"app":{"containers":{"app":{"image":{"tag":"2.0"}}}}}}`))
	applyReleases(t, s, r2.ID, "a2", old, cm("cm.yaml", "1.14.0", `{"installCRDs":true,"token":"[redacted]"}`),
		at("web.yaml", "2.0.0", ""))
	// Repository 2 adds grafana in a later push within the window: growth.
	applyReleases(t, s, r2.ID, "a2b", recent, cm("cm.yaml", "1.14.0", `{"installCRDs":true,"token":"[redacted]"}`),
		at("web.yaml", "2.0.0", ""), release{"grafana.yaml", "monitoring", "grafana", "grafana", "8.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""})
	// Repository 3 is discovered recently and already runs grafana: its first scan is not growth.
	applyReleases(t, s, r3.ID, "a3", recent, cm("cm.yaml", "v1.13.2", `{"installCRDs":false}`),
		release{"grafana.yaml", "monitoring", "grafana", "grafana", "7.0.0", "HelmRepository", "https://grafana.github.io/helm-charts", ""})
	// Repository 4 is blocked and 5 deleted: their charts count nowhere.
	applyReleases(t, s, r4.ID, "a4", old, cm("cm.yaml", "9.9.9", `{"installCRDs":"blocked"}`))
	applyReleases(t, s, r5.ID, "a5", old, release{"x.yaml", "x", "x", "only-deleted", "1.0.0", "HelmRepository", "https://x", ""})
	for id, a := range map[int64]store.RepoAction{r4.ID: store.ActionBlock, r5.ID: store.ActionDelete} {
		if err := s.ApplyRepoAction(ctx, id, a); err != nil {
			t.Fatal(err)
		}
	}

	page, err := s.ListCharts(ctx, store.ChartFilter{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range page.Items {
		got = append(got, c.Chart)
	}
	if want := []string{"cert-manager", "app-template", "grafana"}; !slices.Equal(got, want) || page.Total != 3 {
		t.Fatalf("charts by repos: got %v (total %d), want %v", got, page.Total, want)
	}
	first := page.Items[0]
	if first.Repos != 3 || first.Releases != 3 || first.Newest != "1.14.0" || first.Versions != 2 || first.Growth != 0 {
		t.Errorf("cert-manager summary: got %+v", first)
	}
	if len(first.Sources) != 1 || first.Sources[0].URL != jetstack+"/cert-manager" || first.Sources[0].Repos != 3 {
		t.Errorf("cert-manager sources: got %+v", first.Sources)
	}
	if at := page.Items[1]; at.Repos != 2 || at.Releases != 3 || at.Newest != "3.0.0" {
		t.Errorf("app-template summary: got %+v", at)
	}
	if g := page.Items[2]; g.Growth != 1 || g.Repos != 2 {
		t.Errorf("grafana growth: got %d of %d repos, want 1 of 2 (only repository 2 added it after its first scan)", g.Growth, g.Repos)
	}

	page, err = s.ListCharts(ctx, store.ChartFilter{Sort: "growth", PerPage: 1}, 3)
	if err != nil || len(page.Items) != 1 || page.Items[0].Chart != "grafana" || page.Total != 3 {
		t.Fatalf("growth sort, one per page: got %+v %v", page, err)
	}
	page, err = s.ListCharts(ctx, store.ChartFilter{Q: "TEMPL"}, 3)
	if err != nil || len(page.Items) != 1 || page.Items[0].Chart != "app-template" {
		t.Fatalf("search: got %+v %v", page, err)
	}
	page, err = s.ListCharts(ctx, store.ChartFilter{Q: "%"}, 3)
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("search for a LIKE wildcard matched: got %+v %v", page, err)
	}
	page, err = s.ListCharts(ctx, store.ChartFilter{Page: 9}, 3)
	if err != nil || len(page.Items) != 0 || page.Total != 3 {
		t.Fatalf("past the last page: got %+v %v", page, err)
	}

	if _, err := s.GetChart(ctx, "only-deleted"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("chart of a deleted repository only: got %v, want ErrNotFound", err)
	}
	o, err := s.GetChart(ctx, "cert-manager")
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, v := range o.VersionList {
		versions = append(versions, v.Version+"="+strconv.Itoa(v.Repos))
	}
	if want := []string{"1.14.0=2", "v1.13.2=1"}; !slices.Equal(versions, want) || o.Newest != "1.14.0" || o.NewestRepos != 2 {
		t.Errorf("versions: got %v newest %s (%d), want %v", versions, o.Newest, o.NewestRepos, want)
	}

	repos, err := s.ChartRepos(ctx, "cert-manager", store.ChartRepoFilter{}, o.VersionList)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range repos.Items {
		names = append(names, r.Repo.Owner+"@"+r.Version)
	}
	if want := []string{"owner3@v1.13.2", "owner2@1.14.0", "owner1@1.14.0"}; !slices.Equal(names, want) || repos.Total != 3 {
		t.Errorf("repos by stars: got %v (total %d), want %v", names, repos.Total, want)
	}
	repos, err = s.ChartRepos(ctx, "cert-manager", store.ChartRepoFilter{Sort: "version", PerPage: 2, Page: 1}, o.VersionList)
	names = names[:0]
	for _, r := range repos.Items {
		names = append(names, r.Repo.Owner)
	}
	if want := []string{"owner2", "owner1"}; err != nil || !slices.Equal(names, want) || repos.Total != 3 {
		t.Errorf("repos by version: got %v (total %d) %v, want %v", names, repos.Total, err, want)
	}
	at2, _ := s.ChartRepos(ctx, "app-template", store.ChartRepoFilter{Sort: "name"}, nil)
	if len(at2.Items) != 2 || at2.Items[0].Releases != 2 || at2.Items[0].Path != "api.yaml" || at2.Items[0].Repo.ScannedOID != "a1" {
		t.Errorf("app-template in owner1: got %+v", at2.Items)
	}

	months, unknown, err := s.ChartAdoption(ctx, "cert-manager")
	if err != nil || unknown != 0 || len(months) != 2 || months[0].New != 2 || months[1].Total != 3 ||
		!months[0].Month.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("adoption: got %+v unknown %d %v", months, unknown, err)
	}

	keys, err := s.ChartValuesKeys(ctx, "cert-manager", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Path != "installCRDs" || keys[0].Repos != 3 || keys[1].Path != "token" || keys[1].Repos != 2 {
		t.Fatalf("values keys: got %+v", keys)
	}
	if top := keys[0].Top; len(top) != 2 || top[0].Value != "1" || top[0].Type != "true" || top[0].Repos != 2 || top[1].Type != "false" {
		t.Errorf("installCRDs values: got %+v", top)
	}
	if len(keys[1].Top) != 0 {
		t.Errorf("redacted values returned: %+v", keys[1].Top)
	}
	keys, _ = s.ChartValuesKeys(ctx, "app-template", 50)
	var paths []string
	for _, k := range keys {
		paths = append(paths, k.Path)
	}
	if want := []string{"args", "controllers.app.containers.app.image.tag"}; !slices.Equal(paths, want) {
		t.Errorf("app-template keys: got %v, want %v", paths, want)
	}

	also, err := s.ChartsAlsoUsed(ctx, "cert-manager", 15)
	if err != nil || len(also) != 2 || also[0] != (store.ChartCount{Chart: "app-template", Repos: 2}) || also[1].Chart != "grafana" {
		t.Errorf("also used: got %+v %v", also, err)
	}
}

func TestCompareVersions(t *testing.T) {
	ordered := []string{"", "4.x", ">=1.0.0", "main", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "v1.0.0", "1.2", "1.10.0", "10.0.0"}
	for i := range ordered {
		for j := range ordered {
			got := store.CompareVersions(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if (got < 0) != (want < 0) || (got > 0) != (want > 0) {
				t.Errorf("CompareVersions(%q, %q) = %d, want sign %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

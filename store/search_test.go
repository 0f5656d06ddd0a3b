package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want store.SearchQuery
	}{
		{"", store.SearchQuery{}},
		{"   ", store.SearchQuery{}},
		{"nginx", store.SearchQuery{Term: "nginx"}},
		{"  cert manager  ", store.SearchQuery{Term: "cert manager"}},
		{"image nginx", store.SearchQuery{Scope: store.ScopeImages, Term: "nginx"}},
		{"Images  ghcr.io/x", store.SearchQuery{Scope: store.ScopeImages, Term: "ghcr.io/x"}},
		{"chart cert-manager", store.SearchQuery{Scope: store.ScopeCharts, Term: "cert-manager"}},
		{"HELM cert", store.SearchQuery{Scope: store.ScopeCharts, Term: "cert"}},
		{"helm\tcert", store.SearchQuery{Scope: store.ScopeCharts, Term: "cert"}},
		{"repo home ops", store.SearchQuery{Scope: store.ScopeRepos, Term: "home ops"}},
		{"repositories x", store.SearchQuery{Scope: store.ScopeRepos, Term: "x"}},
		// A prefix word alone is a search for that word.
		{"helm", store.SearchQuery{Term: "helm"}},
		{"image ", store.SearchQuery{Term: "image"}},
		// Not a prefix: only whole first words count.
		{"imagepull", store.SearchQuery{Term: "imagepull"}},
		{"helmfile x", store.SearchQuery{Term: "helmfile x"}},
	} {
		if got := store.ParseSearch(tc.in); got != tc.want {
			t.Errorf("ParseSearch(%q): got %+v, want %+v", tc.in, got, tc.want)
		}
	}
	long := store.ParseSearch(strings.Repeat("é", 300))
	if len(long.Term) > 200 || !strings.HasPrefix(strings.Repeat("é", 300), long.Term) || long.Term == "" {
		t.Errorf("long term: got %d bytes, want at most 200 whole characters", len(long.Term))
	}
}

// seedSearch: five repositories (stars = their number) whose scans found the given charts
// and images; the fourth is then blocked and the fifth deleted.
func seedSearch(t *testing.T) *store.Store {
	t.Helper()
	s := storetest.Open(t)
	ctx := context.Background()
	charts := map[int][]string{
		1: {"cert-manager", "app-template"},
		2: {"cert-manager", "mychart_x"},
		3: {"cert-manager", "app-template", "my%chart"},
		4: {"cert-manager", "app-template", "certain-blocked-only"},
		5: {"zzz-cert"},
	}
	images := map[int][]scan.Image{
		1: {img("a.yaml", "docker.io", "library/nginx", "1", ""), img("a.yaml", "ghcr.io", "onedr0p/sonarr", "1", "")},
		2: {img("a.yaml", "docker.io", "library/nginx", "2", ""), img("b.yaml", "docker.io", "library/nginx", "3", ""),
			img("a.yaml", "ghcr.io", "a/b_c", "1", "")},
		3: {img("a.yaml", "docker.io", "library/nginx", "1", ""), img("a.yaml", "ghcr.io", "x/y%z", "1", "")},
		4: {img("a.yaml", "docker.io", "library/nginx", "1", ""), img("a.yaml", "quay.io", "blocked/only", "1", "")},
		5: {img("a.yaml", "quay.io", "deleted/img", "1", "")},
	}
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var ids []int64
	for i := 1; i <= 5; i++ {
		r := newSyncRepo(t, s, i)
		ids = append(ids, r.ID)
		res := &scan.Result{Files: 1, Images: images[i]}
		for j, c := range charts[i] {
			res.Charts = append(res.Charts, scan.Chart{File: fmt.Sprintf("hr%d.yaml", j), Kind: "HelmRelease", Name: c,
				Namespace: "default", Tool: scan.ToolFlux, Chart: c, Version: "1.0.0", SourceKind: "HelmRepository"})
		}
		if _, err := s.BeginSync(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyScan(ctx, r.ID, store.ScanCommit{OID: fmt.Sprintf("%040x", r.ID), CommittedAt: &at, Result: res}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ApplyRepoAction(ctx, ids[3], store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyRepoAction(ctx, ids[4], store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	return s
}

func repoNames(h []store.RepoHit) string {
	var out []string
	for _, r := range h {
		s := r.FullName() + fmt.Sprintf(":%d", r.Stars)
		if r.Blocked {
			s += "(blocked)"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func chartNames(h []store.ChartHit) string {
	var out []string
	for _, c := range h {
		out = append(out, fmt.Sprintf("%s:%d", c.Chart, c.Repos))
	}
	return strings.Join(out, " ")
}

func imageNames(h []store.ImageHit) string {
	var out []string
	for _, m := range h {
		out = append(out, fmt.Sprintf("%s:%d/%d", m.Name(), m.Repos, m.Usages))
	}
	return strings.Join(out, " ")
}

func TestSearchRepositories(t *testing.T) {
	s := seedSearch(t)
	ctx := context.Background()
	for _, tc := range []struct {
		term      string
		opts      store.SearchOptions
		want      string
		wantTotal int
	}{
		// Most stars first; the blocked (4) and deleted (5) repositories are not found.
		{"home", store.SearchOptions{}, "owner3/home-ops:3 owner2/home-ops:2 owner1/home-ops:1", 3},
		{"HOME-ops", store.SearchOptions{Limit: 2}, "owner3/home-ops:3 owner2/home-ops:2", 3},
		// Superusers also find blocked ones, never deleted ones.
		{"home", store.SearchOptions{IncludeBlocked: true}, "owner4/home-ops:4(blocked) owner3/home-ops:3 owner2/home-ops:2 owner1/home-ops:1", 4},
		{"owner2", store.SearchOptions{}, "owner2/home-ops:2", 1},
		{"owner5", store.SearchOptions{IncludeBlocked: true}, "", 0},
		{"flux cluster", store.SearchOptions{Limit: 1}, "owner3/home-ops:3", 3}, // description words, each a prefix
		{"flux clust", store.SearchOptions{Limit: 1, IncludeBlocked: true}, "owner4/home-ops:4(blocked)", 4},
		// FTS syntax in the input is plain text.
		{`"home" OR NOT*`, store.SearchOptions{}, "", 0},
		{`%`, store.SearchOptions{}, "", 0},
		{`nothing-like-it`, store.SearchOptions{}, "", 0},
	} {
		tc.opts.Totals = true
		got, total, err := s.SearchRepositories(ctx, tc.term, tc.opts)
		if err != nil {
			t.Fatalf("%q: %v", tc.term, err)
		}
		if repoNames(got) != tc.want || total != tc.wantTotal {
			t.Errorf("%q %+v: got %q (total %d), want %q (total %d)", tc.term, tc.opts, repoNames(got), total, tc.want, tc.wantTotal)
		}
	}
}

func TestSearchCharts(t *testing.T) {
	s := seedSearch(t)
	// Live repositories only: 4 is blocked, 5 deleted, so their charts count nowhere and
	// charts only they use are not found at all.
	for _, tc := range []struct {
		term      string
		limit     int
		want      string
		wantTotal int
	}{
		{"cert", 0, "cert-manager:3", 1},
		{"CERT-man", 0, "cert-manager:3", 1},
		{"a", 0, "cert-manager:3 app-template:2 my%chart:1 mychart_x:1", 4},
		{"a", 2, "cert-manager:3 app-template:2", 4},
		// Wildcard characters match only themselves.
		{"_", 0, "mychart_x:1", 1},
		{"%", 0, "my%chart:1", 1},
		{`\`, 0, "", 0},
		{"blocked", 0, "", 0},
		{" ", 0, "", 0},
	} {
		got, total, err := s.SearchCharts(context.Background(), tc.term, tc.limit)
		if err != nil {
			t.Fatalf("%q: %v", tc.term, err)
		}
		if chartNames(got) != tc.want || total != tc.wantTotal {
			t.Errorf("%q: got %q (total %d), want %q (total %d)", tc.term, chartNames(got), total, tc.want, tc.wantTotal)
		}
	}
}

func TestSearchImages(t *testing.T) {
	s := seedSearch(t)
	ctx := context.Background()
	for _, tc := range []struct {
		term      string
		limit     int
		want      string
		wantTotal int
	}{
		{"nginx", 0, "docker.io/library/nginx:3/4", 1},
		{"DOCKER.IO/lib", 0, "docker.io/library/nginx:3/4", 1},
		// Most repositories first, then most usages, then name.
		{"o", 0, "docker.io/library/nginx:3/4 ghcr.io/a/b_c:1/1 ghcr.io/onedr0p/sonarr:1/1 ghcr.io/x/y%z:1/1", 4},
		{"o", 1, "docker.io/library/nginx:3/4", 4},
		{"_", 0, "ghcr.io/a/b_c:1/1", 1},
		{"%", 0, "ghcr.io/x/y%z:1/1", 1},
		// Only blocked or deleted repositories use it.
		{"quay", 0, "", 0},
	} {
		got, total, err := s.SearchImages(ctx, tc.term, tc.limit)
		if err != nil {
			t.Fatalf("%q: %v", tc.term, err)
		}
		if imageNames(got) != tc.want || total != tc.wantTotal {
			t.Errorf("%q: got %q (total %d), want %q (total %d)", tc.term, imageNames(got), total, tc.want, tc.wantTotal)
		}
	}
}

func TestSearchScopes(t *testing.T) {
	s := seedSearch(t)
	ctx := context.Background()
	for _, tc := range []struct {
		in                    string
		repos, charts, images int
	}{
		{"a", 3, 4, 3}, // the topic word "at"; every live chart; images but ghcr.io/x/y%z
		{"repo a", 3, 0, 0},
		{"chart a", 0, 4, 0},
		{"helm a", 0, 4, 0},
		{"image a", 0, 0, 3},
		{"", 0, 0, 0},
		{"image   ", 0, 0, 0}, // "image" alone: a plain search that finds nothing
	} {
		res, err := s.Search(ctx, store.ParseSearch(tc.in), store.SearchOptions{Limit: 5})
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if res.ReposTotal != tc.repos || res.ChartsTotal != tc.charts || res.ImagesTotal != tc.images {
			t.Errorf("%q: got %d repos, %d charts, %d images; want %d, %d, %d", tc.in,
				res.ReposTotal, res.ChartsTotal, res.ImagesTotal, tc.repos, tc.charts, tc.images)
		}
		if res.Count() != len(res.Repos)+len(res.Charts)+len(res.Images) {
			t.Errorf("%q: Count %d", tc.in, res.Count())
		}
	}
}

// BenchmarkSearchLoadDB times one uncached suggestion search (all three sections, the chart
// ranking given as the handlers keep it) and the ranking itself on a copy of a large database:
// KUBESTATS_SEARCH_DB=/tmp/search.db go test -run x -bench SearchLoadDB ./store
// (the copy is migrated in place; never point it at a database you care about).
func BenchmarkSearchLoadDB(b *testing.B) {
	path := os.Getenv("KUBESTATS_SEARCH_DB")
	if path == "" {
		b.Skip("KUBESTATS_SEARCH_DB not set")
	}
	opts := storetest.Options(b)
	opts.Path = path
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, term := range []string{"a", "cert", "home", "nginx", "image ghcr", "zzzz"} {
		for _, totals := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/totals=%v", term, totals), func(b *testing.B) {
				q := store.ParseSearch(term)
				for b.Loop() {
					if _, err := s.Search(ctx, q, store.SearchOptions{Limit: 5, Totals: totals}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func TestSearchRepositoriesWithoutTotals(t *testing.T) {
	s := seedSearch(t)
	got, total, err := s.SearchRepositories(context.Background(), "home", store.SearchOptions{Limit: 2})
	if err != nil || len(got) != 2 || total != 2 {
		t.Fatalf("got %d hits, total %d, err %v; want 2, 2 (the number returned), nil", len(got), total, err)
	}
}

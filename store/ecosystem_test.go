package store_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

// ecoHistory builds four days of history, each change stamped by the clock on its day:
//
//	Nov 1 10:00 repo1 (Shell, 1 star) and repo3 (Shell, 3 stars) found; 11:00 repo1's first
//	            scan (commit Nov 1 09:00): Deployment, Service, HelmRelease
//	Nov 2 10:00 repo2 (Go, 2 stars) found; repo1 refreshed to 10 stars, 3 forks
//	      12:00 repo1 scanned at a commit of Nov 2 09:00: Deployment edited, Service deleted,
//	            ConfigMap created
//	Nov 3 10:00 repo3 went gone
//	Nov 4 10:00 repo1 deleted by an admin; repo2 refreshed to 50 stars
func ecoHistory(t *testing.T) (*store.Store, *storetest.Clock) {
	t.Helper()
	c := storetest.NewClock(day(1).Add(10 * time.Hour))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	r1, r2, r3 := repoData(1), repoData(2), repoData(3)
	r2.Language, r2.Topics = "Go", []string{"k8s-at-home", "argocd"}
	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{r1, r3}, 0); err != nil {
		t.Fatal(err)
	}
	repo1, err := s.GetRepositoryByName(ctx, "owner1", "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	deploy := obj("apps/web/deploy.yaml", "apps/v1", "Deployment", "web", "web", "replicas: 1")
	svc := obj("apps/web/service.yaml", "v1", "Service", "web", "web", "port: 80")
	hr := obj("apps/db/helmrelease.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "db", "postgres", "chart: postgres")
	apply(t, s, repo1.ID, "a1", day(1).Add(9*time.Hour), deploy, svc, hr)

	c.Advance(23 * time.Hour) // Nov 2 10:00
	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{r2}, 0); err != nil {
		t.Fatal(err)
	}
	r1.Stars, r1.Forks = 10, 3
	if _, err := s.ApplyRefresh(ctx, []store.RepoData{r1}, nil, 0); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	deploy2 := obj("apps/web/deploy.yaml", "apps/v1", "Deployment", "web", "web", "replicas: 2")
	cm := obj("apps/db/config.yaml", "v1", "ConfigMap", "db", "settings", "a: b")
	if res := apply(t, s, repo1.ID, "a2", day(2).Add(9*time.Hour), deploy2, hr, cm); res != (store.ApplyResult{Created: 1, Modified: 1, Deleted: 1}) {
		t.Fatalf("second scan: got %+v", res)
	}

	c.Advance(22 * time.Hour) // Nov 3 10:00
	if _, err := s.ApplyRefresh(ctx, nil, []string{r3.GitHubID}, 0); err != nil {
		t.Fatal(err)
	}
	c.Advance(24 * time.Hour) // Nov 4 10:00
	if err := s.ApplyRepoAction(ctx, repo1.ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	r2.Stars = 50
	if _, err := s.ApplyRefresh(ctx, []store.RepoData{r2}, nil, 0); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// want is each day's expected row (ComputedAt aside).
var ecoWant = map[int]store.EcosystemDay{
	1: {Repos: 2, ScannedRepos: 1, Stars: 4, Forks: 2, Resources: 3},
	2: {Repos: 3, ScannedRepos: 1, Stars: 15, Forks: 5, Resources: 3, Created: 1, Modified: 1, Deleted: 1},
	3: {Repos: 2, ScannedRepos: 1, Stars: 12, Forks: 4, Resources: 3},
	4: {Repos: 1, ScannedRepos: 0, Stars: 50, Forks: 1, Resources: 0},
}

var ecoWantBreakdowns = map[int]map[string][]store.EcosystemBreakdownRow{
	1: {
		store.DimensionLanguage: {{Key: "Shell", Repos: 2}},
		store.DimensionTopic:    {{Key: "flux", Repos: 2}, {Key: "k8s-at-home", Repos: 2}},
		store.DimensionKind: {{Key: "Service", Repos: 1, Objects: 1}, {Key: "apps/Deployment", Repos: 1, Objects: 1},
			{Key: "helm.toolkit.fluxcd.io/HelmRelease", Repos: 1, Objects: 1}},
	},
	2: {
		store.DimensionLanguage: {{Key: "Shell", Repos: 2}, {Key: "Go", Repos: 1}},
		store.DimensionTopic:    {{Key: "k8s-at-home", Repos: 3}, {Key: "flux", Repos: 2}, {Key: "argocd", Repos: 1}},
		store.DimensionKind: {{Key: "ConfigMap", Repos: 1, Objects: 1}, {Key: "apps/Deployment", Repos: 1, Objects: 1},
			{Key: "helm.toolkit.fluxcd.io/HelmRelease", Repos: 1, Objects: 1}},
	},
	3: {
		store.DimensionLanguage: {{Key: "Go", Repos: 1}, {Key: "Shell", Repos: 1}},
		store.DimensionTopic:    {{Key: "k8s-at-home", Repos: 2}, {Key: "argocd", Repos: 1}, {Key: "flux", Repos: 1}},
		store.DimensionKind: {{Key: "ConfigMap", Repos: 1, Objects: 1}, {Key: "apps/Deployment", Repos: 1, Objects: 1},
			{Key: "helm.toolkit.fluxcd.io/HelmRelease", Repos: 1, Objects: 1}},
	},
	4: {
		store.DimensionLanguage: {{Key: "Go", Repos: 1}},
		store.DimensionTopic:    {{Key: "argocd", Repos: 1}, {Key: "k8s-at-home", Repos: 1}},
		store.DimensionKind:     nil,
	},
}

func ecoDays(t *testing.T, s *store.Store, n int) map[string]store.EcosystemDay {
	t.Helper()
	days, err := s.EcosystemDays(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.EcosystemDay{}
	for _, d := range days {
		out[d.Day.Format("2006-01-02")] = d
	}
	return out
}

func checkEcoDay(t *testing.T, s *store.Store, d int) {
	t.Helper()
	ctx := context.Background()
	got, ok := ecoDays(t, s, 3660)[day(d).Format("2006-01-02")]
	if !ok {
		t.Fatalf("Nov %d: no row", d)
	}
	want := ecoWant[d]
	want.Day, want.ComputedAt = day(d), got.ComputedAt
	if got != want {
		t.Errorf("Nov %d: got %+v, want %+v", d, got, want)
	}
	for _, dim := range store.EcosystemDimensions {
		rows, err := s.EcosystemBreakdown(ctx, dim, day(d), 10)
		if err != nil {
			t.Fatal(err)
		}
		w := ecoWantBreakdowns[d][dim]
		if len(rows) != len(w) {
			t.Errorf("Nov %d %s: got %+v, want %+v", d, dim, rows, w)
			continue
		}
		for i := range w {
			if rows[i] != w[i] {
				t.Errorf("Nov %d %s: got %+v, want %+v", d, dim, rows, w)
				break
			}
		}
	}
}

func TestAggregateDayAsOfItsEnd(t *testing.T) {
	s, _ := ecoHistory(t)
	ctx := context.Background()
	// Computed days after the fact: later stars, repos, deletions and scans must not leak back.
	for d := 4; d >= 1; d-- {
		if err := s.Aggregate(ctx, day(d).Add(13*time.Hour)); err != nil {
			t.Fatal(err)
		}
		checkEcoDay(t, s, d)
	}
}

func TestAggregateSameOnTheNightAndLater(t *testing.T) {
	c := storetest.NewClock(day(1).Add(10 * time.Hour))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	r1 := repoData(1)
	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{r1}, 0); err != nil {
		t.Fatal(err)
	}
	repo1, _ := s.GetRepositoryByName(ctx, "owner1", "home-ops")
	apply(t, s, repo1.ID, "a1", day(1), obj("a.yaml", "v1", "ConfigMap", "x", "a", "1"), obj("b.yaml", "v1", "ConfigMap", "x", "b", "1"))
	c.Advance(13 * time.Hour) // Nov 1 23:00
	if err := s.Aggregate(ctx, c.Now()); err != nil {
		t.Fatal(err)
	}
	night := ecoDays(t, s, 1)["2026-11-01"]

	// The next days: more stars, a second repository, one object deleted, then the repo gone.
	c.Advance(2 * time.Hour)
	r1.Stars = 99
	if _, err := s.ApplyRefresh(ctx, []store.RepoData{r1}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{repoData(2)}, 0); err != nil {
		t.Fatal(err)
	}
	apply(t, s, repo1.ID, "a2", day(2), obj("a.yaml", "v1", "ConfigMap", "x", "a", "1"))
	c.Advance(24 * time.Hour)
	if _, err := s.ApplyRefresh(ctx, nil, []string{r1.GitHubID}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Aggregate(ctx, day(1)); err != nil {
		t.Fatal(err)
	}
	later := ecoDays(t, s, 3660)["2026-11-01"]
	later.ComputedAt = night.ComputedAt
	if later != night || night.Repos != 1 || night.Resources != 2 || night.Stars != 1 {
		t.Fatalf("Nov 1 later: got %+v, on the night %+v", later, night)
	}
	if err := s.Aggregate(ctx, day(2)); err != nil {
		t.Fatal(err)
	}
	d2 := ecoDays(t, s, 3660)["2026-11-02"]
	if d2.Repos != 2 || d2.Resources != 1 || d2.Stars != 99+2 || d2.Deleted != 1 {
		t.Fatalf("Nov 2: got %+v", d2)
	}
}

func TestAggregateMissingFillsGapsAndKeepsOldDays(t *testing.T) {
	s, c := ecoHistory(t)
	ctx := context.Background()
	if got, err := s.AggregateMissing(ctx, c.Now(), false); err != nil || got != (store.AggregateResult{Days: 4, Written: 4}) {
		t.Fatalf("first run: got %+v, %v; want 4 days written", got, err)
	}
	for d := 1; d <= 4; d++ {
		checkEcoDay(t, s, d)
	}
	first := ecoDays(t, s, 3660)

	// Four days later: the four missing days are filled; Nov 6 to 8 are recent.
	c.Advance(4 * 24 * time.Hour)
	if got, err := s.AggregateMissing(ctx, c.Now(), false); err != nil || got != (store.AggregateResult{Days: 8, Written: 4}) {
		t.Fatalf("second run: got %+v, %v; want 4 written", got, err)
	}
	c.Advance(time.Hour)
	if got, err := s.AggregateMissing(ctx, c.Now(), false); err != nil || got != (store.AggregateResult{Days: 8, Written: 3}) {
		t.Fatalf("third run: got %+v, %v; want today and the 2 days before", got, err)
	}
	all := ecoDays(t, s, 3660)
	if len(all) != 8 {
		t.Fatalf("got %d days, want 8", len(all))
	}
	for k, d := range first {
		if !all[k].ComputedAt.Equal(d.ComputedAt) {
			t.Errorf("%s was rewritten: computed at %v, first at %v", k, all[k].ComputedAt, d.ComputedAt)
		}
	}
	for _, k := range []string{"2026-11-05", "2026-11-08"} {
		got := all[k]
		want := ecoWant[4]
		want.Day, want.ComputedAt = got.Day, got.ComputedAt
		if got != want {
			t.Errorf("%s: got %+v, want Nov 4's state %+v", k, got, want)
		}
	}
	if !all["2026-11-08"].ComputedAt.Equal(c.Now()) || all["2026-11-05"].ComputedAt.Equal(c.Now()) {
		t.Errorf("recent days: Nov 8 computed at %v, Nov 5 at %v, now %v", all["2026-11-08"].ComputedAt, all["2026-11-05"].ComputedAt, c.Now())
	}
	// Forced, every day again; a day computed alone says the same as the whole run.
	if got, err := s.AggregateMissing(ctx, c.Now(), true); err != nil || got.Written != 8 {
		t.Fatalf("forced: got %+v, %v", got, err)
	}
	forced := ecoDays(t, s, 3660)
	for d := 1; d <= 8; d++ {
		k := day(d).Format("2006-01-02")
		if err := s.Aggregate(ctx, day(d)); err != nil {
			t.Fatal(err)
		}
		alone := ecoDays(t, s, 3660)[k]
		alone.ComputedAt = forced[k].ComputedAt
		if alone != forced[k] {
			t.Errorf("%s alone: got %+v, in the run %+v", k, alone, forced[k])
		}
	}
	if d, err := s.EcosystemDays(ctx, 7); err != nil || len(d) != 7 || !d[0].Day.Equal(day(2)) || !d[6].Day.Equal(day(8)) {
		t.Errorf("last 7 days: got %+v, %v; want Nov 2 to 8", d, err)
	}
}

func TestAggregateEmptyAndValidation(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	if got, err := s.AggregateMissing(ctx, time.Now(), false); err != nil || got != (store.AggregateResult{}) {
		t.Fatalf("empty: got %+v, %v", got, err)
	}
	if days, err := s.EcosystemDays(ctx, 30); err != nil || len(days) != 0 {
		t.Fatalf("empty days: got %v, %v", days, err)
	}
	var ve *store.ValidationError
	if _, err := s.EcosystemDays(ctx, 0); !errors.As(err, &ve) {
		t.Errorf("days 0: got %v, want a validation error", err)
	}
	if _, err := s.EcosystemBreakdown(ctx, "owner", time.Now(), 10); !errors.As(err, &ve) {
		t.Errorf("bad dimension: got %v, want a validation error", err)
	}
}

// TestAggregateLoadDB times the aggregate on a copy of a generated database:
// KUBESTATS_ECO_DB=/tmp/eco.db go test ./store -run AggregateLoadDB -v (it writes to the file).
func TestAggregateLoadDB(t *testing.T) {
	path := os.Getenv("KUBESTATS_ECO_DB")
	if path == "" {
		t.Skip("KUBESTATS_ECO_DB not set")
	}
	ctx := context.Background()
	opts := storetest.Options(t)
	opts.Path = path
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var last string
	if err := s.Readers().QueryRowContext(ctx, `SELECT max(substr(detected_at, 1, 10)) FROM resource_events`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	lastDay, err := time.Parse("2006-01-02", last)
	if err != nil {
		t.Fatal(err)
	}
	now := lastDay.Add(12 * time.Hour)
	start := time.Now()
	if err := s.Aggregate(ctx, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("one day (today): %v", time.Since(start))
	start = time.Now()
	res, err := s.AggregateMissing(ctx, now, true)
	t.Logf("forced backfill: %+v in %v (err %v)", res, time.Since(start), err)
	start = time.Now()
	res, err = s.AggregateMissing(ctx, now, false)
	t.Logf("hourly run: %+v in %v (err %v)", res, time.Since(start), err)
}

package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func repoData(i int) store.RepoData {
	created := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
	return store.RepoData{
		GitHubID: fmt.Sprintf("R_%d", i), DatabaseID: int64(i), Owner: fmt.Sprintf("owner%d", i), Name: "home-ops",
		Description: fmt.Sprintf("cluster %d with flux", i), URL: fmt.Sprintf("https://github.com/owner%d/home-ops", i),
		Language: "Shell", Topics: []string{"k8s-at-home", "flux"}, License: "MIT", DefaultBranch: "main",
		CreatedAt: &created, PushedAt: &created, UpdatedAt: &created, DiskUsageKB: 1000, Stars: i, Forks: 1,
		HeadOID: fmt.Sprintf("%040d", i),
	}
}

func TestUpsertDiscoveredApprovalAndTombstones(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	big := repoData(1)
	big.DiskUsageKB = 200 * 1024
	small := repoData(2)
	res, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{big, small}, 100*1024)
	if err != nil || res.Created != 2 || res.Snapshots != 2 {
		t.Fatalf("first upsert: %+v %v", res, err)
	}
	r, _ := s.GetRepositoryByName(ctx, "OWNER1", "Home-Ops")
	if r.Status() != store.RepoPendingApproval || r.FirstSeenAt.IsZero() || len(r.DiscoveryTopics) != 1 {
		t.Fatalf("big repo: got status %s, %+v", r.Status(), r)
	}
	if err := s.ApplyRepoAction(ctx, r.ID, store.ActionApprove); err != nil {
		t.Fatal(err)
	}
	// A later discovery by another topic keeps the approval and adds the topic.
	c.Advance(time.Hour)
	if _, err := s.UpsertDiscovered(ctx, "kubesearch", []store.RepoData{big}, 100*1024); err != nil {
		t.Fatal(err)
	}
	r, _ = s.GetRepositoryByName(ctx, "owner1", "home-ops")
	if r.Approval != "approved" || r.Status() == store.RepoPendingApproval {
		t.Fatalf("approval did not stick: %s", r.Approval)
	}
	if fmt.Sprint(r.DiscoveryTopics) != "[k8s-at-home kubesearch]" || !r.LastSeenAt.Equal(c.Now()) {
		t.Fatalf("topics %v last seen %v", r.DiscoveryTopics, r.LastSeenAt)
	}
	// A tombstoned repository is never updated or resurrected by discovery.
	r2, _ := s.GetRepositoryByName(ctx, "owner2", "home-ops")
	if err := s.ApplyRepoAction(ctx, r2.ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	changed := small
	changed.Description = "new"
	res, err = s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{changed}, 100*1024)
	if err != nil || res.Tombstone != 1 || res.Updated != 0 {
		t.Fatalf("tombstoned upsert: %+v %v", res, err)
	}
	r2, _ = s.GetRepository(ctx, r2.ID)
	if r2.Status() != store.RepoDeleted || r2.Description == "new" {
		t.Fatalf("tombstone touched: %s %q", r2.Status(), r2.Description)
	}
	page, _ := s.ListRepositories(ctx, store.RepoFilter{})
	if page.Total != 1 {
		t.Fatalf("listing shows %d repositories, want 1 (deleted hidden)", page.Total)
	}
}

func TestSnapshotsOnChangeAndDaily(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	d := repoData(1)
	if _, err := s.UpsertDiscovered(ctx, "t", []store.RepoData{d}, 0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		stars   int
		want    int // snapshots written by this refresh
	}{
		{time.Hour, d.Stars, 0},          // same numbers, same day: nothing
		{time.Hour, d.Stars + 5, 1},      // a change
		{time.Hour, d.Stars + 5, 0},      // unchanged again
		{12 * time.Hour, d.Stars + 5, 1}, // a new UTC day: at least one a day
	}
	for i, st := range steps {
		c.Advance(st.advance)
		d.Stars = st.stars
		res, err := s.ApplyRefresh(ctx, []store.RepoData{d}, nil, 0)
		if err != nil || res.Snapshots != st.want {
			t.Fatalf("step %d: %+v %v, want %d snapshots", i, res, err, st.want)
		}
	}
	r, _ := s.GetRepositoryByName(ctx, "owner1", "home-ops")
	ms, _ := s.RepositoryMetrics(ctx, r.ID, time.Time{})
	if len(ms) != 3 || ms[1].Stars != d.Stars {
		t.Fatalf("got %d snapshots %+v, want 3", len(ms), ms)
	}
}

func TestRefreshMarksGoneAndDue(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	a, b := repoData(1), repoData(2)
	if _, err := s.UpsertDiscovered(ctx, "t", []store.RepoData{a, b}, 0); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	a.HeadOID = "ffff"
	res, err := s.ApplyRefresh(ctx, []store.RepoData{a}, []string{b.GitHubID}, 0)
	if err != nil || res.Gone != 1 || res.Updated != 1 || res.DueSync != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	rb, _ := s.GetRepositoryByName(ctx, "owner2", "home-ops")
	if rb.Status() != store.RepoGone || rb.GoneAt == nil || rb.Stars != b.Stars {
		t.Fatalf("gone repo: status %s, data kept %d", rb.Status(), rb.Stars)
	}
	ra, _ := s.GetRepositoryByName(ctx, "owner1", "home-ops")
	if ra.HeadOID != "ffff" || ra.SyncStatus != "pending" || ra.NextSyncAt == nil {
		t.Fatalf("head change not due for sync: %+v", ra)
	}
	// Coming back clears gone.
	if _, err := s.ApplyRefresh(ctx, []store.RepoData{b}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if rb, _ = s.GetRepositoryByName(ctx, "owner2", "home-ops"); rb.GoneAt != nil {
		t.Fatal("gone mark not cleared when the repository came back")
	}
}

func TestListRepositoriesFilters(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	var batch []store.RepoData
	for i := 1; i <= 30; i++ {
		d := repoData(i)
		if i%3 == 0 {
			d.Language = "Go"
			d.Topics = []string{"kubesearch"}
		}
		if i == 7 {
			d.Description = `Talos "cluster" with <script>alert(1)</script> AND OR NEAR(`
			d.IsArchived = true
		}
		batch = append(batch, d)
	}
	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", batch, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		f     store.RepoFilter
		total int
		first string
	}{
		{"all by stars", store.RepoFilter{}, 30, "owner30/home-ops"},
		{"language", store.RepoFilter{Language: "Go"}, 10, "owner30/home-ops"},
		{"topic", store.RepoFilter{Topic: "kubesearch"}, 10, "owner30/home-ops"},
		{"archived", store.RepoFilter{Archived: "yes"}, 1, "owner7/home-ops"},
		{"not archived", store.RepoFilter{Archived: "no"}, 29, "owner30/home-ops"},
		{"search is by word prefix", store.RepoFilter{Q: "owner1"}, 11, "owner19/home-ops"},
		{"search description", store.RepoFilter{Q: "talos"}, 1, "owner7/home-ops"},
		{"search with FTS syntax is plain text", store.RepoFilter{Q: `"cluster" NEAR( OR`}, 1, "owner7/home-ops"},
		{"search topics", store.RepoFilter{Q: "kubesearch"}, 10, "owner30/home-ops"},
		{"sort by name", store.RepoFilter{Sort: "name"}, 30, "owner1/home-ops"},
		{"status", store.RepoFilter{Status: "pending"}, 30, "owner30/home-ops"},
		{"page 2", store.RepoFilter{PerPage: 20, Page: 2}, 30, "owner10/home-ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ListRepositories(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != tt.total || len(p.Items) == 0 || p.Items[0].FullName() != tt.first {
				first := ""
				if len(p.Items) > 0 {
					first = p.Items[0].FullName()
				}
				t.Fatalf("got total %d first %q, want %d %q", p.Total, first, tt.total, tt.first)
			}
		})
	}
	if _, err := s.ListRepositories(ctx, store.RepoFilter{Status: "bogus"}); err == nil {
		t.Fatal("unknown status accepted")
	}
	langs, topics, err := s.RepositoryFacets(ctx, 10)
	if err != nil || len(langs) != 2 || topics[0].Value != "flux" || topics[0].Count != 20 {
		t.Fatalf("facets %v %v %v", langs, topics, err)
	}
}

func TestJobRuns(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	id, err := s.StartJobRun(ctx, "discover", "test")
	if err != nil {
		t.Fatal(err)
	}
	stale, _ := s.StartJobRun(ctx, "refresh", "schedule")
	if err := s.FinishJobRun(id, "success", "", map[string]int{"found": 3}, store.JobUsage{Requests: 2, Points: 2, Retries: 1}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.InterruptJobRuns(ctx); err != nil || n != 1 {
		t.Fatalf("interrupted %d %v, want 1", n, err)
	}
	runs, err := s.ListJobRuns(ctx, "", 10)
	if err != nil || len(runs) != 2 {
		t.Fatalf("%v %v", runs, err)
	}
	for _, r := range runs {
		switch r.ID {
		case id:
			if r.Status != "success" || r.Counts["found"] != 3 || r.Retries != 1 || r.FinishedAt == nil {
				t.Errorf("finished run: %+v", r)
			}
		case stale:
			if r.Status != "cancelled" || r.Error == "" {
				t.Errorf("interrupted run: %+v", r)
			}
		}
	}
}

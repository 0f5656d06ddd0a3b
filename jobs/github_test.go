package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

type pipeline struct {
	gh     *githubtest.Server
	client *githubql.Client
	store  *store.Store
	runner *jobs.Runner
}

func newPipeline(t testing.TB, cfg jobs.Config, repos ...githubtest.Repo) *pipeline {
	t.Helper()
	gh := githubtest.New(t, githubtest.WithRepos(repos...))
	client := githubql.New(githubql.Options{
		Token: gh.Token(), GraphQLURL: gh.GraphQLURL(), APIURL: gh.APIURL(),
		Backoff: 2 * time.Millisecond, SecondaryWait: 10 * time.Millisecond, Reserve: 1,
	})
	s := storetest.Open(t)
	if len(cfg.Topics) == 0 {
		cfg.Topics = []string{"k8s-at-home"}
	}
	if cfg.MaxRepoSizeMB == 0 {
		cfg.MaxRepoSizeMB = 100
	}
	r := jobs.New(s, client, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(r.Close)
	return &pipeline{gh: gh, client: client, store: s, runner: r}
}

func (p *pipeline) run(t testing.TB, job string) (jobs.Counts, store.JobRun) {
	t.Helper()
	counts, err := p.runner.Run(context.Background(), job, "test")
	runs, _ := p.store.ListJobRuns(context.Background(), job, 1)
	if err != nil {
		t.Fatalf("%s: %v (counts %v)", job, err, counts)
	}
	return counts, runs[0]
}

func (p *pipeline) total(t testing.TB) int {
	t.Helper()
	page, err := p.store.ListRepositories(context.Background(), store.RepoFilter{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

var epoch = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// generate is githubtest.GenerateRepos without forks, so every repo is discovered by default.
func generate(n int, topic string, seed int64) []githubtest.Repo {
	repos := githubtest.GenerateRepos(n, topic, epoch, seed)
	for i := range repos {
		repos[i].IsFork = false
	}
	return repos
}

func TestDiscoverSplitsTopicsOverTheSearchCap(t *testing.T) {
	repos := generate(2500, "k8s-at-home", 1)
	other := generate(30, "kubesearch", 2)
	// Ten repos carry both topics: found twice, stored once, with both topics.
	for i := range 10 {
		repos[i].Topics = append(repos[i].Topics, "kubesearch")
	}
	p := newPipeline(t, jobs.Config{Topics: []string{"k8s-at-home", "kubesearch"}}, append(repos, other...)...)
	counts, run := p.run(t, jobs.JobDiscover)
	if got := p.total(t); got != 2530 {
		t.Fatalf("stored %d repositories, want 2530", got)
	}
	if counts["created"] != 2530 || counts["found"] != 2530 {
		t.Fatalf("counts %v, want 2530 created and found once each", counts)
	}
	if counts["slices"] < 3 {
		t.Fatalf("%d slices: the 2,500-repo topic was not split", counts["slices"])
	}
	r, err := p.store.GetRepositoryByName(context.Background(), repos[0].Owner, repos[0].Name)
	if err != nil || len(r.DiscoveryTopics) != 2 {
		t.Fatalf("repo with both topics: %v %v", r.DiscoveryTopics, err)
	}
	if run.GraphQLRequests != p.gh.Stats().GraphQL || run.GraphQLPoints == 0 {
		t.Fatalf("job_runs recorded %d requests / %d points, fake saw %d", run.GraphQLRequests, run.GraphQLPoints, p.gh.Stats().GraphQL)
	}
	t.Logf("discover of 2,530 repos: %d queries, %d points, %d slices", run.GraphQLRequests, run.GraphQLPoints, counts["slices"])

	// A second discovery updates, creates nothing, and never doubles a repository.
	counts, _ = p.run(t, jobs.JobDiscover)
	if counts["created"] != 0 || counts["updated"] != 2540 || p.total(t) != 2530 { // 10 repos are found by both topics
		t.Fatalf("second discovery: %v, %d stored", counts, p.total(t))
	}
}

func TestDiscoverForksArchivedAndSize(t *testing.T) {
	repos := generate(5, "k8s-at-home", 3)
	repos[0].IsFork = true
	repos[1].DiskUsageKB = 500 * 1024
	repos[2].IsArchived = true
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	if got := p.total(t); got != 4 {
		t.Fatalf("without forks: %d stored, want 4", got)
	}
	big, _ := p.store.GetRepositoryByName(context.Background(), repos[1].Owner, repos[1].Name)
	if big.Status() != store.RepoPendingApproval {
		t.Fatalf("500 MB repo: status %s, want pending_approval", big.Status())
	}
	arch, _ := p.store.GetRepositoryByName(context.Background(), repos[2].Owner, repos[2].Name)
	if !arch.IsArchived {
		t.Fatal("archived flag lost")
	}

	withForks := newPipeline(t, jobs.Config{IncludeForks: true}, repos...)
	withForks.run(t, jobs.JobDiscover)
	if got := withForks.total(t); got != 5 {
		t.Fatalf("with forks: %d stored, want 5", got)
	}
}

func TestRefreshUpdatesMarksGoneAndDue(t *testing.T) {
	repos := generate(250, "k8s-at-home", 4)
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	p.gh.ResetStats()
	p.gh.UpdateRepo(repos[0].ID, func(r *githubtest.Repo) { r.Stars += 7; r.HeadOID = fmt.Sprintf("%040x", 99) })
	p.gh.RemoveRepo(repos[1].ID) // vanishes in the middle of the first batch
	counts, run := p.run(t, jobs.JobRefresh)
	if counts["updated"] != 249 || counts["gone"] != 1 || counts["batches"] != 3 {
		t.Fatalf("counts %v", counts)
	}
	if p.gh.Stats().GraphQL != 3 || run.GraphQLRequests != 3 {
		t.Fatalf("%d GraphQL requests for 250 repos, want 3", p.gh.Stats().GraphQL)
	}
	ctx := context.Background()
	r0, _ := p.store.GetRepositoryByName(ctx, repos[0].Owner, repos[0].Name)
	if r0.Stars != repos[0].Stars+7 || r0.HeadOID != fmt.Sprintf("%040x", 99) || r0.SyncStatus != "pending" {
		t.Fatalf("changed repo: stars %d head %s status %s", r0.Stars, r0.HeadOID, r0.SyncStatus)
	}
	r1, _ := p.store.GetRepositoryByName(ctx, repos[1].Owner, repos[1].Name)
	if r1.Status() != store.RepoGone || r1.GoneAt == nil {
		t.Fatalf("vanished repo: status %s", r1.Status())
	}
	ms, _ := p.store.RepositoryMetrics(ctx, r0.ID, time.Time{})
	if len(ms) != 2 || ms[1].Stars != r0.Stars {
		t.Fatalf("snapshots %+v, want discovery's and the changed one", ms)
	}
}

func TestRefreshSurvivesServerErrors(t *testing.T) {
	repos := generate(1000, "k8s-at-home", 5)
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	p.gh.ResetStats()
	p.gh.FailRandomly(0.2, 42) // one in five GraphQL requests answers 502
	counts, run := p.run(t, jobs.JobRefresh)
	if counts["updated"] != 1000 || run.Status != "success" {
		t.Fatalf("counts %v status %s", counts, run.Status)
	}
	if run.Retries == 0 || run.Retries != p.gh.Stats().Injected {
		t.Fatalf("job_runs shows %d retries, the fake injected %d faults", run.Retries, p.gh.Stats().Injected)
	}
}

func TestFailedRefreshWritesNoSnapshot(t *testing.T) {
	repos := generate(50, "k8s-at-home", 6)
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	before := countMetrics(t, p)
	p.gh.UpdateRepo(repos[0].ID, func(r *githubtest.Repo) { r.Stars += 1 })
	p.gh.FailNext(100, 502)
	_, err := p.runner.Run(context.Background(), jobs.JobRefresh, "test")
	if err == nil {
		t.Fatal("refresh succeeded against a GitHub that only answers 502")
	}
	runs, _ := p.store.ListJobRuns(context.Background(), jobs.JobRefresh, 1)
	if runs[0].Status != "error" || runs[0].Error == "" {
		t.Fatalf("run %+v, want error with a message", runs[0])
	}
	if after := countMetrics(t, p); after != before {
		t.Fatalf("a failed refresh wrote %d snapshots", after-before)
	}
}

func countMetrics(t *testing.T, p *pipeline) int {
	t.Helper()
	n := 0
	page, _ := p.store.ListRepositories(context.Background(), store.RepoFilter{PerPage: 200})
	for _, r := range page.Items {
		ms, err := p.store.RepositoryMetrics(context.Background(), r.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		n += len(ms)
	}
	return n
}

func TestRateLimitsAreHonoured(t *testing.T) {
	repos := generate(150, "k8s-at-home", 7)
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)

	// Secondary limit: the retry waits for Retry-After.
	p.gh.SecondaryLimitNext(time.Second)
	if counts, _ := p.run(t, jobs.JobRefresh); counts["updated"] != 150 {
		t.Fatalf("after secondary limit: %v", counts)
	}
	if s := p.gh.Stats(); s.EarlyRetries != 0 || s.Injected != 1 {
		t.Fatalf("stats %+v: a retry came before Retry-After elapsed", s)
	}

	// Primary limit exhausted: RATE_LIMITED, wait for resetAt, then continue.
	p.gh.ExhaustRateLimit(1500 * time.Millisecond)
	start := time.Now()
	counts, run := p.run(t, jobs.JobRefresh)
	if counts["updated"] != 150 || run.Retries == 0 {
		t.Fatalf("after RATE_LIMITED: %v, %d retries", counts, run.Retries)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("continued after %v, before the reset", waited)
	}
}

func TestCancelledRefreshLeavesWholeBatchesAndResumes(t *testing.T) {
	repos := generate(300, "k8s-at-home", 8)
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	for _, r := range repos {
		p.gh.UpdateRepo(r.ID, func(r *githubtest.Repo) { r.Stars += 1000 })
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	p.gh.SetHook(func(*http.Request) {
		calls++
		if calls == 2 {
			cancel() // shutdown arrives while the second batch is in flight
		}
	})
	if _, err := p.runner.Run(ctx, jobs.JobRefresh, "test"); err == nil {
		t.Fatal("cancelled run reported success")
	}
	p.gh.SetHook(nil)
	runs, _ := p.store.ListJobRuns(context.Background(), jobs.JobRefresh, 1)
	if runs[0].Status != "cancelled" {
		t.Fatalf("status %s, want cancelled", runs[0].Status)
	}
	// Every repository is either fully refreshed or untouched: never half-written.
	var items []store.Repository
	for pg := 1; pg <= 2; pg++ {
		page, _ := p.store.ListRepositories(context.Background(), store.RepoFilter{PerPage: 150, Page: pg, Sort: "name"})
		items = append(items, page.Items...)
	}
	orig := map[string]int{}
	for _, r := range repos {
		orig[r.Owner+"/"+r.Name] = r.Stars
	}
	updated := 0
	for _, r := range items {
		if r.Stars == orig[r.FullName()]+1000 {
			updated++
			if r.RefreshedAt == nil {
				t.Fatalf("%s has new stars but no refresh time", r.FullName())
			}
		}
	}
	if updated%100 != 0 {
		t.Fatalf("%d repositories updated: not whole batches", updated)
	}
	counts, _ := p.run(t, jobs.JobRefresh)
	if counts["updated"] != 300 {
		t.Fatalf("next run: %v", counts)
	}
}

package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func TestAggregateJobWritesTodayAndIsRecorded(t *testing.T) {
	// The runner's clock is the real one, so the store's is too: the repository is found today.
	s := storetest.Open(t)
	ctx := context.Background()
	_, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{{
		GitHubID: "R_1", Owner: "o", Name: "home-ops", Language: "Go", Topics: []string{"k8s-at-home"}, Stars: 7, Forks: 2,
	}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(jobs.Names, jobs.JobAggregate) || !jobs.Known("aggregate") {
		t.Fatalf("aggregate is not a known job: %v", jobs.Names)
	}
	r := jobs.New(s, githubql.New(githubql.Options{}), jobs.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	counts, err := r.Run(ctx, jobs.JobAggregate, "test")
	if err != nil {
		t.Fatal(err)
	}
	if counts["days_written"] != 1 || counts["days_total"] != 1 {
		t.Fatalf("counts: got %v, want 1 day written of 1", counts)
	}
	// The job also recounts chart growth as the window slides (nothing to change here).
	if n, ok := counts["charts_growth_changed"]; !ok || n != 0 {
		t.Fatalf("counts: got %v, want charts_growth_changed 0", counts)
	}
	days, err := s.EcosystemDays(ctx, 30)
	if err != nil || len(days) != 1 || days[0].Repos != 1 || days[0].Stars != 7 || days[0].Forks != 2 {
		t.Fatalf("days: got %+v, %v", days, err)
	}
	runs, err := s.ListJobRuns(ctx, jobs.JobAggregate, 10)
	if err != nil || len(runs) != 1 || runs[0].Status != "success" || runs[0].Counts["days_written"] != 1 {
		t.Fatalf("job runs: got %+v, %v", runs, err)
	}
	// Without a GitHub token the aggregate is still scheduled: it needs none.
	for _, in := range r.Infos() {
		if in.Name == jobs.JobAggregate && in.Describe == "" {
			t.Errorf("aggregate has no description")
		}
	}
}

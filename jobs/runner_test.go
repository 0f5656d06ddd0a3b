package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// blockingGitHub answers search only when released, so a run can be held open.
type blockingGitHub struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingGitHub) Configured() bool { return true }
func (b *blockingGitHub) SearchRepositories(ctx context.Context, q, after string) (githubql.SearchPage, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return githubql.SearchPage{}, nil
	case <-ctx.Done():
		return githubql.SearchPage{}, ctx.Err()
	}
}
func (b *blockingGitHub) RepositoriesByID(context.Context, []string) ([]githubql.Repo, []string, error) {
	return nil, nil, nil
}
func (b *blockingGitHub) Tarball(context.Context, string, string, string) (io.ReadCloser, error) {
	return nil, errors.New("blockingGitHub serves no tarballs")
}

func newBlockingRunner(t *testing.T) (*jobs.Runner, *blockingGitHub, *store.Store) {
	s := storetest.Open(t)
	gh := &blockingGitHub{entered: make(chan struct{}, 10), release: make(chan struct{})}
	r := jobs.New(s, gh, jobs.Config{Topics: []string{"k8s-at-home"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(r.Close)
	return r, gh, s
}

func TestConcurrentRunNowRunsOnce(t *testing.T) {
	r, gh, s := newBlockingRunner(t)
	if err := r.RunAsync(jobs.JobDiscover, "manual"); err != nil {
		t.Fatal(err)
	}
	// The second click is decided before RunAsync returns: no race window.
	if err := r.RunAsync(jobs.JobDiscover, "manual"); !errors.Is(err, jobs.ErrAlreadyRunning) {
		t.Fatalf("second click: got %v, want ErrAlreadyRunning", err)
	}
	<-gh.entered
	if _, err := r.Run(context.Background(), jobs.JobDiscover, "cli"); !errors.Is(err, jobs.ErrAlreadyRunning) {
		t.Fatalf("CLI while running: got %v", err)
	}
	close(gh.release)
	deadline := time.Now().Add(5 * time.Second)
	for r.Running(jobs.JobDiscover) {
		if time.Now().After(deadline) {
			t.Fatal("run did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	runs, _ := s.ListJobRuns(context.Background(), jobs.JobDiscover, 10)
	if len(runs) != 1 || runs[0].Status != "success" {
		t.Fatalf("got runs %+v, want exactly one successful run", runs)
	}
	// Other jobs are not blocked by it.
	if err := r.RunAsync(jobs.JobPrune, "manual"); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownCancelsRunAndRecordsIt(t *testing.T) {
	r, gh, s := newBlockingRunner(t)
	if err := r.RunAsync(jobs.JobDiscover, "manual"); err != nil {
		t.Fatal(err)
	}
	<-gh.entered
	r.Close() // what serve does at shutdown
	runs, _ := s.ListJobRuns(context.Background(), jobs.JobDiscover, 10)
	if len(runs) != 1 || runs[0].Status != "cancelled" || runs[0].FinishedAt == nil {
		t.Fatalf("got %+v, want one cancelled run with an end time", runs)
	}
}

func TestRunUnknownJob(t *testing.T) {
	r, _, _ := newBlockingRunner(t)
	if _, err := r.Run(context.Background(), "nope", "cli"); err == nil {
		t.Fatal("unknown job accepted")
	}
}

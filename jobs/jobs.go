// Package jobs owns Kubestats' background work: plain job methods and the gocron schedule that runs them.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"github.com/kubestats/kubestats/store"
)

// Runner holds what the jobs need. Its methods are the job bodies: the scheduler,
// the CLI and tests call the same methods.
type Runner struct {
	store  *store.Store
	log    *slog.Logger
	policy store.SessionPolicy
}

// New returns a Runner.
func New(s *store.Store, log *slog.Logger, policy store.SessionPolicy) *Runner {
	return &Runner{store: s, log: log, policy: policy}
}

// Prune deletes sessions past their idle or absolute limit. Expired sessions are already
// refused at lookup; this only keeps the table from growing without bound.
func (r *Runner) Prune(ctx context.Context) error {
	n, err := r.store.DeleteExpiredSessions(ctx, r.policy)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	r.log.Info("prune done", "job", "prune", "sessions_deleted", n)
	return nil
}

// Schedule starts the jobs on their intervals and returns the running scheduler;
// Shutdown on it cancels running jobs' contexts and waits for them.
func (r *Runner) Schedule(opts ...gocron.SchedulerOption) (gocron.Scheduler, error) {
	opts = append([]gocron.SchedulerOption{gocron.WithLocation(time.UTC), gocron.WithStopTimeout(30 * time.Second)}, opts...)
	s, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("jobs: scheduler: %w", err)
	}
	_, err = s.NewJob(gocron.DurationJob(time.Hour),
		gocron.NewTask(r.Prune),
		gocron.WithName("prune"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
		gocron.WithEventListeners(gocron.AfterJobRunsWithError(func(_ uuid.UUID, name string, err error) {
			r.log.Error("job failed", "job", name, "err", err)
		})),
	)
	if err != nil {
		return nil, fmt.Errorf("jobs: schedule prune: %w", err)
	}
	s.Start()
	return s, nil
}

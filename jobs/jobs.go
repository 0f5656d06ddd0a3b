// Package jobs owns Kubestats' background work: plain job methods and the gocron schedule that runs them.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

// Job names, as stored in job_runs and accepted by `kubestats run`.
const (
	JobDiscover  = "discover"
	JobRefresh   = "refresh"
	JobSync      = "sync"
	JobAggregate = "aggregate"
	JobExport    = "export"
	JobPrune     = "prune"
)

// Names lists the jobs in the order pages show them.
var Names = []string{JobDiscover, JobRefresh, JobSync, JobAggregate, JobExport, JobPrune}

// ErrAlreadyRunning is returned by Run when the job is running already.
var ErrAlreadyRunning = errors.New("jobs: already running")

// GitHub is what the jobs need from the GitHub client.
type GitHub interface {
	Configured() bool
	SearchRepositories(ctx context.Context, query, after string) (githubql.SearchPage, error)
	RepositoriesByID(ctx context.Context, ids []string) (found []githubql.Repo, missing []string, err error)
	Tarball(ctx context.Context, owner, name, ref string) (io.ReadCloser, error)
}

// Config is the jobs' part of the settings.
type Config struct {
	Topics           []string
	IncludeForks     bool
	MaxRepoSizeMB    int
	DiscoverInterval time.Duration
	RefreshInterval  time.Duration
	SyncInterval     time.Duration // how often due repos are looked for; a minute when unset
	SyncConcurrency  int           // repositories downloaded and scanned at once
	SyncTimeout      time.Duration // how long one repository's sync may take; 15 minutes when unset
	ScanLimits       scan.Limits
	Sessions         store.SessionPolicy
	JobRunRetention  time.Duration // finished job runs older than this are pruned
	ExportPath       string        // where the export job writes the public dataset
	// Observer, when set, is told how every run and repository sync ended, for metrics.
	Observer Observer
}

// Observer receives the jobs' outcomes as they happen; its methods are called concurrently.
type Observer interface {
	// JobFinished reports a run: outcome "success", "error" or "cancelled", as job_runs records it.
	JobFinished(job, outcome string, d time.Duration)
	// SyncFinished reports one repository's sync, with the same outcomes; scan is the time spent
	// downloading and scanning (they overlap: the archive is scanned as it streams), 0 unless it succeeded.
	SyncFinished(outcome string, total, scan time.Duration)
}

type nopObserver struct{}

func (nopObserver) JobFinished(string, string, time.Duration)         {}
func (nopObserver) SyncFinished(string, time.Duration, time.Duration) {}

func (r *Runner) observer() Observer {
	if r.cfg.Observer == nil {
		return nopObserver{}
	}
	return r.cfg.Observer
}

// Counts are the named numbers a run reports.
type Counts map[string]int

// Runner holds what the jobs need. Its methods are the job bodies: the scheduler,
// the "Run now" button, the CLI and tests call the same methods.
type Runner struct {
	store *store.Store
	gh    GitHub
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	running map[string]bool
	sched   gocron.Scheduler
	jobs    map[string]gocron.Job
	syncs   syncState

	// Runs started by RunAsync ("Run now") live until Close, not until their request ends.
	bg     context.Context
	stopBg context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Runner.
func New(s *store.Store, gh GitHub, cfg Config, log *slog.Logger) *Runner {
	if cfg.JobRunRetention <= 0 {
		cfg.JobRunRetention = 90 * 24 * time.Hour
	}
	bg, stop := context.WithCancel(context.Background())
	return &Runner{store: s, gh: gh, cfg: cfg, log: log, now: time.Now, running: map[string]bool{},
		jobs: map[string]gocron.Job{}, bg: bg, stopBg: stop}
}

// Close cancels runs started by RunAsync and waits for them to record their end.
func (r *Runner) Close() {
	r.stopBg()
	r.wg.Wait()
}

func (r *Runner) body(job string) (func(context.Context) (Counts, error), bool) {
	switch job {
	case JobDiscover:
		return r.Discover, true
	case JobRefresh:
		return r.Refresh, true
	case JobSync:
		return r.Sync, true
	case JobAggregate:
		return r.Aggregate, true
	case JobExport:
		return r.Export, true
	case JobPrune:
		return r.Prune, true
	}
	return nil, false
}

// Running reports whether a job is running now.
func (r *Runner) Running(job string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[job]
}

// Run runs one job now and records it in job_runs. A job runs at most once at a time:
// a second call while it runs returns ErrAlreadyRunning without doing anything.
func (r *Runner) Run(ctx context.Context, job, trigger string) (Counts, error) {
	body, ok := r.body(job)
	if !ok {
		return nil, fmt.Errorf("jobs: unknown job %q (known: %s)", job, strings.Join(Names, ", "))
	}
	if !r.claim(job) {
		return nil, ErrAlreadyRunning
	}
	defer r.release(job)
	return r.execute(ctx, job, trigger, body)
}

// RunAsync starts a job in the background and returns at once; ErrAlreadyRunning when
// it runs already, decided before returning so that two clicks never start two runs.
func (r *Runner) RunAsync(job, trigger string) error {
	body, ok := r.body(job)
	if !ok {
		return fmt.Errorf("jobs: unknown job %q", job)
	}
	if !r.claim(job) {
		return ErrAlreadyRunning
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.release(job)
		_, _ = r.execute(r.bg, job, trigger, body)
	}()
	return nil
}

func (r *Runner) claim(job string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[job] {
		return false
	}
	r.running[job] = true
	return true
}

func (r *Runner) release(job string) {
	r.mu.Lock()
	delete(r.running, job)
	r.mu.Unlock()
}

// execute runs a claimed job's body and records the run.
func (r *Runner) execute(ctx context.Context, job, trigger string, body func(context.Context) (Counts, error)) (Counts, error) {
	id, err := r.store.StartJobRun(ctx, job, trigger)
	if err != nil {
		return nil, err
	}
	m := &githubql.Meter{}
	start := time.Now()
	counts, err := body(githubql.WithMeter(ctx, m))
	status, msg := "success", ""
	switch {
	case err != nil && ctx.Err() != nil:
		status, msg = "cancelled", "cancelled: "+err.Error()
	case err != nil:
		status, msg = "error", err.Error()
	}
	usage := store.JobUsage{Requests: int(m.Requests.Load()), Points: int(m.Points.Load()), Retries: int(m.Retries.Load())}
	if d := m.Downloads.Load(); d > 0 {
		if counts == nil {
			counts = Counts{}
		}
		counts["downloads"] = int(d) // archives fetched; GraphQL usage has its own columns
	}
	r.observer().JobFinished(job, status, time.Since(start))
	if ferr := r.store.FinishJobRun(id, status, msg, counts, usage); ferr != nil {
		err = errors.Join(err, ferr)
	}
	attrs := []any{"job", job, "trigger", trigger, "status", status, "duration_ms", time.Since(start).Milliseconds(),
		"graphql_requests", usage.Requests, "graphql_points", usage.Points, "retries", usage.Retries}
	for _, k := range sortedKeys(counts) {
		attrs = append(attrs, k, counts[k])
	}
	if err != nil {
		r.log.Error("job failed", append(attrs, "err", err)...)
	} else {
		r.log.Info("job done", attrs...)
	}
	return counts, err
}

func sortedKeys(c Counts) []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Prune deletes expired sessions and old job runs. Expired sessions are already refused
// at lookup; this only keeps the tables from growing without bound.
func (r *Runner) Prune(ctx context.Context) (Counts, error) {
	n, err := r.store.DeleteExpiredSessions(ctx, r.cfg.Sessions)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	runs, err := r.store.PruneJobRuns(ctx, r.now().Add(-r.cfg.JobRunRetention))
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	// Bodies are kept a day after nothing references them: a sync that is streaming now may
	// be about to reference them again.
	contents, err := r.store.PruneContents(ctx, r.now().Add(-24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return Counts{"sessions_deleted": int(n), "job_runs_deleted": int(runs), "contents_deleted": contents}, nil
}

// Schedule starts the jobs on their intervals (each also once at start) and returns the
// running scheduler; Shutdown on it cancels running jobs' contexts and waits for them.
func (r *Runner) Schedule(opts ...gocron.SchedulerOption) (gocron.Scheduler, error) {
	opts = append([]gocron.SchedulerOption{gocron.WithLocation(time.UTC), gocron.WithStopTimeout(30 * time.Second)}, opts...)
	s, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("jobs: scheduler: %w", err)
	}
	for _, name := range Names {
		if name != JobPrune && name != JobAggregate && name != JobExport && !r.gh.Configured() {
			continue // nothing to do without a token; pages say discovery is paused
		}
		if name == JobExport && r.cfg.ExportPath == "" {
			continue // nowhere to write; a "Run now" says so
		}
		j, err := s.NewJob(gocron.DurationJob(r.interval(name)),
			gocron.NewTask(func(ctx context.Context) {
				if name == JobSync && !r.syncDue(ctx) {
					return // a minute with nothing to sync is not worth a job_runs row (1,440 a day)
				}
				if name == JobExport && !r.exportDue() {
					return // the file's age decides, so a restart does not rebuild a fresh export
				}
				if _, err := r.Run(ctx, name, "schedule"); errors.Is(err, ErrAlreadyRunning) {
					r.log.Info("job skipped: already running", "job", name)
				}
			}),
			gocron.WithName(name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately()),
			gocron.WithEventListeners(gocron.AfterJobRunsWithPanic(func(_ uuid.UUID, name string, p any) {
				r.log.Error("job panicked", "job", name, "panic", p)
			})),
		)
		if err != nil {
			return nil, fmt.Errorf("jobs: schedule %s: %w", name, err)
		}
		r.mu.Lock()
		r.jobs[name] = j
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.sched = s
	r.mu.Unlock()
	s.Start()
	return s, nil
}

// interval is how often a job is scheduled; an unset interval means hourly.
func (r *Runner) interval(job string) time.Duration {
	d := map[string]time.Duration{JobDiscover: r.cfg.DiscoverInterval, JobRefresh: r.cfg.RefreshInterval, JobSync: r.cfg.SyncInterval}[job]
	switch {
	case d > 0:
	case job == JobSync:
		d = time.Minute
	default:
		d = time.Hour
	}
	return d
}

// Info describes a job for the jobs page.
type Info struct {
	Name     string
	Every    time.Duration
	NextRun  *time.Time
	Running  bool
	Enabled  bool // scheduled; discover and refresh need a GitHub token
	Describe string
}

// Infos describes every job.
func (r *Runner) Infos() []Info {
	desc := map[string]string{
		JobDiscover: "Searches GitHub for repositories with the configured topics: " + strings.Join(r.cfg.Topics, ", "),
		JobRefresh:  "Reads the statistics and head commit of every known repository, 100 per query",
		JobSync: fmt.Sprintf("Downloads and scans every repository whose head commit is not scanned yet, %d at a time",
			max(r.cfg.SyncConcurrency, 1)),
		JobAggregate: "Computes the ecosystem page's daily figures: every missing day since the first discovery, and the last three days again",
		JobExport:    "Rebuilds the public dataset served at /api/v1/export.sqlite (no user data) once the last one is a day old",
		JobPrune:     "Deletes expired sessions and job runs older than the retention",
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Info, 0, len(Names))
	for _, n := range Names {
		in := Info{Name: n, Every: r.interval(n), Running: r.running[n], Describe: desc[n]}
		if j, ok := r.jobs[n]; ok {
			in.Enabled = true
			if t, err := j.NextRun(); err == nil && !t.IsZero() {
				t = t.UTC()
				in.NextRun = &t
			}
		}
		out = append(out, in)
	}
	return out
}

// Known reports whether name is a job.
func Known(name string) bool { return slices.Contains(Names, name) }

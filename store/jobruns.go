package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// JobRun is one run of a background job.
type JobRun struct {
	ID              int64
	Job             string
	Trigger         string
	StartedAt       time.Time
	FinishedAt      *time.Time
	Status          string
	Error           string
	Counts          map[string]int
	GraphQLRequests int
	GraphQLPoints   int
	Retries         int
}

// Duration is how long the run took, or has taken so far.
func (r JobRun) Duration(now time.Time) time.Duration {
	if r.FinishedAt != nil {
		return r.FinishedAt.Sub(r.StartedAt)
	}
	return now.Sub(r.StartedAt)
}

// JobUsage is what a run spent of GitHub's API.
type JobUsage struct {
	Requests int
	Points   int
	Retries  int
}

// StartJobRun records that a job started and returns the run's id.
func (s *Store) StartJobRun(ctx context.Context, job, trigger string) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO job_runs (job, trigger, started_at, status) VALUES (?, ?, ?, 'running') RETURNING id`,
		job, trigger, s.now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: start job run %s: %w", job, err)
	}
	return id, nil
}

// FinishJobRun records a run's outcome. It uses its own context so that a job cancelled
// by shutdown still gets its ending written.
func (s *Store) FinishJobRun(id int64, status, errMsg string, counts map[string]int, u JobUsage) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, _ := json.Marshal(counts)
	if counts == nil {
		b = []byte("{}")
	}
	_, err := s.w.ExecContext(ctx, `
		UPDATE job_runs SET finished_at = ?, status = ?, error = ?, counts = ?, graphql_requests = ?, graphql_points = ?, retries = ?
		WHERE id = ?`, s.now(), status, errMsg, string(b), u.Requests, u.Points, u.Retries, id)
	if err != nil {
		return fmt.Errorf("store: finish job run %d: %w", id, err)
	}
	return nil
}

// InterruptJobRuns marks runs left "running" by a crash or kill as cancelled; called at start.
func (s *Store) InterruptJobRuns(ctx context.Context) (int64, error) {
	r, err := s.w.ExecContext(ctx, `UPDATE job_runs SET status = 'cancelled', finished_at = ?,
		error = 'interrupted: the process stopped while the job ran' WHERE status = 'running'`, s.now())
	if err != nil {
		return 0, fmt.Errorf("store: interrupt job runs: %w", err)
	}
	return r.RowsAffected()
}

// ListJobRuns returns a job's most recent runs, newest first; job "" means every job.
func (s *Store) ListJobRuns(ctx context.Context, job string, limit int) ([]JobRun, error) {
	rows, err := s.query(ctx, `
		SELECT id, job, trigger, started_at, finished_at, status, error, counts, graphql_requests, graphql_points, retries
		FROM job_runs WHERE ? = '' OR job = ? ORDER BY started_at DESC, id DESC LIMIT ?`, job, job, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list job runs: %w", err)
	}
	defer rows.Close()
	var out []JobRun
	for rows.Next() {
		var r JobRun
		var counts string
		if err := rows.Scan(&r.ID, &r.Job, &r.Trigger, &r.StartedAt, nullTime{&r.FinishedAt}, &r.Status, &r.Error,
			&counts, &r.GraphQLRequests, &r.GraphQLPoints, &r.Retries); err != nil {
			return nil, fmt.Errorf("store: list job runs: %w", err)
		}
		_ = json.Unmarshal([]byte(counts), &r.Counts)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneJobRuns deletes finished runs older than before.
func (s *Store) PruneJobRuns(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.w.ExecContext(ctx, "DELETE FROM job_runs WHERE status <> 'running' AND started_at < ?", before.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: prune job runs: %w", err)
	}
	return r.RowsAffected()
}

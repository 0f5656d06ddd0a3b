package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

// Sync settings that are not user settings: how a failed repo backs off, and how long one
// repo may take before it counts as failed when Config.SyncTimeout is unset.
const (
	syncRetryBase      = time.Minute
	syncRetryMax       = 6 * time.Hour
	defaultSyncTimeout = 15 * time.Minute
	contentBatch       = 4 << 20 // bytes of object bodies written per transaction while a sync streams
)

// syncTimeoutError is the cause of a sync's context when its own deadline ended it, and the
// error recorded on the repository then: a bare "context deadline exceeded" says neither what
// timed out nor which setting decides.
type syncTimeoutError struct{ after time.Duration }

func (e *syncTimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s (KUBESTATS_SYNC_TIMEOUT)", e.after)
}

func (r *Runner) syncTimeout() time.Duration {
	if r.cfg.SyncTimeout > 0 {
		return r.cfg.SyncTimeout
	}
	return defaultSyncTimeout
}

// syncBackoff is the wait before the next attempt after attempts failures in a row.
func syncBackoff(attempts int) time.Duration {
	d := syncRetryBase
	for range min(attempts, 16) {
		d *= 2
		if d >= syncRetryMax {
			return syncRetryMax
		}
	}
	return d
}

// SyncResult is what one repository's sync did.
type SyncResult struct {
	Repo    string
	OID     string
	Events  store.ApplyResult
	Objects int
	Errors  int
	Bytes   int64         // YAML bytes scanned
	Scan    time.Duration // downloading and scanning, which overlap: the archive is scanned as it streams
}

// syncState is the Runner's bookkeeping for syncs: a semaphore that bounds downloads across
// the scheduled pass and the sync buttons, and the repos a button queued but not yet started.
type syncState struct {
	once   sync.Once
	sem    chan struct{}
	mu     sync.Mutex
	queued map[int64]bool
}

func (r *Runner) syncSem() chan struct{} {
	r.syncs.once.Do(func() {
		r.syncs.sem = make(chan struct{}, max(r.cfg.SyncConcurrency, 1))
		r.syncs.queued = map[int64]bool{}
	})
	return r.syncs.sem
}

// Sync is one pass over every repository due for sync, SyncConcurrency at a time. One repo's
// failure is recorded on that repo and does not fail the pass; the pass fails only when the
// database does or its context ends.
func (r *Runner) Sync(ctx context.Context) (Counts, error) {
	due, err := r.store.DueForSync(ctx, 100_000)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	var (
		mu     sync.Mutex
		counts = Counts{"due": len(due), "synced": 0, "failed": 0, "skipped": 0, "events": 0, "objects": 0}
		wg     sync.WaitGroup
		sem    = r.syncSem()
	)
	for _, t := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return counts, fmt.Errorf("sync: %w", ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := r.SyncRepo(ctx, t.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotSyncable):
				counts["skipped"]++ // a button got there first, or an admin blocked it meanwhile
			case err != nil:
				counts["failed"]++
			default:
				counts["synced"]++
				counts["events"] += res.Events.Events()
				counts["objects"] += res.Objects
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return counts, fmt.Errorf("sync: %w", ctx.Err())
	}
	return counts, nil
}

// syncDue reports whether any repository is due for sync; on a database error it says yes, so
// that the pass runs and records the error.
func (r *Runner) syncDue(ctx context.Context) bool {
	due, err := r.store.DueForSync(ctx, 1)
	return err != nil || len(due) > 0
}

// QueueSync makes a repository due now and starts its sync in the background (the sync
// button). ErrConflict when it is syncing or already queued: two clicks never sync twice;
// store.ErrUpToDate when its head is already scanned and rescan is false.
func (r *Runner) QueueSync(ctx context.Context, id int64, rescan bool) error {
	sem := r.syncSem()
	r.syncs.mu.Lock()
	if r.syncs.queued[id] {
		r.syncs.mu.Unlock()
		return fmt.Errorf("jobs: sync already queued: %w", store.ErrConflict)
	}
	if err := r.store.RequestSync(ctx, id, rescan); err != nil {
		r.syncs.mu.Unlock()
		return err
	}
	r.syncs.queued[id] = true
	r.syncs.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			r.syncs.mu.Lock()
			delete(r.syncs.queued, id)
			r.syncs.mu.Unlock()
		}()
		select {
		case sem <- struct{}{}:
		case <-r.bg.Done():
			return // the repo stays pending: the next pass takes it
		}
		defer func() { <-sem }()
		if _, err := r.SyncRepo(r.bg, id); err != nil && !errors.Is(err, store.ErrConflict) {
			r.log.Info("queued sync failed", "repo_id", id, "err", err)
		}
	}()
	return nil
}

// SyncRepo downloads one repository's head commit, scans it and applies the result. Failures
// are recorded on the repo (status error, message, backoff) and returned; the previous scan's
// data stays intact because nothing is replaced until the final transaction.
func (r *Runner) SyncRepo(ctx context.Context, id int64) (SyncResult, error) {
	t, err := r.store.BeginSync(ctx, id)
	if err != nil {
		return SyncResult{}, err
	}
	start := time.Now()
	res, err := r.syncTarget(ctx, t)
	res.Repo, res.OID = t.FullName(), t.HeadOID
	log := r.log.With("repo", t.FullName(), "oid", t.HeadOID, "duration_ms", time.Since(start).Milliseconds())
	if err == nil {
		r.observer().SyncFinished("success", time.Since(start), res.Scan)
		log.Info("repository synced", "objects", res.Objects, "errors", res.Errors, "bytes", res.Bytes,
			"created", res.Events.Created, "modified", res.Events.Modified, "moved", res.Events.Moved, "deleted", res.Events.Deleted)
		return res, nil
	}
	// The sync's own context may be what ended: record the outcome regardless, briefly.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ctx.Err() != nil {
		// Interrupted (shutdown or cancel), not failed: back to pending for the next pass.
		if aerr := r.store.AbortSync(cctx, id); aerr != nil {
			err = errors.Join(err, aerr)
		}
		r.observer().SyncFinished("cancelled", time.Since(start), 0)
		log.Info("repository sync interrupted", "err", err)
		return res, err
	}
	next := r.now().Add(syncBackoff(t.Attempts))
	if ferr := r.store.FailSync(cctx, id, err.Error(), next); ferr != nil {
		err = errors.Join(err, ferr)
	}
	r.observer().SyncFinished("error", time.Since(start), 0)
	log.Warn("repository sync failed", "err", err, "attempts", t.Attempts+1, "next_attempt", next)
	return res, err
}

// syncTarget is one sync within the timeout. A download that trickles forever never stalls,
// so only this deadline frees its slot. The cause tells the deadline apart from the caller's
// context ending (shutdown, a cancel, the caller's own deadline), which SyncRepo records as
// an interruption instead.
func (r *Runner) syncTarget(ctx context.Context, t store.SyncTarget) (SyncResult, error) {
	limit := r.syncTimeout()
	tctx, cancel := context.WithTimeoutCause(ctx, limit, &syncTimeoutError{after: limit})
	defer cancel()
	res, err := r.syncWithin(tctx, t)
	var timeout *syncTimeoutError
	if err != nil && ctx.Err() == nil && errors.As(context.Cause(tctx), &timeout) {
		return res, timeout
	}
	return res, err
}

func (r *Runner) syncWithin(ctx context.Context, t store.SyncTarget) (SyncResult, error) {
	known, err := r.store.ResourceHashes(ctx, t.ID)
	if err != nil {
		return SyncResult{}, err
	}
	body, err := r.gh.Tarball(ctx, t.Owner, t.Name, t.HeadOID)
	if err != nil {
		return SyncResult{}, fmt.Errorf("download: %w", err)
	}
	defer body.Close()

	// Bodies go to the database in batches while the archive streams, so memory holds one
	// batch and one file, not the repository. Bodies this repo already references are
	// stored and safe from prune: skip them.
	var batch []store.Content
	var batchBytes int
	flush := func() error {
		err := r.store.PutContents(ctx, batch)
		clear(batch) // the array is reused: it must not keep the stored bodies alive
		batch, batchBytes = batch[:0], 0
		return err
	}
	start := time.Now()
	res, err := scan.TarGz(ctx, body, scan.Options{
		Limits: r.cfg.ScanLimits,
		Content: func(hash string, content []byte) error {
			if _, ok := known[hash]; ok {
				return nil
			}
			known[hash] = struct{}{}
			batch = append(batch, store.Content{Hash: hash, Data: content})
			if batchBytes += len(content); batchBytes >= contentBatch {
				return flush()
			}
			return nil
		},
	})
	if err != nil {
		return SyncResult{}, fmt.Errorf("scan: %w", err)
	}
	// Drain what the archive has after tar's end marker, so the download completes cleanly.
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	if err := flush(); err != nil {
		return SyncResult{}, err
	}
	scanned := time.Since(start)
	applied, err := r.store.ApplyScan(ctx, t.ID, store.ScanCommit{OID: t.HeadOID, CommittedAt: t.HeadCommittedAt,
		Duration: scanned, Result: res})
	if err != nil {
		return SyncResult{}, err
	}
	return SyncResult{Events: applied, Objects: len(res.Objects), Errors: len(res.Errors), Bytes: res.Bytes, Scan: scanned}, nil
}

// SyncQueued reports whether a sync button queued this repository and its sync has not ended.
func (r *Runner) SyncQueued(id int64) bool {
	r.syncSem()
	r.syncs.mu.Lock()
	defer r.syncs.mu.Unlock()
	return r.syncs.queued[id]
}

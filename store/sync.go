package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SyncTarget is what a sync needs to fetch one repository's scanned commit.
type SyncTarget struct {
	ID              int64
	Owner           string
	Name            string
	HeadOID         string
	HeadCommittedAt *time.Time
	Attempts        int // failed attempts since the last success, for the backoff
}

// FullName is owner/name.
func (t SyncTarget) FullName() string { return t.Owner + "/" + t.Name }

// ErrNotSyncable says a repository cannot be synced now (blocked, tombstoned, waiting for
// approval, gone from GitHub, or empty); the message says which.
var ErrNotSyncable = errors.New("repository cannot be synced")

// ErrUpToDate says a plain sync request found the head already scanned successfully: a
// download would only repeat the last one and spend the instance's GitHub budget.
var ErrUpToDate = errors.New("repository head already scanned")

// syncable is the condition every sync path shares: an admin's block or tombstone, a pending
// size approval or GitHub's absence keep the archive from ever being downloaded.
const syncable = `deleted_at IS NULL AND blocked_at IS NULL AND approval <> 'pending' AND gone_at IS NULL AND head_oid <> ''`

// DueForSync lists repositories whose head has not been scanned (or that were asked to sync)
// and whose backoff has passed, oldest wait first. The database picks the work, so a restart
// resumes where the last process stopped.
func (s *Store) DueForSync(ctx context.Context, limit int) ([]SyncTarget, error) {
	rows, err := s.query(ctx, `
		SELECT id, owner, name, head_oid, head_committed_at, sync_attempts FROM repositories
		WHERE sync_status <> 'syncing' AND (head_oid <> scanned_oid OR sync_status = 'pending')
		  AND (next_sync_at IS NULL OR next_sync_at <= ?) AND `+syncable+`
		ORDER BY next_sync_at, id LIMIT ?`, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due for sync: %w", err)
	}
	defer rows.Close()
	var out []SyncTarget
	for rows.Next() {
		var t SyncTarget
		if err := rows.Scan(&t.ID, &t.Owner, &t.Name, &t.HeadOID, nullTime{&t.HeadCommittedAt}, &t.Attempts); err != nil {
			return nil, fmt.Errorf("store: due for sync: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// BeginSync moves a repository to 'syncing' and returns the commit to fetch. It is the one
// guard against two syncs of a repo at once: the single writer makes the check-and-set atomic,
// and a repo already syncing gives ErrConflict.
func (s *Store) BeginSync(ctx context.Context, id int64) (SyncTarget, error) {
	var t SyncTarget
	err := s.w.QueryRowContext(ctx, `
		UPDATE repositories SET sync_status = 'syncing', sync_started_at = ?
		WHERE id = ? AND sync_status <> 'syncing' AND `+syncable+`
		RETURNING id, owner, name, head_oid, head_committed_at, sync_attempts`, s.now(), id).
		Scan(&t.ID, &t.Owner, &t.Name, &t.HeadOID, nullTime{&t.HeadCommittedAt}, &t.Attempts)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("store: begin sync of repository %d: %w", id, err)
	}
	r, gerr := s.GetRepository(ctx, id)
	if gerr != nil {
		return t, gerr
	}
	return t, fmt.Errorf("store: sync %s: %w", r.FullName(), whyNotSyncable(r))
}

// whyNotSyncable explains a refused BeginSync or RequestSync.
func whyNotSyncable(r Repository) error {
	switch st := r.Status(); {
	case st == "syncing":
		return fmt.Errorf("a sync is already running: %w", ErrConflict)
	case r.HeadOID == "":
		return fmt.Errorf("it has no commits yet: %w", ErrNotSyncable)
	default:
		return fmt.Errorf("it is %s: %w", strings.ReplaceAll(st, "_", " "), ErrNotSyncable)
	}
}

// RequestSync makes a repository due now (the sync button). A head already scanned
// successfully is downloaded again only for a rescan (a superuser's explicit action);
// otherwise the request gives ErrUpToDate. A repo already syncing gives ErrConflict; one
// that may not sync, ErrNotSyncable.
func (s *Store) RequestSync(ctx context.Context, id int64, rescan bool) error {
	// The up-to-date check is in the same statement as the update, so a scan finishing
	// between a check and the update cannot let a download of the same head through.
	res, err := s.w.ExecContext(ctx, `
		UPDATE repositories SET sync_status = 'pending', next_sync_at = ?
		WHERE id = ? AND sync_status <> 'syncing' AND `+syncable+`
			AND (? OR sync_status <> 'success' OR scanned_oid IS NOT head_oid)`, s.now(), id, rescan)
	if err != nil {
		return fmt.Errorf("store: request sync of repository %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	r, err := s.GetRepository(ctx, id)
	if err != nil {
		return err
	}
	if !rescan && r.Status() == "success" && r.ScannedOID == r.HeadOID && r.HeadOID != "" {
		return fmt.Errorf("store: sync %s: commit %s is already scanned: %w", r.FullName(), shortOID(r.HeadOID), ErrUpToDate)
	}
	return fmt.Errorf("store: sync %s: %w", r.FullName(), whyNotSyncable(r))
}

func shortOID(oid string) string { return oid[:min(len(oid), 7)] }

// FailSync records a failed sync: the message is kept for users, the next attempt waits
// until next, and the previous scan's data stays as it was.
func (s *Store) FailSync(ctx context.Context, id int64, msg string, next time.Time) error {
	_, err := s.w.ExecContext(ctx, `
		UPDATE repositories SET sync_status = 'error', sync_error = ?, sync_attempts = sync_attempts + 1,
			next_sync_at = ?, sync_started_at = NULL
		WHERE id = ?`, msg, next.UTC(), id)
	if err != nil {
		return fmt.Errorf("store: fail sync of repository %d: %w", id, err)
	}
	s.changed()
	return nil
}

// AbortSync puts one repository that was syncing back to 'pending' without counting a failure:
// its sync was interrupted (shutdown, cancel), not refused.
func (s *Store) AbortSync(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `
		UPDATE repositories SET sync_status = 'pending', sync_started_at = NULL WHERE id = ? AND sync_status = 'syncing'`, id)
	if err != nil {
		return fmt.Errorf("store: abort sync of repository %d: %w", id, err)
	}
	return nil
}

// ResourceHashes returns the content hashes a repository's resources reference now.
func (s *Store) ResourceHashes(ctx context.Context, repoID int64) (map[string]struct{}, error) {
	rows, err := s.query(ctx, "SELECT DISTINCT content_hash FROM resources WHERE repository_id = ?", repoID)
	if err != nil {
		return nil, fmt.Errorf("store: resource hashes: %w", err)
	}
	defer rows.Close()
	out := map[string]struct{}{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("store: resource hashes: %w", err)
		}
		out[h] = struct{}{}
	}
	return out, rows.Err()
}

// ResetInterruptedSyncs puts repositories a crashed or killed process left in 'syncing'
// back to 'pending' so the next pass takes them again. Call it before jobs start.
func (s *Store) ResetInterruptedSyncs(ctx context.Context) (int, error) {
	res, err := s.w.ExecContext(ctx, `
		UPDATE repositories SET sync_status = 'pending', sync_started_at = NULL, next_sync_at = ?
		WHERE sync_status = 'syncing'`, s.now())
	if err != nil {
		return 0, fmt.Errorf("store: reset interrupted syncs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Content is one redacted object body, keyed by the hex SHA-256 of its bytes.
type Content struct {
	Hash string
	Data []byte
}

// PutContents stores object bodies while a sync streams, in one short transaction per batch.
// A body already stored is only touched (its stored_at renewed when older than an hour), so
// that prune cannot remove it between now and the sync's final transaction.
func (s *Store) PutContents(ctx context.Context, cs []Content) error {
	if len(cs) == 0 {
		return nil
	}
	now := s.now()
	return s.InTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `
			INSERT INTO resource_contents (hash, content, stored_at) VALUES (?, ?, ?)
			ON CONFLICT (hash) DO UPDATE SET stored_at = excluded.stored_at WHERE stored_at < ?`)
		if err != nil {
			return fmt.Errorf("store: put contents: %w", err)
		}
		defer st.Close()
		touch := now.Add(-time.Hour)
		for _, c := range cs {
			if _, err := st.ExecContext(ctx, c.Hash, c.Data, now, touch); err != nil {
				return fmt.Errorf("store: put content %s: %w", c.Hash, err)
			}
		}
		return nil
	})
}

// PruneContents removes bodies no resource references any more, once they are older than
// olderThan (younger ones may belong to a sync that has not committed yet).
func (s *Store) PruneContents(ctx context.Context, olderThan time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `
		DELETE FROM resource_contents WHERE stored_at < ?
		AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.content_hash = resource_contents.hash)`, olderThan.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: prune contents: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

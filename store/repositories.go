package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Repository is a GitHub repository Kubestats knows, with its latest statistics and state.
type Repository struct {
	ID              int64
	GitHubID        string
	DatabaseID      int64
	Owner           string
	Name            string
	Description     string
	URL             string
	Homepage        string
	Language        string
	Topics          []string
	License         string
	DefaultBranch   string
	IsArchived      bool
	IsFork          bool
	CreatedAt       *time.Time
	PushedAt        *time.Time
	UpdatedAt       *time.Time
	DiskUsageKB     int
	Stars           int
	Forks           int
	Watchers        int
	OpenIssues      int
	HeadOID         string
	HeadCommittedAt *time.Time
	DiscoveryTopics []string
	FirstSeenAt     time.Time
	LastSeenAt      time.Time
	RefreshedAt     *time.Time
	GoneAt          *time.Time
	Approval        string
	BlockedAt       *time.Time
	DeletedAt       *time.Time
	SyncStatus      string
	SyncError       string
	SyncAttempts    int
	NextSyncAt      *time.Time
	ScannedOID      string
	ScannedAt       *time.Time
	// What the last successful scan saw.
	ScannedCommittedAt *time.Time
	SyncStartedAt      *time.Time
	ScanFiles          int
	ScanDocuments      int
	ScanBytes          int64
	ScanDurationMS     int64
	ObjectCount        int
	ChartCount         int
	ImageCount         int
	DeprecationCount   int
	ErrorCount         int
	SkippedCount       int
}

// Repository states as shown to users, most decisive first.
const (
	RepoDeleted         = "deleted"
	RepoBlocked         = "blocked"
	RepoPendingApproval = "pending_approval"
	RepoGone            = "gone"
)

// FullName is owner/name.
func (r Repository) FullName() string { return r.Owner + "/" + r.Name }

// Status is the one word that decides what happens to the repo: an admin's tombstone or
// block wins, then a pending size approval, then GitHub's absence, then the sync state.
func (r Repository) Status() string {
	switch {
	case r.DeletedAt != nil:
		return RepoDeleted
	case r.BlockedAt != nil:
		return RepoBlocked
	case r.Approval == "pending":
		return RepoPendingApproval
	case r.GoneAt != nil:
		return RepoGone
	}
	return r.SyncStatus
}

// RepoStatuses lists every value Status can take, for filters.
var RepoStatuses = []string{"pending", "syncing", "success", "error", RepoPendingApproval, RepoBlocked, RepoGone, RepoDeleted}

// RepoData is what GitHub says about a repository, as discovery and refresh read it.
type RepoData struct {
	GitHubID        string
	DatabaseID      int64
	Owner           string
	Name            string
	Description     string
	URL             string
	Homepage        string
	Language        string
	Topics          []string
	License         string
	DefaultBranch   string
	IsArchived      bool
	IsFork          bool
	CreatedAt       *time.Time
	PushedAt        *time.Time
	UpdatedAt       *time.Time
	DiskUsageKB     int
	Stars           int
	Forks           int
	Watchers        int
	OpenIssues      int
	HeadOID         string
	HeadCommittedAt *time.Time
}

const repoColumns = `id, github_id, database_id, owner, name, description, url, homepage, language, topics, license,
	default_branch, is_archived, is_fork, created_at, pushed_at, updated_at, disk_usage_kb, stars, forks, watchers,
	open_issues, head_oid, head_committed_at, discovery_topics, first_seen_at, last_seen_at, refreshed_at, gone_at,
	approval, blocked_at, deleted_at, sync_status, sync_error, sync_attempts, next_sync_at, scanned_oid, scanned_at,
	scanned_committed_at, sync_started_at, scan_files, scan_documents, scan_bytes, scan_duration_ms, object_count,
	chart_count, image_count, deprecation_count, error_count, skipped_count`

// nullTime scans a nullable DATETIME into a *time.Time.
type nullTime struct{ p **time.Time }

func (n nullTime) Scan(v any) error {
	var nt sql.NullTime
	if err := nt.Scan(v); err != nil {
		return err
	}
	if nt.Valid {
		t := nt.Time.UTC()
		*n.p = &t
	} else {
		*n.p = nil
	}
	return nil
}

// jsonList scans a JSON array column into a []string.
type jsonList struct{ p *[]string }

func (j jsonList) Scan(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	case nil:
		*j.p = nil
		return nil
	default:
		return fmt.Errorf("jsonList: unexpected %T", v)
	}
	return json.Unmarshal([]byte(s), j.p)
}

func scanRepo(row rowScanner) (Repository, error) {
	var r Repository
	err := row.Scan(&r.ID, &r.GitHubID, &r.DatabaseID, &r.Owner, &r.Name, &r.Description, &r.URL, &r.Homepage,
		&r.Language, jsonList{&r.Topics}, &r.License, &r.DefaultBranch, &r.IsArchived, &r.IsFork,
		nullTime{&r.CreatedAt}, nullTime{&r.PushedAt}, nullTime{&r.UpdatedAt}, &r.DiskUsageKB, &r.Stars, &r.Forks,
		&r.Watchers, &r.OpenIssues, &r.HeadOID, nullTime{&r.HeadCommittedAt}, jsonList{&r.DiscoveryTopics},
		&r.FirstSeenAt, &r.LastSeenAt, nullTime{&r.RefreshedAt}, nullTime{&r.GoneAt}, &r.Approval,
		nullTime{&r.BlockedAt}, nullTime{&r.DeletedAt}, &r.SyncStatus, &r.SyncError, &r.SyncAttempts,
		nullTime{&r.NextSyncAt}, &r.ScannedOID, nullTime{&r.ScannedAt}, nullTime{&r.ScannedCommittedAt},
		nullTime{&r.SyncStartedAt}, &r.ScanFiles, &r.ScanDocuments, &r.ScanBytes, &r.ScanDurationMS, &r.ObjectCount,
		&r.ChartCount, &r.ImageCount, &r.DeprecationCount, &r.ErrorCount, &r.SkippedCount)
	return r, err
}

func jsonString(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// DiscoverResult counts what UpsertDiscovered did.
type DiscoverResult struct {
	Created   int
	Updated   int
	Tombstone int // found again but deleted by an admin: left alone
	Snapshots int
}

// UpsertDiscovered records one page of search results for topic in one transaction:
// metadata, the discovering topic, first/last seen, the size approval and a metrics
// snapshot. Tombstoned repositories are never touched, so discovery cannot resurrect them.
func (s *Store) UpsertDiscovered(ctx context.Context, topic string, repos []RepoData, maxDiskKB int) (DiscoverResult, error) {
	var res DiscoverResult
	now := s.now()
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		for _, d := range repos {
			var id int64
			var deleted sql.NullTime
			var topicsJSON string
			err := tx.QueryRowContext(ctx, "SELECT id, deleted_at, discovery_topics FROM repositories WHERE github_id = ?", d.GitHubID).
				Scan(&id, &deleted, &topicsJSON)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				approval := "none"
				if maxDiskKB > 0 && d.DiskUsageKB > maxDiskKB {
					approval = "pending"
				}
				err = tx.QueryRowContext(ctx, `
					INSERT INTO repositories (github_id, database_id, owner, name, description, url, homepage, language,
						topics, license, default_branch, is_archived, is_fork, created_at, pushed_at, updated_at,
						disk_usage_kb, stars, forks, watchers, open_issues, head_oid, head_committed_at,
						discovery_topics, first_seen_at, last_seen_at, approval, next_sync_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
					RETURNING id`,
					d.GitHubID, d.DatabaseID, d.Owner, d.Name, d.Description, d.URL, d.Homepage, d.Language,
					jsonString(d.Topics), d.License, d.DefaultBranch, d.IsArchived, d.IsFork, utcPtr(d.CreatedAt),
					utcPtr(d.PushedAt), utcPtr(d.UpdatedAt), d.DiskUsageKB, d.Stars, d.Forks, d.Watchers, d.OpenIssues,
					d.HeadOID, utcPtr(d.HeadCommittedAt), jsonString([]string{topic}), now, now, approval, now).Scan(&id)
				if err != nil {
					return fmt.Errorf("insert %s/%s: %w", d.Owner, d.Name, err)
				}
				res.Created++
			case err != nil:
				return err
			case deleted.Valid:
				res.Tombstone++
				continue
			default:
				var topics []string
				_ = json.Unmarshal([]byte(topicsJSON), &topics)
				if !slices.Contains(topics, topic) {
					topics = append(topics, topic)
					slices.Sort(topics)
				}
				if err := updateRepoData(ctx, tx, id, d, now, maxDiskKB); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE repositories SET discovery_topics = ?, last_seen_at = ? WHERE id = ?`,
					jsonString(topics), now, id); err != nil {
					return err
				}
				res.Updated++
			}
			added, err := snapshot(ctx, tx, id, d, now)
			if err != nil {
				return err
			}
			if added {
				res.Snapshots++
			}
		}
		return nil
	})
	if err != nil {
		return DiscoverResult{}, fmt.Errorf("store: upsert discovered (%s): %w", topic, err)
	}
	s.changed()
	return res, nil
}

// updateRepoData writes GitHub's view of a known repository. The size approval is
// recomputed unless an admin approved it; a new head makes the repo due for sync.
func updateRepoData(ctx context.Context, tx *sql.Tx, id int64, d RepoData, now time.Time, maxDiskKB int) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE repositories SET database_id = ?, owner = ?, name = ?, description = ?, url = ?, homepage = ?,
			language = ?, topics = ?, license = ?, default_branch = ?, is_archived = ?, is_fork = ?, created_at = ?,
			pushed_at = ?, updated_at = ?, disk_usage_kb = ?, stars = ?, forks = ?, watchers = ?, open_issues = ?,
			head_oid = ?, head_committed_at = ?, gone_at = NULL,
			approval = CASE WHEN approval = 'approved' THEN 'approved'
			                WHEN ? > 0 AND ? > ? THEN 'pending' ELSE 'none' END,
			sync_status = CASE WHEN ? <> scanned_oid AND sync_status IN ('success', 'error') THEN 'pending' ELSE sync_status END,
			sync_attempts = CASE WHEN ? <> head_oid THEN 0 ELSE sync_attempts END,
			next_sync_at = CASE WHEN ? <> head_oid THEN ? ELSE next_sync_at END
		WHERE id = ?`,
		d.DatabaseID, d.Owner, d.Name, d.Description, d.URL, d.Homepage, d.Language, jsonString(d.Topics), d.License,
		d.DefaultBranch, d.IsArchived, d.IsFork, utcPtr(d.CreatedAt), utcPtr(d.PushedAt), utcPtr(d.UpdatedAt),
		d.DiskUsageKB, d.Stars, d.Forks, d.Watchers, d.OpenIssues, d.HeadOID, utcPtr(d.HeadCommittedAt),
		maxDiskKB, d.DiskUsageKB, maxDiskKB, d.HeadOID, d.HeadOID, d.HeadOID, now, id)
	if err != nil {
		return fmt.Errorf("update repository %d: %w", id, err)
	}
	return nil
}

// snapshot appends a metrics row when a value differs from the last row or the last
// row is from an earlier UTC day. It reports whether it wrote one.
func snapshot(ctx context.Context, tx *sql.Tx, id int64, d RepoData, now time.Time) (bool, error) {
	var last struct {
		at                                   time.Time
		stars, forks, watchers, issues, disk int
	}
	err := tx.QueryRowContext(ctx, `
		SELECT recorded_at, stars, forks, watchers, open_issues, disk_usage_kb FROM repository_metrics
		WHERE repository_id = ? ORDER BY recorded_at DESC LIMIT 1`, id).
		Scan(&last.at, &last.stars, &last.forks, &last.watchers, &last.issues, &last.disk)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if err == nil {
		same := last.stars == d.Stars && last.forks == d.Forks && last.watchers == d.Watchers &&
			last.issues == d.OpenIssues && last.disk == d.DiskUsageKB
		y1, m1, d1 := last.at.UTC().Date()
		y2, m2, d2 := now.Date()
		if same && y1 == y2 && m1 == m2 && d1 == d2 {
			return false, nil
		}
		if !now.After(last.at) {
			return false, nil // the clock did not move: never two rows for one instant
		}
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO repository_metrics (repository_id, recorded_at, stars, forks, watchers, open_issues, disk_usage_kb)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, now, d.Stars, d.Forks, d.Watchers, d.OpenIssues, d.DiskUsageKB)
	if err != nil {
		return false, fmt.Errorf("snapshot repository %d: %w", id, err)
	}
	return true, nil
}

// RefreshTargets returns the GitHub ids of every repository refresh should ask about:
// all but tombstoned ones (gone ones too, so a repo that comes back is noticed).
func (s *Store) RefreshTargets(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, "SELECT github_id FROM repositories WHERE deleted_at IS NULL ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: refresh targets: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: refresh targets: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RefreshResult counts what ApplyRefresh did.
type RefreshResult struct {
	Updated   int
	Snapshots int
	Gone      int
	DueSync   int
}

// ApplyRefresh writes one batch of refreshed repositories and marks the ones GitHub no
// longer returns as gone (keeping their data), all in one transaction.
func (s *Store) ApplyRefresh(ctx context.Context, repos []RepoData, gone []string, maxDiskKB int) (RefreshResult, error) {
	var res RefreshResult
	now := s.now()
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		for _, d := range repos {
			var id int64
			var head, scanned string
			err := tx.QueryRowContext(ctx, "SELECT id, head_oid, scanned_oid FROM repositories WHERE github_id = ? AND deleted_at IS NULL", d.GitHubID).
				Scan(&id, &head, &scanned)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted by an admin while the batch was in flight
			}
			if err != nil {
				return err
			}
			if err := updateRepoData(ctx, tx, id, d, now, maxDiskKB); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE repositories SET refreshed_at = ? WHERE id = ?", now, id); err != nil {
				return err
			}
			res.Updated++
			if d.HeadOID != "" && d.HeadOID != scanned {
				res.DueSync++
			}
			added, err := snapshot(ctx, tx, id, d, now)
			if err != nil {
				return err
			}
			if added {
				res.Snapshots++
			}
		}
		for _, gid := range gone {
			r, err := tx.ExecContext(ctx, "UPDATE repositories SET gone_at = ? WHERE github_id = ? AND gone_at IS NULL", now, gid)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				res.Gone++
			}
		}
		return nil
	})
	if err != nil {
		return RefreshResult{}, fmt.Errorf("store: apply refresh: %w", err)
	}
	s.changed()
	return res, nil
}

// GetRepositoryByName finds a repository by owner and name, case-insensitively. If a
// name was reused, the live repository wins over a gone or deleted one.
func (s *Store) GetRepositoryByName(ctx context.Context, owner, name string) (Repository, error) {
	r, err := scanRepo(s.queryRow(ctx, "SELECT "+repoColumns+` FROM repositories
		WHERE owner = ? COLLATE NOCASE AND name = ? COLLATE NOCASE
		ORDER BY deleted_at IS NOT NULL, gone_at IS NOT NULL, id DESC LIMIT 1`, owner, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Repository{}, fmt.Errorf("store: repository %s/%s: %w", owner, name, ErrNotFound)
	}
	if err != nil {
		return Repository{}, fmt.Errorf("store: repository %s/%s: %w", owner, name, err)
	}
	return r, nil
}

// GetRepository returns a repository by its id.
func (s *Store) GetRepository(ctx context.Context, id int64) (Repository, error) {
	r, err := scanRepo(s.queryRow(ctx, "SELECT "+repoColumns+" FROM repositories WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Repository{}, fmt.Errorf("store: repository %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Repository{}, fmt.Errorf("store: repository %d: %w", id, err)
	}
	return r, nil
}

// Metric is one statistics snapshot.
type Metric struct {
	At          time.Time
	Stars       int
	Forks       int
	Watchers    int
	OpenIssues  int
	DiskUsageKB int
}

// RepositoryMetrics returns a repository's snapshots since a time, oldest first.
func (s *Store) RepositoryMetrics(ctx context.Context, id int64, since time.Time) ([]Metric, error) {
	rows, err := s.query(ctx, `
		SELECT recorded_at, stars, forks, watchers, open_issues, disk_usage_kb FROM repository_metrics
		WHERE repository_id = ? AND recorded_at >= ? ORDER BY recorded_at`, id, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: metrics of repository %d: %w", id, err)
	}
	defer rows.Close()
	var out []Metric
	for rows.Next() {
		var m Metric
		if err := rows.Scan(&m.At, &m.Stars, &m.Forks, &m.Watchers, &m.OpenIssues, &m.DiskUsageKB); err != nil {
			return nil, fmt.Errorf("store: metrics of repository %d: %w", id, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MetricAt returns the last snapshot at or before t, or ErrNotFound.
func (s *Store) MetricAt(ctx context.Context, id int64, t time.Time) (Metric, error) {
	var m Metric
	err := s.queryRow(ctx, `
		SELECT recorded_at, stars, forks, watchers, open_issues, disk_usage_kb FROM repository_metrics
		WHERE repository_id = ? AND recorded_at <= ? ORDER BY recorded_at DESC LIMIT 1`, id, t.UTC()).
		Scan(&m.At, &m.Stars, &m.Forks, &m.Watchers, &m.OpenIssues, &m.DiskUsageKB)
	if errors.Is(err, sql.ErrNoRows) {
		return Metric{}, fmt.Errorf("store: metric of repository %d at %s: %w", id, t, ErrNotFound)
	}
	if err != nil {
		return Metric{}, fmt.Errorf("store: metric of repository %d: %w", id, err)
	}
	return m, nil
}

// RepoAction is an admin decision about a repository.
type RepoAction string

// Admin actions on a repository.
const (
	ActionBlock   RepoAction = "block"
	ActionUnblock RepoAction = "unblock"
	ActionApprove RepoAction = "approve"
	ActionDelete  RepoAction = "delete"
	ActionRestore RepoAction = "restore"
)

// ApplyRepoAction records an admin's block, unblock, approval, tombstone or restore.
func (s *Store) ApplyRepoAction(ctx context.Context, id int64, a RepoAction) error {
	now := s.now()
	var q string
	args := []any{now, id}
	switch a {
	case ActionBlock:
		q = "UPDATE repositories SET blocked_at = ? WHERE id = ?"
	case ActionApprove:
		q = "UPDATE repositories SET approval = 'approved', next_sync_at = ? WHERE id = ?"
	case ActionDelete:
		q = "UPDATE repositories SET deleted_at = ? WHERE id = ?"
	case ActionUnblock:
		q, args = "UPDATE repositories SET blocked_at = NULL WHERE id = ?", []any{id}
	case ActionRestore:
		q, args = "UPDATE repositories SET deleted_at = NULL WHERE id = ?", []any{id}
	default:
		return &ValidationError{Field: "action", Msg: fmt.Sprintf("unknown action %q", a)}
	}
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if a == ActionApprove {
			return nil
		}
		// Blocked and deleted repositories drop out of every total; the others come back.
		keys, err := repoStatKeys(ctx, tx, id)
		if err != nil {
			return err
		}
		return refreshStats(ctx, tx, keys, now)
	})
	if err != nil {
		return fmt.Errorf("store: %s repository %d: %w", a, id, err)
	}
	s.changed()
	return nil
}

// RepoFilter selects and orders a page of repositories. Zero values mean "any".
type RepoFilter struct {
	Q        string // full-text over name, description, topics
	Topic    string
	Language string
	Status   string // one of RepoStatuses
	Archived string // "", "yes", "no"
	Fork     string // "", "yes", "no"
	Sort     string // stars, forks, pushed, name, discovered
	Page     int    // 1-based
	PerPage  int
}

// RepoSorts maps each sort key to its ORDER BY; the id tiebreak keeps pages stable.
var RepoSorts = map[string]string{
	"stars":      "r.stars DESC, r.id DESC",
	"forks":      "r.forks DESC, r.id DESC",
	"pushed":     "r.pushed_at DESC, r.id DESC", // NULLs sort last in DESC: the index serves it
	"name":       "r.owner COLLATE NOCASE, r.name COLLATE NOCASE, r.id",
	"discovered": "r.first_seen_at DESC, r.id DESC",
}

// RepoPage is one page of repositories and the total that matched.
type RepoPage struct {
	Items []Repository
	Total int
}

// ftsQuery turns user input into an FTS5 query: every word must match as a prefix.
// Quoting each word makes FTS syntax characters in the input plain text.
func ftsQuery(q string) string {
	var parts []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool {
		return !(r == '_' || r == '.' || r == '-' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127)
	}) {
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
	}
	return strings.Join(parts, " ")
}

// ListRepositories returns one page of repositories matching f.
func (s *Store) ListRepositories(ctx context.Context, f RepoFilter) (RepoPage, error) {
	var where []string
	var args []any
	from := "repositories r"
	if q := ftsQuery(f.Q); q != "" {
		from = "repositories r JOIN repositories_fts ON repositories_fts.rowid = r.id"
		where = append(where, "repositories_fts MATCH ?")
		args = append(args, q)
	}
	if f.Topic != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(r.topics) WHERE value = ?)")
		args = append(args, f.Topic)
	}
	if f.Language != "" {
		where = append(where, "r.language = ?")
		args = append(args, f.Language)
	}
	for _, b := range []struct{ v, col string }{{f.Archived, "r.is_archived"}, {f.Fork, "r.is_fork"}} {
		switch b.v {
		case "yes":
			where = append(where, b.col+" = 1")
		case "no":
			where = append(where, b.col+" = 0")
		}
	}
	switch f.Status {
	case "":
		where = append(where, "r.deleted_at IS NULL")
	case RepoDeleted:
		where = append(where, "r.deleted_at IS NOT NULL")
	case RepoBlocked:
		where = append(where, "r.deleted_at IS NULL AND r.blocked_at IS NOT NULL")
	case RepoPendingApproval:
		where = append(where, "r.deleted_at IS NULL AND r.blocked_at IS NULL AND r.approval = 'pending'")
	case RepoGone:
		where = append(where, "r.deleted_at IS NULL AND r.blocked_at IS NULL AND r.approval <> 'pending' AND r.gone_at IS NOT NULL")
	default:
		if !slices.Contains(RepoStatuses, f.Status) {
			return RepoPage{}, &ValidationError{Field: "status", Msg: fmt.Sprintf("unknown status %q", f.Status)}
		}
		where = append(where, "r.deleted_at IS NULL AND r.blocked_at IS NULL AND r.approval <> 'pending' AND r.gone_at IS NULL AND r.sync_status = ?")
		args = append(args, f.Status)
	}
	order, ok := RepoSorts[f.Sort]
	if !ok {
		order = RepoSorts["stars"]
	}
	if f.PerPage <= 0 || f.PerPage > 200 {
		f.PerPage = 50
	}
	if f.Page < 1 {
		f.Page = 1
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var page RepoPage
	if err := s.queryRow(ctx, "SELECT count(*) FROM "+from+cond, args...).Scan(&page.Total); err != nil {
		return RepoPage{}, fmt.Errorf("store: count repositories: %w", err)
	}
	cols := strings.Split(repoColumns, ",")
	for i, col := range cols {
		cols[i] = "r." + strings.TrimSpace(col) // qualified: the FTS join has columns too
	}
	rows, err := s.query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+from+cond+" ORDER BY "+order+" LIMIT ? OFFSET ?",
		append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return RepoPage{}, fmt.Errorf("store: list repositories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRepo(rows)
		if err != nil {
			return RepoPage{}, fmt.Errorf("store: list repositories: %w", err)
		}
		page.Items = append(page.Items, r)
	}
	return page, rows.Err()
}

// Facet is a value with how many repositories have it.
type Facet struct {
	Value string
	Count int
}

// RepositoryFacets returns the most common languages and topics, for filter menus.
func (s *Store) RepositoryFacets(ctx context.Context, limit int) (languages, topics []Facet, err error) {
	languages, err = s.facets(ctx, `SELECT language, count(*) AS n FROM repositories WHERE deleted_at IS NULL AND language <> ''
		GROUP BY language ORDER BY n DESC, language LIMIT ?`, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("store: language facets: %w", err)
	}
	topics, err = s.facets(ctx, `SELECT t.value, count(*) AS n FROM repositories r, json_each(r.topics) t WHERE r.deleted_at IS NULL
		GROUP BY t.value ORDER BY n DESC, t.value LIMIT ?`, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("store: topic facets: %w", err)
	}
	return languages, topics, nil
}

// facets runs a query whose rows are (value, count).
func (s *Store) facets(ctx context.Context, query string, args ...any) ([]Facet, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Facet
	for rows.Next() {
		var f Facet
		if err := rows.Scan(&f.Value, &f.Count); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// RepositoryCounts counts repositories by Status, for the dashboard and jobs page.
func (s *Store) RepositoryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.query(ctx, `
		SELECT CASE WHEN deleted_at IS NOT NULL THEN 'deleted' WHEN blocked_at IS NOT NULL THEN 'blocked'
		            WHEN approval = 'pending' THEN 'pending_approval' WHEN gone_at IS NOT NULL THEN 'gone'
		            ELSE sync_status END AS st, count(*)
		FROM repositories GROUP BY st`)
	if err != nil {
		return nil, fmt.Errorf("store: repository counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: repository counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"fmt"
	"time"
)

// Community is the dashboard's picture of what the community runs, over live repositories
// (not deleted, not blocked).
type Community struct {
	Repos        int // live repositories
	ScannedRepos int // of those, scanned at least once
	Resources    int // objects in their scanned commits
	Charts       int // distinct charts deployed
	Images       int // distinct images referenced
	EventsWeek   int // resource events committed since the week's start (Since)
	Since        time.Time
	Newest       []Repository  // most recently discovered
	TopCharts    []ChartCount  // most adopted charts
	Recent       []RecentEvent // newest resource events
}

// RecentEvent is one resource event with its repository's name.
type RecentEvent struct {
	Owner, Name string
	Event
}

// CommunitySummary computes the dashboard's figures: every query reads a narrow index of the
// live repositories, a precomputed total or an index range, so the dashboard stays cheap at any
// size.
func (s *Store) CommunitySummary(ctx context.Context, now time.Time, lists int) (Community, error) {
	c := Community{Since: now.Add(-7 * 24 * time.Hour).UTC()}
	const live = "deleted_at IS NULL AND blocked_at IS NULL"
	err := s.queryRow(ctx, `
		SELECT count(*), count(nullif(scanned_oid, '')), coalesce(sum(object_count), 0),
			(SELECT count(*) FROM image_stats), (SELECT count(*) FROM chart_stats),
			(SELECT count(*) FROM resource_events WHERE committed_at >= ? AND `+liveRepoUsage+`)
		FROM repositories WHERE `+live, c.Since).
		Scan(&c.Repos, &c.ScannedRepos, &c.Resources, &c.Images, &c.Charts, &c.EventsWeek)
	if err != nil {
		return Community{}, fmt.Errorf("store: community totals: %w", err)
	}
	rows, err := s.query(ctx, `SELECT chart, repos FROM chart_stats ORDER BY repos DESC, chart LIMIT ?`, lists)
	if err != nil {
		return Community{}, fmt.Errorf("store: community charts: %w", err)
	}
	for rows.Next() {
		var cc ChartCount
		if err := rows.Scan(&cc.Chart, &cc.Repos); err != nil {
			rows.Close()
			return Community{}, fmt.Errorf("store: community charts: %w", err)
		}
		c.TopCharts = append(c.TopCharts, cc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Community{}, fmt.Errorf("store: community charts: %w", err)
	}

	rows, err = s.query(ctx, `SELECT `+repoColumns+` FROM repositories WHERE `+live+`
		ORDER BY first_seen_at DESC, id DESC LIMIT ?`, lists)
	if err != nil {
		return Community{}, fmt.Errorf("store: newest repositories: %w", err)
	}
	for rows.Next() {
		r, err := scanRepo(rows)
		if err != nil {
			rows.Close()
			return Community{}, fmt.Errorf("store: newest repositories: %w", err)
		}
		c.Newest = append(c.Newest, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Community{}, fmt.Errorf("store: newest repositories: %w", err)
	}

	rows, err = s.query(ctx, `
		SELECT r.owner, r.name, e.id, e.type, e.api_group, e.api_version, e.kind, e.namespace, e.name, e.path, e.old_path,
			e.old_api_version, e.content_hash, e.commit_oid, e.committed_at, e.detected_at
		FROM resource_events e CROSS JOIN repositories r ON r.id = e.repository_id
		WHERE r.deleted_at IS NULL AND r.blocked_at IS NULL
		ORDER BY e.committed_at DESC LIMIT ?`, lists) // CROSS JOIN: walk the time index newest first, stop at the limit
	if err != nil {
		return Community{}, fmt.Errorf("store: recent events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e RecentEvent
		if err := rows.Scan(&e.Owner, &e.Name, &e.ID, &e.Type, &e.Group, &e.APIVersion, &e.Kind, &e.Namespace, &e.Event.Name,
			&e.Path, &e.OldPath, &e.OldAPIVersion, &e.ContentHash, &e.CommitOID, nullTime{&e.CommittedAt}, &e.DetectedAt); err != nil {
			return Community{}, fmt.Errorf("store: recent events: %w", err)
		}
		c.Recent = append(c.Recent, e)
	}
	if err := rows.Err(); err != nil {
		return Community{}, fmt.Errorf("store: recent events: %w", err)
	}
	return c, nil
}

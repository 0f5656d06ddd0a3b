package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Resource is one object of a repository's scanned commit.
type Resource struct {
	ID          int64
	Path        string
	Doc         int
	Line        int
	Group       string
	APIVersion  string
	Kind        string
	Namespace   string
	Name        string
	ContentHash string
}

// ResourceFilter selects a page of one repository's resources. Zero values mean "any".
type ResourceFilter struct {
	Kind      string
	Namespace string
	Page      int // 1-based
	PerPage   int
}

// ResourcePage is one page of resources and the total that matched.
type ResourcePage struct {
	Items []Resource
	Total int
}

func pageBounds(page, perPage, def, max int) (int, int) {
	if perPage <= 0 || perPage > max {
		perPage = def
	}
	if page < 1 {
		page = 1
	}
	return page, perPage
}

const resourceColumns = "id, path, doc, line, api_group, api_version, kind, namespace, name, content_hash"

func scanResource(row rowScanner) (Resource, error) {
	var r Resource
	err := row.Scan(&r.ID, &r.Path, &r.Doc, &r.Line, &r.Group, &r.APIVersion, &r.Kind, &r.Namespace, &r.Name, &r.ContentHash)
	return r, err
}

// ListResources returns a page of a repository's resources ordered by file and position.
func (s *Store) ListResources(ctx context.Context, repoID int64, f ResourceFilter) (ResourcePage, error) {
	where, args := []string{"repository_id = ?"}, []any{repoID}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Namespace != "" {
		where, args = append(where, "namespace = ?"), append(args, f.Namespace)
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 500)
	cond := strings.Join(where, " AND ")
	var page ResourcePage
	if err := s.queryRow(ctx, "SELECT count(*) FROM resources WHERE "+cond, args...).Scan(&page.Total); err != nil {
		return ResourcePage{}, fmt.Errorf("store: count resources: %w", err)
	}
	rows, err := s.query(ctx, "SELECT "+resourceColumns+" FROM resources WHERE "+cond+
		" ORDER BY path, doc, kind, name LIMIT ? OFFSET ?", append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return ResourcePage{}, fmt.Errorf("store: list resources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return ResourcePage{}, fmt.Errorf("store: list resources: %w", err)
		}
		page.Items = append(page.Items, r)
	}
	return page, rows.Err()
}

// ResourceFacets counts a repository's resources by kind and by namespace, for filter menus.
func (s *Store) ResourceFacets(ctx context.Context, repoID int64) (kinds, namespaces []Facet, err error) {
	if kinds, err = s.facets(ctx, `SELECT kind, count(*) AS n FROM resources WHERE repository_id = ?
		GROUP BY kind ORDER BY n DESC, kind`, repoID); err != nil {
		return nil, nil, fmt.Errorf("store: resource kinds: %w", err)
	}
	if namespaces, err = s.facets(ctx, `SELECT namespace, count(*) AS n FROM resources WHERE repository_id = ?
		GROUP BY namespace ORDER BY n DESC, namespace`, repoID); err != nil {
		return nil, nil, fmt.Errorf("store: resource namespaces: %w", err)
	}
	return kinds, namespaces, nil
}

// ResourceContent returns one resource of a repository with its redacted body (canonical JSON).
func (s *Store) ResourceContent(ctx context.Context, repoID, id int64) (Resource, []byte, error) {
	var content []byte
	r, err := scanResource(s.queryRow(ctx, "SELECT "+resourceColumns+" FROM resources WHERE id = ? AND repository_id = ?", id, repoID))
	if errors.Is(err, sql.ErrNoRows) {
		return Resource{}, nil, fmt.Errorf("store: resource %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Resource{}, nil, fmt.Errorf("store: resource %d: %w", id, err)
	}
	err = s.queryRow(ctx, "SELECT content FROM resource_contents WHERE hash = ?", r.ContentHash).Scan(&content)
	if errors.Is(err, sql.ErrNoRows) {
		return Resource{}, nil, fmt.Errorf("store: content of resource %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Resource{}, nil, fmt.Errorf("store: content of resource %d: %w", id, err)
	}
	return r, content, nil
}

// ChartUsage is one chart deployed by a release or application of a repository.
type ChartUsage struct {
	Path            string
	Tool            string
	Kind            string
	ReleaseName     string
	Namespace       string
	Chart           string
	Version         string
	SourceKind      string
	SourceName      string
	SourceNamespace string
	SourceURL       string
	ChartURL        string
	Ambiguous       bool
	ValuesFrom      []string
	Values          string // redacted canonical JSON; "" when none
}

// RepoCharts lists the charts a repository deploys, by chart then file.
func (s *Store) RepoCharts(ctx context.Context, repoID int64) ([]ChartUsage, error) {
	rows, err := s.query(ctx, `
		SELECT path, tool, kind, release_name, namespace, chart, version, source_kind, source_name, source_namespace,
			source_url, chart_url, ambiguous, values_from, coalesce(chart_values, '')
		FROM chart_usages WHERE repository_id = ? ORDER BY chart, path, release_name`, repoID)
	if err != nil {
		return nil, fmt.Errorf("store: repository charts: %w", err)
	}
	defer rows.Close()
	var out []ChartUsage
	for rows.Next() {
		var c ChartUsage
		if err := rows.Scan(&c.Path, &c.Tool, &c.Kind, &c.ReleaseName, &c.Namespace, &c.Chart, &c.Version, &c.SourceKind,
			&c.SourceName, &c.SourceNamespace, &c.SourceURL, &c.ChartURL, &c.Ambiguous, jsonList{&c.ValuesFrom}, &c.Values); err != nil {
			return nil, fmt.Errorf("store: repository charts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ImageUsage is one container image reference in a repository.
type ImageUsage struct {
	Path       string
	Kind       string
	ObjectName string
	Namespace  string
	Source     string
	Image      string
	Registry   string
	Repository string
	Tag        string
	Digest     string
}

// RepoImages lists the images a repository references, by image then file.
func (s *Store) RepoImages(ctx context.Context, repoID int64) ([]ImageUsage, error) {
	rows, err := s.query(ctx, `
		SELECT path, kind, object_name, namespace, source, image, registry, repository, tag, digest
		FROM image_usages WHERE repository_id = ? ORDER BY image, path`, repoID)
	if err != nil {
		return nil, fmt.Errorf("store: repository images: %w", err)
	}
	defer rows.Close()
	var out []ImageUsage
	for rows.Next() {
		var m ImageUsage
		if err := rows.Scan(&m.Path, &m.Kind, &m.ObjectName, &m.Namespace, &m.Source, &m.Image, &m.Registry,
			&m.Repository, &m.Tag, &m.Digest); err != nil {
			return nil, fmt.Errorf("store: repository images: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeprecatedUsage is one object of a repository on a deprecated or removed API version.
type DeprecatedUsage struct {
	Path         string
	APIVersion   string
	Kind         string
	Name         string
	Namespace    string
	Project      string
	DeprecatedIn string
	RemovedIn    string
	Replacement  string
}

// RepoDeprecations lists a repository's objects on deprecated APIs, removed ones first.
func (s *Store) RepoDeprecations(ctx context.Context, repoID int64) ([]DeprecatedUsage, error) {
	rows, err := s.query(ctx, `
		SELECT path, api_version, kind, name, namespace, project, deprecated_in, removed_in, replacement
		FROM deprecated_usages WHERE repository_id = ? ORDER BY removed_in = '', api_version, kind, path`, repoID)
	if err != nil {
		return nil, fmt.Errorf("store: repository deprecations: %w", err)
	}
	defer rows.Close()
	var out []DeprecatedUsage
	for rows.Next() {
		var d DeprecatedUsage
		if err := rows.Scan(&d.Path, &d.APIVersion, &d.Kind, &d.Name, &d.Namespace, &d.Project, &d.DeprecatedIn,
			&d.RemovedIn, &d.Replacement); err != nil {
			return nil, fmt.Errorf("store: repository deprecations: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ScanProblem is a file of the scanned commit that was not read ("skipped") or not understood ("error").
type ScanProblem struct {
	Kind    string
	Path    string
	Line    int
	Message string
}

// RepoScanProblems lists a repository's scan errors and skipped files, errors first.
func (s *Store) RepoScanProblems(ctx context.Context, repoID int64) ([]ScanProblem, error) {
	rows, err := s.query(ctx, `
		SELECT kind, path, line, message FROM scan_errors WHERE repository_id = ? ORDER BY kind, path, line`, repoID)
	if err != nil {
		return nil, fmt.Errorf("store: scan problems: %w", err)
	}
	defer rows.Close()
	var out []ScanProblem
	for rows.Next() {
		var p ScanProblem
		if err := rows.Scan(&p.Kind, &p.Path, &p.Line, &p.Message); err != nil {
			return nil, fmt.Errorf("store: scan problems: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Event is one lifecycle change of a resource between scanned commits.
type Event struct {
	ID            int64
	Type          string
	Group         string
	APIVersion    string
	Kind          string
	Namespace     string
	Name          string
	Path          string
	OldPath       string
	OldAPIVersion string
	ContentHash   string
	CommitOID     string
	CommittedAt   *time.Time
	DetectedAt    time.Time
}

// EventFilter selects a page of one repository's events, newest commit first.
type EventFilter struct {
	Type    string    // one of EventTypes, or "" for all
	Since   time.Time // only events committed at or after it; zero for all
	Page    int
	PerPage int
}

// EventPage is one page of events and the total that matched.
type EventPage struct {
	Items []Event
	Total int
}

// ListEvents returns a page of a repository's resource events.
func (s *Store) ListEvents(ctx context.Context, repoID int64, f EventFilter) (EventPage, error) {
	where, args := "repository_id = ?", []any{repoID}
	if f.Type != "" {
		if !slices.Contains(EventTypes, f.Type) {
			return EventPage{}, &ValidationError{Field: "type", Msg: fmt.Sprintf("unknown event type %q", f.Type)}
		}
		where, args = where+" AND type = ?", append(args, f.Type)
	}
	if !f.Since.IsZero() {
		// An event without a commit time (none are written so today) has none to compare.
		where, args = where+" AND committed_at >= ?", append(args, f.Since.UTC())
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 500)
	var page EventPage
	if err := s.queryRow(ctx, "SELECT count(*) FROM resource_events WHERE "+where, args...).Scan(&page.Total); err != nil {
		return EventPage{}, fmt.Errorf("store: count events: %w", err)
	}
	rows, err := s.query(ctx, `
		SELECT id, type, api_group, api_version, kind, namespace, name, path, old_path, old_api_version, content_hash,
			commit_oid, committed_at, detected_at
		FROM resource_events WHERE `+where+` ORDER BY committed_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return EventPage{}, fmt.Errorf("store: list events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.Type, &e.Group, &e.APIVersion, &e.Kind, &e.Namespace, &e.Name, &e.Path, &e.OldPath,
			&e.OldAPIVersion, &e.ContentHash, &e.CommitOID, nullTime{&e.CommittedAt}, &e.DetectedAt); err != nil {
			return EventPage{}, fmt.Errorf("store: list events: %w", err)
		}
		e.DetectedAt = e.DetectedAt.UTC()
		page.Items = append(page.Items, e)
	}
	return page, rows.Err()
}

// EventDay counts one UTC day's events of a repository by type.
type EventDay struct {
	Day                               time.Time
	Created, Modified, Moved, Deleted int
}

// EventDays counts a repository's events per UTC day of their commit since since, oldest first.
func (s *Store) EventDays(ctx context.Context, repoID int64, since time.Time) ([]EventDay, error) {
	rows, err := s.query(ctx, `
		SELECT date(committed_at) AS d, sum(type = 'created'), sum(type = 'modified'), sum(type = 'moved'), sum(type = 'deleted')
		FROM resource_events WHERE repository_id = ? AND committed_at >= ?
		GROUP BY d ORDER BY d`, repoID, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: event days: %w", err)
	}
	defer rows.Close()
	var out []EventDay
	for rows.Next() {
		var d EventDay
		var day string
		if err := rows.Scan(&day, &d.Created, &d.Modified, &d.Moved, &d.Deleted); err != nil {
			return nil, fmt.Errorf("store: event days: %w", err)
		}
		if d.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("store: event days: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Deprecation projects and statuses, for filters.
var (
	DeprecationProjects = []string{"kubernetes", "flux"}
	DeprecationStatuses = []string{"removed", "deprecated"} // deprecated: not removed yet
)

// DeprecationFilter narrows the deprecated APIs. Zero values mean "any".
type DeprecationFilter struct {
	Project string // one of DeprecationProjects
	Status  string // one of DeprecationStatuses
}

// DeprecatedAPI is one deprecated or removed API (apiVersion + kind) and how much live
// repositories still use it.
type DeprecatedAPI struct {
	APIVersion   string
	Kind         string
	Project      string
	DeprecatedIn string
	RemovedIn    string // "" while only deprecated
	Replacement  string
	Repos        int
	Objects      int
}

// Removed reports whether the API is gone from the project's current releases.
func (d DeprecatedAPI) Removed() bool { return d.RemovedIn != "" }

// scope is the deprecation_stats scope that holds the APIs f selects.
func (f DeprecationFilter) scope() (project, status string, err error) {
	switch f.Project {
	case "", "kubernetes", "flux":
	default:
		return "", "", &ValidationError{Field: "project", Msg: fmt.Sprintf("unknown project %q", f.Project)}
	}
	switch f.Status {
	case "", "removed", "deprecated":
	default:
		return "", "", &ValidationError{Field: "status", Msg: fmt.Sprintf("unknown status %q", f.Status)}
	}
	return f.Project, f.Status, nil
}

// maxDeprecatedAPIs bounds the list; the scanner's table has far fewer entries.
const maxDeprecatedAPIs = 500

// ListDeprecatedAPIs lists deprecated APIs with how many live repositories and objects use them,
// removed ones first, then by repositories, from the totals kept in deprecation_stats.
func (s *Store) ListDeprecatedAPIs(ctx context.Context, f DeprecationFilter) ([]DeprecatedAPI, error) {
	project, status, err := f.scope()
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `
		SELECT api_version, kind, project, deprecated_in, removed_in, replacement, repos, objects
		FROM deprecation_stats WHERE scope_project = ? AND scope_status = ?
		ORDER BY removed_in = '', repos DESC, objects DESC, api_version, kind LIMIT ?`, project, status, maxDeprecatedAPIs)
	if err != nil {
		return nil, fmt.Errorf("store: list deprecated apis: %w", err)
	}
	defer rows.Close()
	var out []DeprecatedAPI
	for rows.Next() {
		var d DeprecatedAPI
		if err := rows.Scan(&d.APIVersion, &d.Kind, &d.Project, &d.DeprecatedIn, &d.RemovedIn, &d.Replacement, &d.Repos, &d.Objects); err != nil {
			return nil, fmt.Errorf("store: list deprecated apis: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list deprecated apis: %w", err)
	}
	return out, nil
}

// GetDeprecatedAPI summarises one API's use by live repositories, or returns ErrNotFound.
func (s *Store) GetDeprecatedAPI(ctx context.Context, apiVersion, kind string) (DeprecatedAPI, error) {
	d := DeprecatedAPI{APIVersion: apiVersion, Kind: kind}
	err := s.queryRow(ctx, `
		SELECT project, deprecated_in, removed_in, replacement, repos, objects FROM deprecation_stats
		WHERE api_version = ? AND kind = ? AND scope_project = '' AND scope_status = ''`, apiVersion, kind).
		Scan(&d.Project, &d.DeprecatedIn, &d.RemovedIn, &d.Replacement, &d.Repos, &d.Objects)
	if errors.Is(err, sql.ErrNoRows) {
		return DeprecatedAPI{}, fmt.Errorf("store: deprecated api %s %s: %w", apiVersion, kind, ErrNotFound)
	}
	if err != nil {
		return DeprecatedAPI{}, fmt.Errorf("store: deprecated api %s %s: %w", apiVersion, kind, err)
	}
	return d, nil
}

// DeprecatedFile is one file of a repository with objects on a deprecated API.
type DeprecatedFile struct {
	Path    string
	Objects int
}

// DeprecatedRepo is a repository still using one deprecated API, with the files that do.
type DeprecatedRepo struct {
	ID         int64
	Owner      string
	Name       string
	URL        string
	Stars      int
	ScannedOID string
	Objects    int
	Files      []DeprecatedFile // at most maxFilesPerRepo, most objects first
	FileCount  int
}

// FullName is owner/name.
func (r DeprecatedRepo) FullName() string { return r.Owner + "/" + r.Name }

// DeprecatedRepoPage is one page of repositories using a deprecated API.
type DeprecatedRepoPage struct {
	Items []DeprecatedRepo
	Total int
}

const maxFilesPerRepo = 20

// ListDeprecatedAPIRepos returns a page of the live repositories using apiVersion/kind, most
// objects first, each with its files.
func (s *Store) ListDeprecatedAPIRepos(ctx context.Context, apiVersion, kind string, page, perPage int) (DeprecatedRepoPage, error) {
	page, perPage = pageBounds(page, perPage, 50, 200)
	rows, err := s.query(ctx, `
		SELECT r.id, r.owner, r.name, r.url, r.stars, r.scanned_oid, d.objects, d.files, count(*) OVER ()
		FROM (SELECT repository_id, count(*) AS objects, count(DISTINCT path) AS files FROM deprecated_usages
		      WHERE api_version = ? AND kind = ? AND `+liveRepoUsage+` GROUP BY repository_id) d
		JOIN repositories r ON r.id = d.repository_id
		ORDER BY d.objects DESC, r.stars DESC, r.id LIMIT ? OFFSET ?`, apiVersion, kind, perPage, (page-1)*perPage)
	if err != nil {
		return DeprecatedRepoPage{}, fmt.Errorf("store: repos using %s %s: %w", apiVersion, kind, err)
	}
	var out DeprecatedRepoPage
	idx := map[int64]int{}
	for rows.Next() {
		var r DeprecatedRepo
		if err := rows.Scan(&r.ID, &r.Owner, &r.Name, &r.URL, &r.Stars, &r.ScannedOID, &r.Objects, &r.FileCount, &out.Total); err != nil {
			rows.Close()
			return DeprecatedRepoPage{}, fmt.Errorf("store: repos using %s %s: %w", apiVersion, kind, err)
		}
		idx[r.ID] = len(out.Items)
		out.Items = append(out.Items, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return DeprecatedRepoPage{}, fmt.Errorf("store: repos using %s %s: %w", apiVersion, kind, err)
	}
	if len(out.Items) == 0 {
		if page > 1 {
			err := s.queryRow(ctx, `SELECT count(DISTINCT repository_id) FROM deprecated_usages
				WHERE api_version = ? AND kind = ? AND `+liveRepoUsage, apiVersion, kind).Scan(&out.Total)
			if err != nil {
				return DeprecatedRepoPage{}, fmt.Errorf("store: count repos using %s %s: %w", apiVersion, kind, err)
			}
		}
		return out, nil
	}
	// One query for the files of the whole page; the window keeps the top files per repo.
	ids := make([]any, 0, len(out.Items)+3)
	ids = append(ids, apiVersion, kind)
	for _, r := range out.Items {
		ids = append(ids, r.ID)
	}
	ids = append(ids, maxFilesPerRepo)
	frows, err := s.query(ctx, `
		SELECT repository_id, path, n FROM (
			SELECT repository_id, path, count(*) AS n,
				row_number() OVER (PARTITION BY repository_id ORDER BY count(*) DESC, path) AS rn
			FROM deprecated_usages WHERE api_version = ? AND kind = ? AND repository_id IN (?`+strings.Repeat(", ?", len(out.Items)-1)+`)
			GROUP BY repository_id, path
		) WHERE rn <= ? ORDER BY repository_id, rn`, ids...)
	if err != nil {
		return DeprecatedRepoPage{}, fmt.Errorf("store: files using %s %s: %w", apiVersion, kind, err)
	}
	defer frows.Close()
	for frows.Next() {
		var id int64
		var f DeprecatedFile
		if err := frows.Scan(&id, &f.Path, &f.Objects); err != nil {
			return DeprecatedRepoPage{}, fmt.Errorf("store: files using %s %s: %w", apiVersion, kind, err)
		}
		i := idx[id]
		out.Items[i].Files = append(out.Items[i].Files, f)
	}
	if err := frows.Err(); err != nil {
		return DeprecatedRepoPage{}, fmt.Errorf("store: files using %s %s: %w", apiVersion, kind, err)
	}
	return out, nil
}

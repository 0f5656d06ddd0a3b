package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// KindFilter selects and orders a page of kinds. Zero values mean "any".
type KindFilter struct {
	Group     *string // exact API group; "" is the core group, nil any group
	Kind      string  // case-insensitive substring of the kind
	Namespace *string // exact namespace; "" is cluster-scoped (or none written), nil any
	Name      string  // case-insensitive substring of object names
	Repo      string  // "owner/name" (one repository) or "owner" (all of theirs), case-insensitive
	Sort      string  // repos, objects, name
	Page      int     // 1-based
	PerPage   int
}

// KindSorts maps each sort key to its ORDER BY; the name tiebreak keeps pages stable.
var KindSorts = map[string]string{
	"repos":   "repos DESC, objects DESC, kind, api_group",
	"objects": "objects DESC, repos DESC, kind, api_group",
	"name":    "kind, api_group",
}

// ObjectFiltered reports whether the filter looks at objects (namespace, name, repository),
// which the per-kind totals cannot answer: those are counted from resources.
func (f KindFilter) ObjectFiltered() bool {
	return f.Namespace != nil || strings.TrimSpace(f.Name) != "" || strings.TrimSpace(f.Repo) != ""
}

// KindSummary is one API group and kind with how many live repositories define objects of it.
type KindSummary struct {
	Group   string // "" for the core group
	Kind    string
	Repos   int
	Objects int
}

// KindPage is one page of kinds and the total that matched.
type KindPage struct {
	Items []KindSummary
	Total int
}

// repoMatch selects live repositories by "owner/name" or by "owner", through the
// case-insensitive (owner, name) index.
func repoMatch(repo string) (string, []any) {
	live := " AND deleted_at IS NULL AND blocked_at IS NULL"
	if owner, name, ok := strings.Cut(repo, "/"); ok {
		return "SELECT id FROM repositories WHERE owner = ? COLLATE NOCASE AND name = ? COLLATE NOCASE" + live,
			[]any{strings.TrimSpace(owner), strings.TrimSpace(name)}
	}
	return "SELECT id FROM repositories WHERE owner = ? COLLATE NOCASE" + live, []any{repo}
}

// ListKinds returns a page of API kinds with their live repositories and objects. Without
// object filters it reads kind_stats; with them it groups the matching resources.
func (s *Store) ListKinds(ctx context.Context, f KindFilter) (KindPage, error) {
	order, ok := KindSorts[f.Sort]
	if !ok {
		order = KindSorts["repos"]
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	// Group and kind narrow kind_stats, and through it the (api_group, kind) index ranges of
	// resources, so a kind filter never scans other kinds' objects.
	var kindCond []string
	var kindArgs []any
	if f.Group != nil {
		kindCond, kindArgs = append(kindCond, "api_group = ?"), append(kindArgs, *f.Group)
	}
	if k := strings.TrimSpace(f.Kind); k != "" {
		kindCond, kindArgs = append(kindCond, `kind LIKE ? ESCAPE '\'`), append(kindArgs, likeContains(k))
	}
	var query string
	var args []any
	if !f.ObjectFiltered() {
		where := ""
		if len(kindCond) > 0 {
			where = " WHERE " + strings.Join(kindCond, " AND ")
		}
		query, args = `SELECT api_group, kind, repos, objects, count(*) OVER () FROM kind_stats`+where, kindArgs
	} else {
		var where []string
		// The name test goes first: it is the cheap one that rejects most rows.
		if n := strings.TrimSpace(f.Name); n != "" {
			where, args = append(where, `name LIKE ? ESCAPE '\'`), append(args, likeContains(n))
		}
		if f.Namespace != nil {
			where, args = append(where, "namespace = ?"), append(args, *f.Namespace)
		}
		if r := strings.TrimSpace(f.Repo); r != "" {
			sub, subArgs := repoMatch(r)
			where, args = append(where, "repository_id IN ("+sub+")"), append(args, subArgs...)
		}
		if len(kindCond) > 0 {
			where = append(where, "(api_group, kind) IN (SELECT api_group, kind FROM kind_stats WHERE "+strings.Join(kindCond, " AND ")+")")
			args = append(args, kindArgs...)
		}
		where = append(where, liveRepoUsage)
		query = `SELECT api_group, kind, repos, objects, count(*) OVER () FROM (
			SELECT api_group, kind, count(DISTINCT repository_id) AS repos, count(*) AS objects
			FROM resources WHERE ` + strings.Join(where, " AND ") + ` GROUP BY api_group, kind)`
	}
	rows, err := s.query(ctx, query+" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return KindPage{}, fmt.Errorf("store: list kinds: %w", err)
	}
	defer rows.Close()
	var page KindPage
	for rows.Next() {
		var k KindSummary
		if err := rows.Scan(&k.Group, &k.Kind, &k.Repos, &k.Objects, &page.Total); err != nil {
			return KindPage{}, fmt.Errorf("store: list kinds: %w", err)
		}
		page.Items = append(page.Items, k)
	}
	if err := rows.Err(); err != nil {
		return KindPage{}, fmt.Errorf("store: list kinds: %w", err)
	}
	if len(page.Items) == 0 && f.Page > 1 {
		// Past the last page the window has no row to report the total on.
		if err := s.queryRow(ctx, "SELECT count(*) FROM ("+query+")", args...).Scan(&page.Total); err != nil {
			return KindPage{}, fmt.Errorf("store: count kinds: %w", err)
		}
	}
	return page, nil
}

// KindGroups counts kinds per API group, most first, for the filter menu.
func (s *Store) KindGroups(ctx context.Context, limit int) ([]Facet, error) {
	out, err := s.facets(ctx, `SELECT api_group, count(*) AS n FROM kind_stats
		GROUP BY api_group ORDER BY n DESC, api_group LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: kind groups: %w", err)
	}
	return out, nil
}

// GetKind returns one kind's totals over live repositories, or ErrNotFound when no live
// repository defines an object of it.
func (s *Store) GetKind(ctx context.Context, group, kind string) (KindSummary, error) {
	k := KindSummary{Group: group, Kind: kind}
	err := s.queryRow(ctx, `SELECT repos, objects FROM kind_stats WHERE api_group = ? AND kind = ?`, group, kind).
		Scan(&k.Repos, &k.Objects)
	if errors.Is(err, sql.ErrNoRows) {
		return KindSummary{}, fmt.Errorf("store: kind %s/%s: %w", group, kind, ErrNotFound)
	}
	if err != nil {
		return KindSummary{}, fmt.Errorf("store: kind %s/%s: %w", group, kind, err)
	}
	return k, nil
}

// KindNameFilter selects and orders a page of one kind's object names.
type KindNameFilter struct {
	Q         string  // case-insensitive substring of the name
	Namespace *string // exact namespace, nil any
	Sort      string  // repos, objects, name
	Page      int
	PerPage   int
}

// KindNameSorts maps each sort key to its ORDER BY.
var KindNameSorts = map[string]string{
	"repos":   "repos DESC, objects DESC, name",
	"objects": "objects DESC, repos DESC, name",
	"name":    "name",
}

// KindName is one object name of a kind with how many live repositories define it.
type KindName struct {
	Name    string
	Repos   int
	Objects int
}

// KindNamePage is one page of names and the total that matched.
type KindNamePage struct {
	Items []KindName
	Total int
}

// ListKindNames groups one kind's objects in live repositories by name.
func (s *Store) ListKindNames(ctx context.Context, group, kind string, f KindNameFilter) (KindNamePage, error) {
	order, ok := KindNameSorts[f.Sort]
	if !ok {
		order = KindNameSorts["repos"]
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	where, args := []string{"api_group = ?", "kind = ?"}, []any{group, kind}
	if q := strings.TrimSpace(f.Q); q != "" {
		where, args = append(where, `name LIKE ? ESCAPE '\'`), append(args, likeContains(q))
	}
	if f.Namespace != nil {
		// The unary + keeps the planner off the namespace index: that one would find the rows
		// but then sort them all by name, which costs more than filtering the name-ordered walk.
		where, args = append(where, "+namespace = ?"), append(args, *f.Namespace)
	}
	where = append(where, liveRepoUsage)
	// The (api_group, kind, name, repository_id, namespace) index walks the kind's names in order
	// and covers every column, so this is one range scan of the kind's objects.
	query := `SELECT name, count(DISTINCT repository_id) AS repos, count(*) AS objects
		FROM resources WHERE ` + strings.Join(where, " AND ") + ` GROUP BY name`
	rows, err := s.query(ctx, `SELECT name, repos, objects, count(*) OVER () FROM (`+query+`)
		ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return KindNamePage{}, fmt.Errorf("store: list kind names: %w", err)
	}
	defer rows.Close()
	var page KindNamePage
	for rows.Next() {
		var n KindName
		if err := rows.Scan(&n.Name, &n.Repos, &n.Objects, &page.Total); err != nil {
			return KindNamePage{}, fmt.Errorf("store: list kind names: %w", err)
		}
		page.Items = append(page.Items, n)
	}
	if err := rows.Err(); err != nil {
		return KindNamePage{}, fmt.Errorf("store: list kind names: %w", err)
	}
	if len(page.Items) == 0 && f.Page > 1 {
		if err := s.queryRow(ctx, "SELECT count(*) FROM ("+query+")", args...).Scan(&page.Total); err != nil {
			return KindNamePage{}, fmt.Errorf("store: count kind names: %w", err)
		}
	}
	return page, nil
}

// KindObjectFilter selects and orders a page of the objects of one kind and name.
type KindObjectFilter struct {
	Namespace *string // exact namespace, nil any
	Sort      string  // stars, repo
	Page      int
	PerPage   int
}

// KindObjectSorts maps each sort key to its ORDER BY; the resource id keeps pages stable.
// None sorts by path: the page is picked from the covering (api_group, kind, name, …) index
// and the repositories alone, and only its rows are read in full.
var KindObjectSorts = map[string]string{
	"stars": "r.stars DESC, r.owner COLLATE NOCASE, r.name COLLATE NOCASE, o.id",
	"repo":  "r.owner COLLATE NOCASE, r.name COLLATE NOCASE, o.id",
}

// KindObject is one object of a kind and name with the repository and file that define it.
type KindObject struct {
	ResourceID int64
	RepoID     int64
	Owner      string
	Name       string
	URL        string
	Stars      int
	ScannedOID string
	Namespace  string
	APIVersion string
	Path       string
	Line       int
}

// FullName is the repository's owner/name.
func (o KindObject) FullName() string { return o.Owner + "/" + o.Name }

// KindObjectPage is one page of objects, the total that matched and in how many repositories.
type KindObjectPage struct {
	Items []KindObject
	Total int
	Repos int
}

// ListKindObjects returns a page of the objects of one kind and name in live repositories.
func (s *Store) ListKindObjects(ctx context.Context, group, kind, name string, f KindObjectFilter) (KindObjectPage, error) {
	cond := "o.api_group = ? AND o.kind = ? AND o.name = ? AND r.deleted_at IS NULL AND r.blocked_at IS NULL"
	args := []any{group, kind, name}
	if f.Namespace != nil {
		cond, args = cond+" AND o.namespace = ?", append(args, *f.Namespace)
	}
	order, ok := KindObjectSorts[f.Sort]
	if !ok {
		order = KindObjectSorts["stars"]
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	const from = " FROM resources o JOIN repositories r ON r.id = o.repository_id WHERE "
	var page KindObjectPage
	if err := s.queryRow(ctx, "SELECT count(*), count(DISTINCT o.repository_id)"+from+cond, args...).
		Scan(&page.Total, &page.Repos); err != nil {
		return KindObjectPage{}, fmt.Errorf("store: count kind objects: %w", err)
	}
	// A popular name (a root Kustomization) has thousands of objects: sort their ids from the
	// index, then read the page's rows.
	rows, err := s.query(ctx, `SELECT o.id, r.id, r.owner, r.name, r.url, r.stars, r.scanned_oid, o.namespace,
		o.api_version, o.path, o.line
		FROM (SELECT o.id AS id`+from+cond+" ORDER BY "+order+` LIMIT ? OFFSET ?) p
		JOIN resources o ON o.id = p.id JOIN repositories r ON r.id = o.repository_id
		ORDER BY `+order, append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return KindObjectPage{}, fmt.Errorf("store: list kind objects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o KindObject
		if err := rows.Scan(&o.ResourceID, &o.RepoID, &o.Owner, &o.Name, &o.URL, &o.Stars, &o.ScannedOID, &o.Namespace,
			&o.APIVersion, &o.Path, &o.Line); err != nil {
			return KindObjectPage{}, fmt.Errorf("store: list kind objects: %w", err)
		}
		page.Items = append(page.Items, o)
	}
	if err := rows.Err(); err != nil {
		return KindObjectPage{}, fmt.Errorf("store: list kind objects: %w", err)
	}
	return page, nil
}

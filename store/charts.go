package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubestats/kubestats/scan"
)

// Charts are aggregated over the chart_usages of visible repositories only: a tombstoned or
// blocked repository's last scan stays in the database but counts nowhere.
const hiddenRepos = `SELECT id FROM repositories WHERE deleted_at IS NOT NULL OR blocked_at IS NOT NULL`

// GrowthWindow is how far back "recent growth" looks.
const GrowthWindow = 30 * 24 * time.Hour

// freshReleases selects the release objects (HelmRelease, Application, ApplicationSet) that
// appeared within the growth window: a 'created' event committed at or after ?1 that is not
// part of the repository's first scan. A first scan stamps every object with the head commit's
// time, so without that rule a newly discovered repository would look like fresh adoption of
// everything it runs. An event is from a later scan when the repository has an older event.
// The partial index holds release creations alone, so the read is the window's few hundred.
const freshReleases = `
	SELECT DISTINCT e.repository_id, e.kind, e.namespace, e.name FROM resource_events e INDEXED BY resource_events_release_created
	WHERE e.committed_at >= ?1 AND e.type = 'created' AND e.kind IN ('HelmRelease', 'Application', 'ApplicationSet')
		AND EXISTS (SELECT 1 FROM resource_events p WHERE p.repository_id = e.repository_id AND p.committed_at < e.committed_at)`

// chartGrowth counts, per chart, the repositories that started using it within the window:
// every current usage of the chart in the repository is a fresh release (so a repository that
// already ran the chart and added a second release of it is not new). cond narrows the charts.
//
// Growth is kept in chart_stats (see stats.go): RefreshChartGrowth and RebuildStats count it for
// every chart (allChartsGrowth), a write for the charts it touched (chartGrowthOf). CROSS JOIN
// keeps the window's releases outermost: with statistics the planner would rather walk every
// usage and probe them.
func chartGrowth(cond string) string {
	return `WITH hidden AS (` + hiddenRepos + `), fresh AS MATERIALIZED (` + freshReleases + `)
	SELECT cu.chart, count(DISTINCT cu.repository_id) AS n
	FROM fresh f CROSS JOIN chart_usages cu ON cu.repository_id = f.repository_id AND cu.kind = f.kind
		AND cu.namespace = f.namespace AND cu.release_name = f.name
	WHERE cu.repository_id NOT IN hidden` + cond + `
		AND NOT EXISTS (SELECT 1 FROM chart_usages o WHERE o.chart = cu.chart AND o.repository_id = cu.repository_id
			AND NOT EXISTS (SELECT 1 FROM fresh f2 WHERE f2.repository_id = o.repository_id AND f2.kind = o.kind
				AND f2.namespace = o.namespace AND f2.name = o.release_name))
	GROUP BY cu.chart`
}

// allChartsGrowth is every chart's growth with the window starting at ?1; chartGrowthOf one
// chart's (?2).
var (
	allChartsGrowth = chartGrowth("")
	chartGrowthOf   = chartGrowth(" AND cu.chart = ?2")
)

// ChartFilter selects and orders a page of charts.
type ChartFilter struct {
	Q       string // part of the chart name
	Sort    string // repos (default), growth, name
	Page    int    // 1-based
	PerPage int
}

// ChartSorts maps each sort key of the charts list to its ORDER BY.
var ChartSorts = map[string]string{
	"repos":  "repos DESC, chart",
	"growth": "growth DESC, repos DESC, chart",
	"name":   "chart",
}

// ChartSource is where a chart comes from (HTTP repository, OCI registry, Argo repoURL) and
// how many repositories take it from there.
type ChartSource struct {
	Kind  string // HelmRepository, OCIRepository, GitRepository; Argo: helm, oci, git
	URL   string // chart URL when resolved, else the source URL; "" when unknown
	Repos int
}

// ChartSummary is one chart across every visible repository.
type ChartSummary struct {
	Chart    string
	Repos    int // distinct repositories using it
	Releases int // releases and applications deploying it
	Growth   int // repositories that started using it within GrowthWindow
	Newest   string
	Sources  []ChartSource // most used first, at most a few
	Versions int           // distinct versions seen
}

// ChartListPage is one page of charts and how many matched.
type ChartListPage struct {
	Items []ChartSummary
	Total int
}

// ListCharts returns one page of charts grouped by name, with usage counts, growth, the
// newest version and the top sources of the charts on the page, read from chart_stats and its
// companions (kept current by every scan and repository action; growth as RefreshChartGrowth
// explains).
func (s *Store) ListCharts(ctx context.Context, f ChartFilter, sourcesPerChart int) (ChartListPage, error) {
	order, ok := ChartSorts[f.Sort]
	if !ok {
		order = ChartSorts["repos"]
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	cond, args := "", []any{}
	if q := strings.TrimSpace(f.Q); q != "" {
		cond = ` WHERE chart LIKE ? ESCAPE '\'`
		args = append(args, likeContains(q))
	}
	var page ChartListPage
	if err := s.queryRow(ctx, `SELECT count(*) FROM chart_stats`+cond, args...).Scan(&page.Total); err != nil {
		return ChartListPage{}, fmt.Errorf("store: count charts: %w", err)
	}
	rows, err := s.query(ctx, `SELECT chart, repos, releases, growth, newest, versions FROM chart_stats`+cond+`
		ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return ChartListPage{}, fmt.Errorf("store: list charts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c ChartSummary
		if err := rows.Scan(&c.Chart, &c.Repos, &c.Releases, &c.Growth, &c.Newest, &c.Versions); err != nil {
			return ChartListPage{}, fmt.Errorf("store: list charts: %w", err)
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return ChartListPage{}, fmt.Errorf("store: list charts: %w", err)
	}
	rows.Close()
	if len(page.Items) == 0 {
		return page, nil
	}
	if err := s.fillChartSources(ctx, page.Items, sourcesPerChart); err != nil {
		return ChartListPage{}, err
	}
	return page, nil
}

// fillChartSources adds the top sources of a page of charts.
func (s *Store) fillChartSources(ctx context.Context, items []ChartSummary, sourcesPerChart int) error {
	names := make([]any, len(items))
	idx := make(map[string]int, len(items))
	for i, c := range items {
		names[i] = c.Chart
		idx[c.Chart] = i
	}
	in := strings.Repeat("?, ", len(names)-1) + "?"
	rows, err := s.query(ctx, `
		SELECT chart, source_kind, url, repos FROM (
			SELECT chart, source_kind, url, repos,
				row_number() OVER (PARTITION BY chart ORDER BY repos DESC, source_kind, url) AS rk
			FROM chart_source_stats WHERE chart IN (`+in+`))
		WHERE rk <= ? ORDER BY chart, rk`, append(names, max(sourcesPerChart, 1))...)
	if err != nil {
		return fmt.Errorf("store: chart sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var chart string
		var src ChartSource
		if err := rows.Scan(&chart, &src.Kind, &src.URL, &src.Repos); err != nil {
			return fmt.Errorf("store: chart sources: %w", err)
		}
		items[idx[chart]].Sources = append(items[idx[chart]].Sources, src)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: chart sources: %w", err)
	}
	return nil
}

// ChartVersion is one version of a chart with how many repositories and releases run it.
type ChartVersion struct {
	Version  string
	Repos    int
	Releases int
}

// ChartOverview is one chart's headline figures, versions (newest first) and sources.
type ChartOverview struct {
	ChartSummary
	VersionList []ChartVersion // newest first; capped at maxChartVersions
	NewestRepos int            // repositories running the newest version
	AllSources  []ChartSource  // every source, most used first (capped)
}

const maxChartVersions = 500

// GetChart returns a chart's overview, or ErrNotFound when no visible repository uses it.
func (s *Store) GetChart(ctx context.Context, name string) (ChartOverview, error) {
	var o ChartOverview
	o.Chart = name
	err := s.queryRow(ctx, `SELECT repos, releases, growth FROM chart_stats WHERE chart = ?`, name).Scan(&o.Repos, &o.Releases, &o.Growth)
	if errors.Is(err, sql.ErrNoRows) {
		return ChartOverview{}, fmt.Errorf("store: chart %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return ChartOverview{}, fmt.Errorf("store: chart %q: %w", name, err)
	}
	// The first maxChartVersions by text, as a GROUP BY over the usages listed them, then by
	// precedence: the cap keeps a chart with thousands of versions (digests, branches) cheap.
	rows, err := s.query(ctx, `SELECT version, repos, releases FROM chart_version_stats WHERE chart = ?
		ORDER BY version LIMIT ?`, name, maxChartVersions)
	if err != nil {
		return ChartOverview{}, fmt.Errorf("store: versions of chart %q: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v ChartVersion
		if err := rows.Scan(&v.Version, &v.Repos, &v.Releases); err != nil {
			return ChartOverview{}, fmt.Errorf("store: versions of chart %q: %w", name, err)
		}
		o.VersionList = append(o.VersionList, v)
	}
	if err := rows.Err(); err != nil {
		return ChartOverview{}, fmt.Errorf("store: versions of chart %q: %w", name, err)
	}
	rows.Close()
	slices.SortStableFunc(o.VersionList, func(a, b ChartVersion) int { return CompareVersions(b.Version, a.Version) })
	o.Versions = len(o.VersionList)
	for _, v := range o.VersionList {
		if v.Version != "" {
			o.Newest, o.NewestRepos = v.Version, v.Repos
			break
		}
	}
	srcRows, err := s.query(ctx, `SELECT source_kind, url, repos FROM chart_source_stats WHERE chart = ?
		ORDER BY repos DESC, source_kind, url LIMIT 50`, name)
	if err != nil {
		return ChartOverview{}, fmt.Errorf("store: sources of chart %q: %w", name, err)
	}
	defer srcRows.Close()
	for srcRows.Next() {
		var src ChartSource
		if err := srcRows.Scan(&src.Kind, &src.URL, &src.Repos); err != nil {
			return ChartOverview{}, fmt.Errorf("store: sources of chart %q: %w", name, err)
		}
		o.AllSources = append(o.AllSources, src)
	}
	if err := srcRows.Err(); err != nil {
		return ChartOverview{}, fmt.Errorf("store: sources of chart %q: %w", name, err)
	}
	o.Sources = o.AllSources[:min(3, len(o.AllSources))]
	return o, nil
}

// ChartRepoFilter orders and pages the repositories using one chart.
type ChartRepoFilter struct {
	Sort    string // stars (default), version, name
	Page    int
	PerPage int
}

// ChartRepoSorts lists the sort keys of a chart's repositories.
var ChartRepoSorts = []string{"stars", "version", "name"}

// ChartRepo is one repository using a chart, with the release that deploys it (the first by
// path when it deploys the chart several times).
type ChartRepo struct {
	Repo       Repository // Owner, Name, URL, Stars, ScannedOID are set
	Path       string
	Kind       string
	Release    string
	Namespace  string
	Version    string
	SourceKind string
	SourceURL  string
	Releases   int // releases of the chart in this repository
}

// ChartRepoPage is one page of a chart's repositories.
type ChartRepoPage struct {
	Items []ChartRepo
	Total int
}

// ChartRepos returns a page of the repositories using a chart. versions orders the "version"
// sort: the chart's versions newest first, as GetChart returns them (SQL cannot compare semver).
func (s *Store) ChartRepos(ctx context.Context, name string, f ChartRepoFilter, versions []ChartVersion) (ChartRepoPage, error) {
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	rank := make(map[string]int, len(versions))
	for i, v := range versions {
		rank[v.Version] = i
	}
	rankJSON, _ := json.Marshal(rank)
	var order string
	switch f.Sort {
	case "version":
		order = "coalesce((SELECT value FROM json_each(?2) WHERE key = u.version), 1e9), r.stars DESC, r.id"
	case "name":
		order = "r.owner COLLATE NOCASE, r.name COLLATE NOCASE, r.id"
	default:
		order = "r.stars DESC, r.id"
	}
	// The bare columns of an aggregate with min() come from the row holding that minimum (SQLite).
	rows, err := s.query(ctx, `
		WITH u AS (
			SELECT repository_id, min(path) AS path, kind, release_name, namespace, version, source_kind,
				CASE WHEN chart_url <> '' THEN chart_url ELSE source_url END AS url, count(*) AS releases
			FROM chart_usages WHERE chart = ?1 AND repository_id NOT IN (`+hiddenRepos+`)
			GROUP BY repository_id)
		SELECT r.owner, r.name, r.url, r.stars, r.scanned_oid, u.path, u.kind, u.release_name, u.namespace, u.version,
			u.source_kind, u.url, u.releases, count(*) OVER () AS total
		FROM u JOIN repositories r ON r.id = u.repository_id
		ORDER BY `+order+` LIMIT ?3 OFFSET ?4`, name, string(rankJSON), f.PerPage, (f.Page-1)*f.PerPage)
	if err != nil {
		return ChartRepoPage{}, fmt.Errorf("store: repositories of chart %q: %w", name, err)
	}
	defer rows.Close()
	var page ChartRepoPage
	for rows.Next() {
		var c ChartRepo
		if err := rows.Scan(&c.Repo.Owner, &c.Repo.Name, &c.Repo.URL, &c.Repo.Stars, &c.Repo.ScannedOID, &c.Path, &c.Kind,
			&c.Release, &c.Namespace, &c.Version, &c.SourceKind, &c.SourceURL, &c.Releases, &page.Total); err != nil {
			return ChartRepoPage{}, fmt.Errorf("store: repositories of chart %q: %w", name, err)
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return ChartRepoPage{}, fmt.Errorf("store: repositories of chart %q: %w", name, err)
	}
	return page, nil
}

// ChartMonth is how many repositories had started using a chart by the end of a month.
type ChartMonth struct {
	Month time.Time // first day, UTC
	New   int
	Total int // cumulative
}

// ChartAdoption returns, per month, the repositories using a chart today by when Kubestats
// first saw the chart in each: the earliest 'created' event of any of its current releases of
// the chart. A repository's first scan stamps its objects with the head commit's time, so for
// repositories already using the chart when discovered this is "first seen", not "adopted".
// Repositories that left the chart are not counted. unknown counts repositories without such an event.
func (s *Store) ChartAdoption(ctx context.Context, name string) (months []ChartMonth, unknown int, err error) {
	rows, err := s.query(ctx, `
		WITH firsts AS (
			SELECT cu.repository_id,
				(SELECT min(e.committed_at) FROM resource_events e WHERE e.repository_id = cu.repository_id
					AND e.type = 'created' AND e.kind = cu.kind AND e.namespace = cu.namespace AND e.name = cu.release_name) AS first
			FROM chart_usages cu WHERE cu.chart = ? AND cu.repository_id NOT IN (`+hiddenRepos+`)),
		per_repo AS (SELECT repository_id, min(first) AS first FROM firsts GROUP BY repository_id)
		SELECT coalesce(strftime('%Y-%m', first), ''), count(*) FROM per_repo GROUP BY 1 ORDER BY 1`, name)
	if err != nil {
		return nil, 0, fmt.Errorf("store: adoption of chart %q: %w", name, err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var month string
		var n int
		if err := rows.Scan(&month, &n); err != nil {
			return nil, 0, fmt.Errorf("store: adoption of chart %q: %w", name, err)
		}
		if month == "" {
			unknown = n
			continue
		}
		t, err := time.Parse("2006-01", month)
		if err != nil {
			return nil, 0, fmt.Errorf("store: adoption of chart %q: month %q: %w", name, month, err)
		}
		total += n
		months = append(months, ChartMonth{Month: t, New: n, Total: total})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: adoption of chart %q: %w", name, err)
	}
	return months, unknown, nil
}

// ChartValue is one value set for a values key, with how many repositories set it.
type ChartValue struct {
	Type  string // SQLite json_tree type: text, integer, real, true, false, null, array
	Value string // the text, number or JSON array as written
	Repos int
}

// ChartValuesKey is one key path of a chart's inline values and its most common values.
type ChartValuesKey struct {
	Path  string // e.g. controllers.app.containers.app.image.tag; arrays count as one value
	Repos int
	Top   []ChartValue // most common first; redacted values never appear
}

// ChartValuesKeys walks the inline values of every usage of a chart and returns the limit key
// paths set by most repositories, each with its three most common values. Values that are or
// contain the redaction marker are never returned (their keys still count).
func (s *Store) ChartValuesKeys(ctx context.Context, name string, limit int) ([]ChartValuesKey, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	// Leaves are scalars and whole arrays: elements of arrays ("[" in the path) are not keys.
	rows, err := s.query(ctx, `
		WITH leaves AS MATERIALIZED (
			SELECT cu.repository_id AS repo, substr(t.fullkey, 3) AS path, t.type AS type,
				CASE WHEN t.type = 'array' THEN json(t.value) ELSE CAST(t.value AS TEXT) END AS val
			FROM chart_usages cu, json_tree(cu.chart_values) t
			WHERE cu.chart = ?1 AND cu.chart_values IS NOT NULL AND cu.repository_id NOT IN (`+hiddenRepos+`)
				AND t.type <> 'object' AND instr(t.fullkey, '[') = 0),
		keys AS (SELECT path, count(DISTINCT repo) AS repos FROM leaves GROUP BY path ORDER BY repos DESC, path LIMIT ?2),
		vals AS (
			SELECT l.path, l.type, l.val, count(DISTINCT l.repo) AS n FROM leaves l JOIN keys k ON k.path = l.path
			WHERE l.val IS NULL OR instr(l.val, ?3) = 0
			GROUP BY l.path, l.type, l.val),
		ranked AS (SELECT path, type, val, n, row_number() OVER (PARTITION BY path ORDER BY n DESC, val) AS rk FROM vals)
		SELECT k.path, k.repos, r.type, r.val, r.n FROM keys k LEFT JOIN ranked r ON r.path = k.path AND r.rk <= 3
		ORDER BY k.repos DESC, k.path, r.rk`, name, limit, scan.Redacted)
	if err != nil {
		return nil, fmt.Errorf("store: values keys of chart %q: %w", name, err)
	}
	defer rows.Close()
	var out []ChartValuesKey
	for rows.Next() {
		var path string
		var repos int
		var typ, val *string
		var n *int
		if err := rows.Scan(&path, &repos, &typ, &val, &n); err != nil {
			return nil, fmt.Errorf("store: values keys of chart %q: %w", name, err)
		}
		if len(out) == 0 || out[len(out)-1].Path != path {
			out = append(out, ChartValuesKey{Path: path, Repos: repos})
		}
		if typ != nil && n != nil {
			v := ChartValue{Type: *typ, Repos: *n}
			if val != nil {
				v.Value = *val
			}
			k := &out[len(out)-1]
			k.Top = append(k.Top, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: values keys of chart %q: %w", name, err)
	}
	return out, nil
}

// ChartCount is a chart with a count of repositories.
type ChartCount struct {
	Chart string
	Repos int
}

// ChartsAlsoUsed returns the other charts most used by the repositories that use name.
func (s *Store) ChartsAlsoUsed(ctx context.Context, name string, limit int) ([]ChartCount, error) {
	if limit <= 0 || limit > 100 {
		limit = 15
	}
	rows, err := s.query(ctx, `
		SELECT o.chart, count(DISTINCT o.repository_id) AS n FROM chart_usages o
		WHERE o.repository_id IN (SELECT repository_id FROM chart_usages WHERE chart = ?1
				AND repository_id NOT IN (`+hiddenRepos+`))
			AND o.chart <> ?1
		GROUP BY o.chart ORDER BY n DESC, o.chart LIMIT ?2`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("store: charts used with %q: %w", name, err)
	}
	defer rows.Close()
	var out []ChartCount
	for rows.Next() {
		var c ChartCount
		if err := rows.Scan(&c.Chart, &c.Repos); err != nil {
			return nil, fmt.Errorf("store: charts used with %q: %w", name, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: charts used with %q: %w", name, err)
	}
	return out, nil
}

// semver is a parsed semantic version; ok is false when the text is not one.
type semver struct {
	nums [3]int
	pre  string
	ok   bool
}

// parseSemver reads "1.2.3", "v1.2", "1.2.3-rc.1+build" (build metadata ignored). Ranges,
// wildcards, digests and branch names do not parse.
func parseSemver(v string) semver {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	var sv semver
	if i := strings.IndexByte(v, '-'); i >= 0 {
		sv.pre, v = v[i+1:], v[:i]
		if sv.pre == "" {
			return semver{}
		}
	}
	parts := strings.Split(v, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return semver{}
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || (len(p) > 1 && p[0] == '0') {
			return semver{}
		}
		sv.nums[i] = n
	}
	sv.ok = true
	return sv
}

func comparePre(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1 // a release is newer than its pre-releases
	case b == "":
		return -1
	}
	ap, bp := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		an, aerr := strconv.Atoi(ap[i])
		bn, berr := strconv.Atoi(bp[i])
		var c int
		switch {
		case aerr == nil && berr == nil:
			c = cmp.Compare(an, bn)
		case aerr == nil:
			c = -1 // numeric identifiers sort before alphanumeric ones
		case berr == nil:
			c = 1
		default:
			c = strings.Compare(ap[i], bp[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ap), len(bp))
}

// CompareVersions orders chart versions: semantic versions by precedence and above anything
// that is not one (ranges, tags, digests, ""), which compare as text among themselves.
func CompareVersions(a, b string) int {
	sa, sb := parseSemver(a), parseSemver(b)
	switch {
	case sa.ok && sb.ok:
		for i := range 3 {
			if c := cmp.Compare(sa.nums[i], sb.nums[i]); c != 0 {
				return c
			}
		}
		if c := comparePre(sa.pre, sb.pre); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case sa.ok:
		return 1
	case sb.ok:
		return -1
	}
	return strings.Compare(a, b)
}

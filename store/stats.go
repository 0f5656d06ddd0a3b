package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The community pages read totals from stats tables instead of grouping hundreds of thousands
// of usages per request: image_stats, kind_stats, chart_stats with its versions and sources
// (chart_version_stats, chart_source_stats), and deprecation_stats. Every change that can move
// a total (a scan replacing a repository's facts, or a block, unblock, delete or restore
// changing whether it counts) recomputes the keys that repository touched, before and after the
// change, from the base tables in the same transaction. Recomputing a key from its index range
// instead of adding deltas means a total can never drift: whatever the history, each row equals
// what a full GROUP BY would give (TestStatsMatchRebuild). A scan recomputes only the keys whose
// contribution from the scanned repository changed: a popular kind has tens of thousands of
// objects to count, and most re-scans change few.
//
// One total also depends on the clock: a chart's growth (repositories that started using it
// within GrowthWindow, see chartGrowth). A key's row holds its growth as of the write that last
// recomputed it; as the window slides, a repository's adoption leaves it without any write, so
// RefreshChartGrowth (the hourly aggregate job) recomputes every chart's growth as of its run.
// Growth is therefore exact as of the later of the chart's last write and the last refresh.

// imageStatsSelect computes image_stats rows from image_usages of live repositories.
const imageStatsSelect = `
	SELECT registry, repository, count(DISTINCT repository_id), count(*), count(DISTINCT nullif(tag, '')), ` +
	`sum(digest = '' AND tag <> ''), sum(digest <> ''), sum(digest = '' AND tag = '')
	FROM image_usages WHERE ` + liveRepoUsage

// kindStatsSelect computes kind_stats rows from resources of live repositories.
const kindStatsSelect = `
	SELECT api_group, kind, count(DISTINCT repository_id), count(*)
	FROM resources WHERE ` + liveRepoUsage

// rebuildStats recomputes image_stats and kind_stats from scratch. Schema version 4's migration
// runs it as it stands, so it must keep to the tables of that version.
const rebuildStats = `
DELETE FROM image_stats;
INSERT INTO image_stats (registry, repository, repos, usages, tags, tag_only, digest, latest)` + imageStatsSelect + `
	GROUP BY registry, repository;
DELETE FROM kind_stats;
INSERT INTO kind_stats (api_group, kind, repos, objects)` + kindStatsSelect + `
	GROUP BY api_group, kind;
`

// chartURL is the URL a chart usage's source is listed under: the chart's own when resolved.
const chartURL = `CASE WHEN chart_url <> '' THEN chart_url ELSE source_url END`

// chartVersionStatsSelect and chartSourceStatsSelect compute the rows of the chart companion
// tables from chart_usages of live repositories; cond narrows them further.
func chartVersionStatsSelect(cond string) string {
	return `SELECT chart, version, count(DISTINCT repository_id), count(*) FROM chart_usages
		WHERE ` + liveRepoUsage + cond + ` GROUP BY chart, version`
}

func chartSourceStatsSelect(cond string) string {
	return `SELECT chart, source_kind, ` + chartURL + ` AS url, count(DISTINCT repository_id) FROM chart_usages
		WHERE ` + liveRepoUsage + cond + ` GROUP BY chart, source_kind, url`
}

// deprecationStatsSelect computes deprecation_stats rows from deprecated_usages of live
// repositories, for every scope /deprecations can ask for; cond narrows them further.
func deprecationStatsSelect(cond string) string {
	const status = `CASE WHEN removed_in <> '' THEN 'removed' ELSE 'deprecated' END`
	const cols = `max(project), max(deprecated_in), max(removed_in), max(replacement), count(DISTINCT repository_id), count(*)
		FROM deprecated_usages WHERE ` + liveRepoUsage
	return `
		SELECT api_version, kind, '', '', ` + cols + cond + ` GROUP BY api_version, kind
		UNION ALL SELECT api_version, kind, project, '', ` + cols + cond + ` GROUP BY api_version, kind, project
		UNION ALL SELECT api_version, kind, '', ` + status + `, ` + cols + cond + ` GROUP BY api_version, kind, ` + status + `
		UNION ALL SELECT api_version, kind, project, ` + status + `, ` + cols + cond + ` GROUP BY api_version, kind, project, ` + status
}

const deprecationStatsInsert = `INSERT INTO deprecation_stats (api_version, kind, scope_project, scope_status, project,
	deprecated_in, removed_in, replacement, repos, objects)`

// rebuildReadModel recomputes the stats tables of schema version 5 (charts and deprecations)
// from scratch, except chart_stats' newest and growth, which need Go (fillChartNewest) and the
// clock (refreshChartGrowth).
var rebuildReadModel = `
DELETE FROM chart_version_stats;
INSERT INTO chart_version_stats (chart, version, repos, releases)` + chartVersionStatsSelect("") + `;
DELETE FROM chart_source_stats;
INSERT INTO chart_source_stats (chart, source_kind, url, repos)` + chartSourceStatsSelect("") + `;
DELETE FROM chart_stats;
INSERT INTO chart_stats (chart, repos, releases, versions, newest, growth)
	SELECT chart, count(DISTINCT repository_id), count(*), 0, '', 0 FROM chart_usages WHERE ` + liveRepoUsage + ` GROUP BY chart;
UPDATE chart_stats SET versions = (SELECT count(*) FROM chart_version_stats v WHERE v.chart = chart_stats.chart);
DELETE FROM deprecation_stats;
` + deprecationStatsInsert + deprecationStatsSelect("") + `;
`

// fillReadModel fills the version 5 stats tables from the base tables: the migration that
// introduced them and RebuildStats run it.
func fillReadModel(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx, rebuildReadModel); err != nil {
		return err
	}
	if err := fillChartNewest(ctx, tx); err != nil {
		return err
	}
	_, err := refreshChartGrowth(ctx, tx, now)
	return err
}

// fillChartNewest sets every chart's newest version from its version rows: SQL cannot order
// versions as CompareVersions does.
func fillChartNewest(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT chart, version FROM chart_version_stats ORDER BY chart`)
	if err != nil {
		return fmt.Errorf("read chart versions: %w", err)
	}
	defer rows.Close()
	newest := map[string]string{}
	for rows.Next() {
		var chart, version string
		if err := rows.Scan(&chart, &version); err != nil {
			return fmt.Errorf("read chart versions: %w", err)
		}
		if version != "" && (newest[chart] == "" || CompareVersions(version, newest[chart]) > 0) {
			newest[chart] = version
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read chart versions: %w", err)
	}
	rows.Close()
	st, err := tx.PrepareContext(ctx, `UPDATE chart_stats SET newest = ? WHERE chart = ?`)
	if err != nil {
		return fmt.Errorf("prepare newest versions: %w", err)
	}
	defer st.Close()
	for chart, v := range newest {
		if _, err := st.ExecContext(ctx, v, chart); err != nil {
			return fmt.Errorf("set newest version of %s: %w", chart, err)
		}
	}
	return nil
}

// statKey is one image (registry, repository), kind (api group, kind), chart (name), chart
// version (chart, version), chart source (chart, source kind, URL) or deprecated API
// (apiVersion, kind).
type statKey struct{ a, b, c string }

// statKeys are the keys a repository contributes to, each with a signature of everything its
// totals take from this repository (usages, pinning, tags; objects; releases, versions, sources
// and release history; deprecation facts).
type statKeys struct {
	images, kinds, deprecations map[statKey]string
	// A chart's row has parts that move for different reasons: its repositories and releases
	// (chartCounts: how many usages), its growth (chartGrowth: each release's history), and
	// its version count and newest (chartVersions, which also key its version rows).
	chartCounts, chartGrowth, chartVersions, chartSources map[statKey]string
}

// repoChartUsages lists a repository's chart usages with what the chart's totals take from
// each: its version and source, and the newest 'created' event of its release after the
// repository's first events (freshReleases' rule), which alone decides whether the release is
// fresh in any window; empty when there is none (never fresh).
const repoChartUsages = `
	WITH first AS (SELECT min(committed_at) AS at FROM resource_events WHERE repository_id = ?1)
	SELECT cu.chart, cu.version, cu.source_kind, ` + chartURL + `,
		coalesce((SELECT max(e.committed_at) FROM resource_events e
			WHERE e.repository_id = ?1 AND e.kind = cu.kind AND e.namespace = cu.namespace AND e.name = cu.release_name
				AND e.type = 'created' AND e.kind IN ('HelmRelease', 'Application', 'ApplicationSet') AND e.committed_at > first.at), '')
	FROM chart_usages cu, first WHERE cu.repository_id = ?1`

// repoStatKeys reads what repository id contributes to each key now.
func repoStatKeys(ctx context.Context, tx *sql.Tx, id int64) (statKeys, error) {
	k := statKeys{images: map[statKey]string{}, kinds: map[statKey]string{}, deprecations: map[statKey]string{},
		chartCounts: map[statKey]string{}, chartGrowth: map[statKey]string{}, chartVersions: map[statKey]string{}, chartSources: map[statKey]string{}}
	// Each query lists rows in a fixed order, so equal contributions give equal signatures. The
	// first keyCols columns are the key.
	for _, q := range []struct {
		what    string
		query   string
		into    map[statKey]string
		keyCols int
	}{
		{what: "image", into: k.images, keyCols: 2, query: `SELECT registry, repository, tag, digest <> '' FROM image_usages
			WHERE repository_id = ?1 ORDER BY registry, repository, tag, digest`},
		{what: "kind", into: k.kinds, keyCols: 2, query: `SELECT api_group, kind, count(*) FROM resources WHERE repository_id = ?1
			GROUP BY api_group, kind`},
		{what: "deprecation", into: k.deprecations, keyCols: 2, query: `SELECT api_version, kind, project, deprecated_in, removed_in,
			replacement, count(*) FROM deprecated_usages WHERE repository_id = ?1 GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`},
	} {
		if err := readSignatures(ctx, tx, q.query, id, q.keyCols, q.into); err != nil {
			return k, fmt.Errorf("read %s keys: %w", q.what, err)
		}
	}
	if err := readChartSignatures(ctx, tx, id, k); err != nil {
		return k, fmt.Errorf("read chart keys: %w", err)
	}
	return k, nil
}

// readChartSignatures fills the chart parts of k from one read of the repository's usages. A
// chart's parts are recomputed one by one: a version bump of a chart that most repositories run
// touches two of its versions, and neither its totals, its growth nor its sources, each of
// which reads every usage of the chart.
func readChartSignatures(ctx context.Context, tx *sql.Tx, id int64, k statKeys) error {
	rows, err := tx.QueryContext(ctx, repoChartUsages, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	counts, versions := map[statKey]int{}, map[statKey]int{}
	fresh := map[statKey][]string{}
	for rows.Next() {
		var chart, version, kind, url, freshAt string
		if err := rows.Scan(&chart, &version, &kind, &url, &freshAt); err != nil {
			return err
		}
		c := statKey{a: chart}
		counts[c]++
		fresh[c] = append(fresh[c], freshAt)
		versions[statKey{a: chart, b: version}]++
		k.chartSources[statKey{a: chart, b: kind, c: url}] = "1"
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for c, n := range counts {
		k.chartCounts[c] = fmt.Sprint(n)
	}
	for v, n := range versions {
		k.chartVersions[v] = fmt.Sprint(n)
	}
	for c, ts := range fresh {
		slices.Sort(ts) // the repository's part of the growth depends on the set alone
		k.chartGrowth[c] = fmt.Sprintf("%q", ts)
	}
	return nil
}

// readSignatures adds each row of query to the signature of its key, the first keyCols
// columns; the rest are what the key's totals take from the row.
func readSignatures(ctx context.Context, tx *sql.Tx, query string, id int64, keyCols int, into map[statKey]string) error {
	rows, err := tx.QueryContext(ctx, query, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		var key statKey
		for i, part := range []*string{&key.a, &key.b, &key.c}[:keyCols] {
			*part = vals[i].String
		}
		sig := into[key]
		for _, v := range vals[keyCols:] {
			sig += fmt.Sprintf("%q ", v.String)
		}
		into[key] = sig + ";"
	}
	return rows.Err()
}

// changedKeys are the keys whose contribution differs between before and after: only their
// totals can have moved. A re-scan that changed nothing refreshes nothing.
func changedKeys(before, after statKeys) statKeys {
	diff := func(b, a map[statKey]string) map[statKey]string {
		out := map[statKey]string{}
		for k, v := range b {
			if a[k] != v {
				out[k] = ""
			}
		}
		for k, v := range a {
			if old, ok := b[k]; !ok || old != v {
				out[k] = ""
			}
		}
		return out
	}
	return statKeys{images: diff(before.images, after.images), kinds: diff(before.kinds, after.kinds),
		deprecations: diff(before.deprecations, after.deprecations), chartCounts: diff(before.chartCounts, after.chartCounts),
		chartGrowth: diff(before.chartGrowth, after.chartGrowth), chartVersions: diff(before.chartVersions, after.chartVersions),
		chartSources: diff(before.chartSources, after.chartSources)}
}

// statsTable is how refreshStats recomputes one key of a totals table: statements run in
// order with the key's columns as ?1, ?2 and ?3 (the first keyCols of them).
type statsTable struct {
	stmts   []string
	keyCols int
}

// The statements that recompute one key; chart_stats' own row follows in refreshChartRow.
var (
	imageStatsRefresh = statsTable{keyCols: 2, stmts: []string{
		`DELETE FROM image_stats WHERE registry = ?1 AND repository = ?2`,
		`INSERT INTO image_stats (registry, repository, repos, usages, tags, tag_only, digest, latest)` +
			imageStatsSelect + ` AND registry = ?1 AND repository = ?2 GROUP BY registry, repository`,
	}}
	kindStatsRefresh = statsTable{keyCols: 2, stmts: []string{
		`DELETE FROM kind_stats WHERE api_group = ?1 AND kind = ?2`,
		`INSERT INTO kind_stats (api_group, kind, repos, objects)` + kindStatsSelect + ` AND api_group = ?1 AND kind = ?2 GROUP BY api_group, kind`,
	}}
	chartVersionStatsRefresh = statsTable{keyCols: 2, stmts: []string{
		`DELETE FROM chart_version_stats WHERE chart = ?1 AND version = ?2`,
		`INSERT INTO chart_version_stats (chart, version, repos, releases)` + chartVersionStatsSelect(` AND chart = ?1 AND version = ?2`),
	}}
	chartSourceStatsRefresh = statsTable{keyCols: 3, stmts: []string{
		`DELETE FROM chart_source_stats WHERE chart = ?1 AND source_kind = ?2 AND url = ?3`,
		`INSERT INTO chart_source_stats (chart, source_kind, url, repos)` +
			chartSourceStatsSelect(` AND chart = ?1 AND source_kind = ?2 AND `+chartURL+` = ?3`),
	}}
	deprecationStatsRefresh = statsTable{keyCols: 2, stmts: []string{
		`DELETE FROM deprecation_stats WHERE api_version = ?1 AND kind = ?2`,
		deprecationStatsInsert + deprecationStatsSelect(` AND api_version = ?1 AND kind = ?2`),
	}}
)

// chartTotals counts one chart's repositories and releases for its chart_stats row. Grouping by
// repository follows the chart index's order, where count(DISTINCT) would sort every usage.
const chartTotals = `SELECT count(*), coalesce(sum(n), 0) FROM (
	SELECT count(*) AS n FROM chart_usages WHERE chart = ?1 AND ` + liveRepoUsage + ` GROUP BY repository_id)`

// refreshStats recomputes the given keys as of now (which dates a chart's growth); a key
// nothing uses any more loses its rows.
func refreshStats(ctx context.Context, tx *sql.Tx, keys statKeys, now time.Time) error {
	// chart_stats rows read their version rows: those come first.
	for _, t := range []struct {
		statsTable
		keys map[statKey]string
	}{
		{imageStatsRefresh, keys.images},
		{kindStatsRefresh, keys.kinds},
		{chartVersionStatsRefresh, keys.chartVersions},
		{chartSourceStatsRefresh, keys.chartSources},
		{deprecationStatsRefresh, keys.deprecations},
	} {
		if len(t.keys) == 0 {
			continue
		}
		var stmts []*sql.Stmt
		for _, q := range t.stmts {
			st, err := tx.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare stats refresh: %w", err)
			}
			defer st.Close()
			stmts = append(stmts, st)
		}
		for k := range t.keys {
			args := []any{k.a, k.b, k.c}[:t.keyCols]
			for _, st := range stmts {
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("refresh stats of %q: %w", args, err)
				}
			}
		}
	}
	rows := map[string]chartParts{}
	for k := range keys.chartCounts {
		p := rows[k.a]
		p.totals = true
		rows[k.a] = p
	}
	for k := range keys.chartGrowth {
		p := rows[k.a]
		p.growth = true
		rows[k.a] = p
	}
	for k := range keys.chartVersions {
		if _, ok := rows[k.a]; !ok {
			rows[k.a] = chartParts{} // the version count and newest are always recomputed
		}
	}
	for chart, parts := range rows {
		if err := refreshChartRow(ctx, tx, chart, parts, now); err != nil {
			return fmt.Errorf("refresh stats of chart %s: %w", chart, err)
		}
	}
	return nil
}

// chartParts says which parts of a chart's row read the chart's usages again.
type chartParts struct{ totals, growth bool }

// refreshChartRow recomputes one chart's chart_stats row: its version count and newest from
// its version rows (which must be current), and its totals and growth when parts asks or the
// row is new; the other parts keep their values.
func refreshChartRow(ctx context.Context, tx *sql.Tx, chart string, parts chartParts, now time.Time) error {
	var repos, releases, growth int
	err := tx.QueryRowContext(ctx, `SELECT repos, releases, growth FROM chart_stats WHERE chart = ?`, chart).Scan(&repos, &releases, &growth)
	if errors.Is(err, sql.ErrNoRows) {
		parts = chartParts{totals: true, growth: true}
	} else if err != nil {
		return err
	}
	if parts.totals {
		if err := tx.QueryRowContext(ctx, chartTotals, chart).Scan(&repos, &releases); err != nil {
			return err
		}
		if repos == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM chart_stats WHERE chart = ?`, chart)
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM chart_version_stats WHERE chart = ?`, chart)
	if err != nil {
		return err
	}
	defer rows.Close()
	versions, newest := 0, ""
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		versions++
		if v != "" && (newest == "" || CompareVersions(v, newest) > 0) {
			newest = v
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if parts.growth {
		growth = 0
		err = tx.QueryRowContext(ctx, chartGrowthOf, now.Add(-GrowthWindow), chart).Scan(new(string), &growth)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO chart_stats (chart, repos, releases, versions, newest, growth)
		VALUES (?, ?, ?, ?, ?, ?)`, chart, repos, releases, versions, newest, growth)
	return err
}

// refreshChartGrowth sets every chart's growth as of now, from the recent release events
// (freshReleases, chartGrowth), and reports how many charts' growth changed.
func refreshChartGrowth(ctx context.Context, tx *sql.Tx, now time.Time) (int, error) {
	want := map[string]int{}
	rows, err := tx.QueryContext(ctx, allChartsGrowth, now.Add(-GrowthWindow))
	if err != nil {
		return 0, fmt.Errorf("compute chart growth: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var chart string
		var n int
		if err := rows.Scan(&chart, &n); err != nil {
			return 0, fmt.Errorf("compute chart growth: %w", err)
		}
		want[chart] = n
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("compute chart growth: %w", err)
	}
	rows.Close()
	// The charts growing now, and those that grew before (the growth index's head).
	rows, err = tx.QueryContext(ctx, `SELECT chart, growth FROM chart_stats WHERE growth > 0`)
	if err != nil {
		return 0, fmt.Errorf("read chart growth: %w", err)
	}
	defer rows.Close()
	have := map[string]int{}
	for rows.Next() {
		var chart string
		var n int
		if err := rows.Scan(&chart, &n); err != nil {
			return 0, fmt.Errorf("read chart growth: %w", err)
		}
		have[chart] = n
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read chart growth: %w", err)
	}
	rows.Close()
	for chart := range have {
		if _, ok := want[chart]; !ok {
			want[chart] = 0
		}
	}
	changed := 0
	for chart, n := range want {
		if have[chart] == n {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chart_stats SET growth = ? WHERE chart = ?`, n, chart); err != nil {
			return 0, fmt.Errorf("set growth of chart %s: %w", chart, err)
		}
		changed++
	}
	return changed, nil
}

// RefreshChartGrowth recomputes every chart's growth as of now: as GrowthWindow slides, a
// repository's adoption of a chart leaves the window without any write touching the chart, so
// the hourly aggregate job calls this. It returns how many charts' growth changed.
func (s *Store) RefreshChartGrowth(ctx context.Context) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = refreshChartGrowth(ctx, tx, s.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: refresh chart growth: %w", err)
	}
	if n > 0 {
		s.changed()
	}
	return n, nil
}

// RebuildStats recomputes every total from scratch. The totals are kept current
// incrementally; this is the repair tool and the tests' reference.
func (s *Store) RebuildStats(ctx context.Context) error {
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, rebuildStats); err != nil {
			return err
		}
		return fillReadModel(ctx, tx, s.now())
	})
	if err != nil {
		return fmt.Errorf("store: rebuild stats: %w", err)
	}
	s.changed()
	return nil
}

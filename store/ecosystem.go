package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// The ecosystem aggregate (ecosystem_daily, ecosystem_breakdowns) says, per UTC day, what was
// true at that day's end: repositories known, scanned, their stars and forks, the objects in
// their scanned commits, and the events committed that day. Every figure is rebuilt from the
// history the database keeps (discovery and hide times, metric snapshots, resource events),
// so a day filled in later says the same as a day computed on the night. The one exception is
// events: they count on their commit's day, but a commit is seen only when its repository is
// next synced, so the last recentDays days are recounted on every run.
//
// What history is not kept shows through: a repository's language and topics are its current
// ones (breakdowns by them use today's values for past days); a repository that was hidden and
// restored counts as never hidden; blocked repositories still count (they are found, just not
// synced), as the schema's definition of "known" says.

// Dimensions of ecosystem_breakdowns.
const (
	DimensionLanguage = "language"
	DimensionTopic    = "topic"
	DimensionKind     = "kind"
)

// EcosystemDimensions lists the breakdown dimensions in page order.
var EcosystemDimensions = []string{DimensionLanguage, DimensionTopic, DimensionKind}

// How many keys of each dimension a day keeps: the long tail (one-repo topics, custom CRDs)
// would multiply the table by hundreds and no page shows it.
var breakdownKeep = map[string]int{DimensionLanguage: 100, DimensionTopic: 50, DimensionKind: 100}

// recentDays is how many days before today AggregateMissing recomputes on every run, on top
// of today: a commit is counted on the day it was committed, but it is only seen when its
// repository is next synced, which can be a day or more later (backoff, long queues).
const recentDays = 2

// EcosystemDay is one row of ecosystem_daily.
type EcosystemDay struct {
	Day          time.Time // midnight UTC
	Repos        int64
	ScannedRepos int64
	Stars        int64
	Forks        int64
	Resources    int64
	Created      int64
	Modified     int64
	Moved        int64
	Deleted      int64
	ComputedAt   time.Time
}

// Events is the number of events of every type committed that day.
func (d EcosystemDay) Events() int64 { return d.Created + d.Modified + d.Moved + d.Deleted }

// EcosystemBreakdownRow is one key of a day's breakdown.
type EcosystemBreakdownRow struct {
	Key     string
	Repos   int64
	Objects int64 // kinds only: objects of that kind
}

// AggregateResult counts what AggregateMissing did.
type AggregateResult struct {
	Days    int // days from the first discovery to today
	Written int // days computed and written by this run
}

const dayLayout = "2006-01-02"

// Day truncates t to its UTC day.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Aggregate computes and writes one day's ecosystem row and breakdowns, as of the day's end.
func (s *Store) Aggregate(ctx context.Context, day time.Time) error {
	day = Day(day)
	err := s.aggregateRange(ctx, day, day, func(time.Time) bool { return true }, nil)
	if err != nil {
		return fmt.Errorf("store: aggregate %s: %w", day.Format(dayLayout), err)
	}
	return nil
}

// AggregateMissing writes every day from the first repository's discovery up to now's day
// that has no row yet, and recomputes today and the recentDays before it (still moving).
// force recomputes every day. All days come from one pass over the history, so filling a
// year costs about what one day does.
func (s *Store) AggregateMissing(ctx context.Context, now time.Time, force bool) (AggregateResult, error) {
	today := Day(now)
	var first sql.NullString
	if err := s.queryRow(ctx, `SELECT min(first_seen_at) FROM repositories`).Scan(&first); err != nil {
		return AggregateResult{}, fmt.Errorf("store: aggregate: first day: %w", err)
	}
	if !first.Valid || len(first.String) < 10 {
		return AggregateResult{}, nil // nothing discovered yet: no day to say anything about
	}
	from, err := time.Parse(dayLayout, first.String[:10])
	if err != nil {
		return AggregateResult{}, fmt.Errorf("store: aggregate: first day %q: %w", first.String, err)
	}
	if from.After(today) {
		return AggregateResult{}, nil
	}
	res := AggregateResult{Days: int(today.Sub(from)/(24*time.Hour)) + 1}
	have := map[string]bool{}
	if !force {
		rows, err := s.query(ctx, `SELECT day FROM ecosystem_daily WHERE day >= ? AND day <= ?`,
			from.Format(dayLayout), today.Format(dayLayout))
		if err != nil {
			return res, fmt.Errorf("store: aggregate: days present: %w", err)
		}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return res, fmt.Errorf("store: aggregate: days present: %w", err)
			}
			have[d] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("store: aggregate: days present: %w", err)
		}
	}
	recent := today.AddDate(0, 0, -recentDays)
	want := func(d time.Time) bool { return !have[d.Format(dayLayout)] || !d.Before(recent) }
	// Start the emitted range at the first day to write: earlier days only feed the totals.
	for from.Before(recent) && !want(from) {
		from = from.AddDate(0, 0, 1)
	}
	err = s.aggregateRange(ctx, from, today, want, func() { res.Written++ })
	if err != nil {
		return res, fmt.Errorf("store: aggregate %s to %s: %w", from.Format(dayLayout), today.Format(dayLayout), err)
	}
	return res, nil
}

// ecosystemDeltas is one statement (one snapshot) that turns history into per-day changes:
// rows (dim, key, day, a, b) ordered by day, where a day's figures are the running sums of
// every earlier row (only 'events' rows are per day). Rows dated before ?4 (the first day
// wanted, ?1 its start) are the state at that day's start, found cheaply rather than by
// replaying everything: the last metric snapshot before ?1, and today's resources minus the
// events detected since ?1. ?2 is the end of the last day wanted, ?3 that end as a day. Day
// strings compare with stored times as text: a time is before day D exactly when it sorts
// below 'D'.
//
// A repository counts from its first_seen_at day (fs) up to the day before it was deleted or
// went gone (hd, '9999-12-31' when never); everything it contributed is taken back on hd.
//   - repos:    a = repositories, b = scanned repositories (first scanned when its earliest
//     committed event was detected, or at its last scan when it never had an object).
//   - stars:    a = stars, b = forks: each snapshot adds its change from the one before.
//   - kind:     b = objects, counted from events by detection time: every object gets a
//     created event when first scanned and a deleted one when it goes, moves and edits keep
//     it (see ApplyScan), so the resources table is exactly created minus deleted. a =
//     repositories with at least one, from each (repo, kind) running count crossing zero.
//   - language, topic: a = repositories (current values: their history is not kept).
//   - events:   key = type, a = events committed that day. A repository's first scan is left
//     out, as the charts page's growth does: it stamps every object the repository has with
//     the head commit's time, so a newly discovered repository would look like thousands of
//     objects created on one day. An event is from a later scan when its repository has an
//     event committed earlier. Only repositories counted that day count (fs <= day < hd).
const ecosystemDeltas = `
WITH live AS MATERIALIZED (
	SELECT id AS r, substr(first_seen_at, 1, 10) AS fs,
		substr(min(coalesce(deleted_at, '9999-12-31'), coalesce(gone_at, '9999-12-31')), 1, 10) AS hd,
		coalesce(substr(scanned_at, 1, 10), '9999-12-31') AS sa, language, topics
	FROM repositories
	WHERE first_seen_at < ?2
		AND substr(first_seen_at, 1, 10) < substr(min(coalesce(deleted_at, '9999-12-31'), coalesce(gone_at, '9999-12-31')), 1, 10)
),
-- Repositories that count on some wanted day.
wanted AS MATERIALIZED (SELECT r, fs, hd FROM live WHERE hd > ?4),
since AS MATERIALIZED (
	SELECT repository_id AS r, api_group AS g, kind AS k, substr(detected_at, 1, 10) AS d,
		sum(CASE type WHEN 'created' THEN 1 ELSE -1 END) AS n
	FROM resource_events WHERE type IN ('created', 'deleted') AND detected_at >= ?1
	GROUP BY api_group, kind, repository_id, 4 -- not by repository first: its index would cost a lookup per event
),
-- Pairs (kind, repository) an event touched since ?1, with their object count at ?1: today's
-- minus what changed since.
touched AS MATERIALIZED (
	SELECT g, k, r, fs, hd, nn, nn - n AS n0 FROM (
		SELECT t.g, t.k, t.r, w.fs, w.hd, t.n,
			(SELECT count(*) FROM resources x WHERE x.api_group = t.g AND x.kind = t.k AND x.repository_id = t.r) AS nn
		FROM (SELECT g, k, r, sum(n) AS n FROM since GROUP BY g, k, r) t JOIN wanted w ON w.r = t.r)
),
-- Pairs no event touched since ?1 hold still over the wanted days: counted whole, as every
-- pair today minus the touched ones.
now_kinds AS MATERIALIZED (
	SELECT api_group AS g, kind AS k, repository_id AS r, count(*) AS n FROM resources GROUP BY api_group, kind, repository_id
),
still AS (
	SELECT g, k, fs, hd, sum(repos) AS repos, sum(objects) AS objects FROM (
		SELECT x.g, x.k, w.fs, w.hd, count(*) AS repos, sum(x.n) AS objects
		FROM now_kinds x JOIN wanted w ON w.r = x.r GROUP BY x.g, x.k, w.fs, w.hd
		UNION ALL
		SELECT g, k, fs, hd, -sum(nn > 0), -sum(nn) FROM touched GROUP BY g, k, fs, hd)
	GROUP BY g, k, fs, hd
),
ev AS MATERIALIZED (
	SELECT g, k, r, fs AS d, n0 AS n FROM touched WHERE n0 <> 0
	UNION ALL
	SELECT s.g, s.k, s.r, max(s.d, t.fs), s.n FROM since s JOIN touched t ON t.g = s.g AND t.k = s.k AND t.r = s.r
	WHERE s.d < t.hd AND s.d < ?3
),
run AS (
	SELECT g, k, d, n, sum(n) OVER (PARTITION BY g, k, r ORDER BY d ROWS UNBOUNDED PRECEDING) AS net
	FROM (
		SELECT g, k, r, d, n FROM ev
		UNION ALL
		SELECT ev.g, ev.k, ev.r, t.hd, -sum(ev.n) FROM ev JOIN touched t ON t.g = ev.g AND t.k = ev.k AND t.r = ev.r
		WHERE t.hd < ?3 GROUP BY ev.g, ev.k, ev.r HAVING sum(ev.n) <> 0
	)
),
scanned AS (
	SELECT l.r, max(l.fs, min(l.sa, coalesce((SELECT substr(e.detected_at, 1, 10) FROM resource_events e
		WHERE e.repository_id = l.r ORDER BY e.committed_at LIMIT 1), '9999-12-31'))) AS sd, l.hd
	FROM live l
),
start_metric AS MATERIALIZED (
	SELECT w.r, w.fs, w.hd, m.stars, m.forks
	FROM wanted w LEFT JOIN repository_metrics m ON m.repository_id = w.r AND m.recorded_at = (
		SELECT max(recorded_at) FROM repository_metrics WHERE repository_id = w.r AND recorded_at < ?1)
),
metric AS (
	SELECT d, ds, df FROM (
		SELECT max(substr(m.recorded_at, 1, 10), b.fs) AS d,
			m.stars - coalesce(lag(m.stars) OVER w, b.stars, 0) AS ds, m.forks - coalesce(lag(m.forks) OVER w, b.forks, 0) AS df
		FROM start_metric b JOIN repository_metrics m ON m.repository_id = b.r
		WHERE m.recorded_at >= ?1 AND m.recorded_at < ?2 AND m.recorded_at < b.hd
		WINDOW w AS (PARTITION BY m.repository_id ORDER BY m.recorded_at))
	WHERE ds <> 0 OR df <> 0
),
deltas (dim, key, d, a, b) AS (
	SELECT 'repos', '', fs, 1, 0 FROM live
	UNION ALL SELECT 'repos', '', hd, -1, 0 FROM live WHERE hd < ?3
	UNION ALL SELECT 'repos', '', sd, 0, 1 FROM scanned WHERE sd < hd
	UNION ALL SELECT 'repos', '', hd, 0, -1 FROM scanned WHERE sd < hd AND hd < ?3
	UNION ALL SELECT 'language', language, fs, 1, 0 FROM live WHERE language <> ''
	UNION ALL SELECT 'language', language, hd, -1, 0 FROM live WHERE language <> '' AND hd < ?3
	UNION ALL SELECT 'topic', t.value, l.fs, 1, 0
		FROM live l, json_each(CASE WHEN json_valid(l.topics) THEN l.topics ELSE '[]' END) t
		WHERE t.type = 'text' AND t.value <> '' GROUP BY l.r, t.value
	UNION ALL SELECT 'topic', t.value, l.hd, -1, 0
		FROM live l, json_each(CASE WHEN json_valid(l.topics) THEN l.topics ELSE '[]' END) t
		WHERE l.hd < ?3 AND t.type = 'text' AND t.value <> '' GROUP BY l.r, t.value
	UNION ALL SELECT 'stars', '', fs, coalesce(stars, 0), coalesce(forks, 0) FROM start_metric
	UNION ALL SELECT 'stars', '', d, sum(ds), sum(df) FROM metric GROUP BY d
	UNION ALL SELECT 'stars', '', w.hd, -m.stars, -m.forks
		FROM wanted w JOIN repository_metrics m ON m.repository_id = w.r
		WHERE w.hd < ?3 AND m.recorded_at = (SELECT max(recorded_at) FROM repository_metrics
			WHERE repository_id = w.r AND recorded_at < w.hd)
	UNION ALL SELECT 'kind', CASE g WHEN '' THEN k ELSE g || '/' || k END, d, sum((net > 0) - (net - n > 0)), sum(n)
		FROM run GROUP BY g, k, d
	UNION ALL SELECT 'kind', CASE g WHEN '' THEN k ELSE g || '/' || k END, fs, sum(repos), sum(objects)
		FROM still GROUP BY g, k, fs
	UNION ALL SELECT 'kind', CASE g WHEN '' THEN k ELSE g || '/' || k END, hd, -sum(repos), -sum(objects)
		FROM still WHERE hd < ?3 GROUP BY g, k, hd
	UNION ALL SELECT 'events', e.type, substr(e.committed_at, 1, 10), count(*), 0
		FROM resource_events e JOIN live l ON l.r = e.repository_id
		WHERE e.committed_at >= ?1 AND e.committed_at < ?2 AND e.committed_at >= l.fs AND e.committed_at < l.hd
			AND e.committed_at > (SELECT min(p.committed_at) FROM resource_events p WHERE p.repository_id = e.repository_id)
		GROUP BY e.type, 3
)
SELECT dim, key, d, a, b FROM deltas WHERE d < ?3 ORDER BY d`

// ecoState is the running state of the ecosystem while the deltas are replayed day by day.
type ecoState struct {
	day        EcosystemDay
	events     map[string]int64
	dims       map[string]map[string]*EcosystemBreakdownRow
	resources  int64
	computedAt time.Time
}

func (st *ecoState) snapshot(day time.Time) (EcosystemDay, map[string][]EcosystemBreakdownRow) {
	d := st.day
	d.Day, d.Resources, d.ComputedAt = day, st.resources, st.computedAt
	d.Created, d.Modified, d.Moved, d.Deleted = st.events[EventCreated], st.events[EventModified], st.events[EventMoved], st.events[EventDeleted]
	out := make(map[string][]EcosystemBreakdownRow, len(st.dims))
	for dim, keys := range st.dims {
		rows := make([]EcosystemBreakdownRow, 0, len(keys))
		for _, r := range keys {
			if r.Repos > 0 || r.Objects > 0 {
				rows = append(rows, *r)
			}
		}
		slices.SortFunc(rows, func(a, b EcosystemBreakdownRow) int {
			return cmp.Or(cmp.Compare(b.Repos, a.Repos), cmp.Compare(b.Objects, a.Objects), cmp.Compare(a.Key, b.Key))
		})
		if n := breakdownKeep[dim]; len(rows) > n {
			rows = rows[:n]
		}
		out[dim] = rows
	}
	return d, out
}

// aggregateRange replays the history and writes every day in [from, to] that want accepts,
// each day in its own transaction. written is called after each day written.
func (s *Store) aggregateRange(ctx context.Context, from, to time.Time, want func(time.Time) bool, written func()) error {
	end := to.AddDate(0, 0, 1)
	rows, err := s.query(ctx, ecosystemDeltas, from, end, end.Format(dayLayout), from.Format(dayLayout))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	st := &ecoState{events: map[string]int64{}, computedAt: s.now(), dims: map[string]map[string]*EcosystemBreakdownRow{
		DimensionLanguage: {}, DimensionTopic: {}, DimensionKind: {},
	}}
	next := from // the next day to emit
	emit := func(until time.Time) error {
		for ; next.Before(until); next = next.AddDate(0, 0, 1) {
			if want(next) {
				d, bd := st.snapshot(next)
				if err := s.writeEcosystemDay(ctx, d, bd); err != nil {
					return err
				}
				if written != nil {
					written()
				}
			}
			clear(st.events) // events are per day; the rest runs on
		}
		return nil
	}
	for rows.Next() {
		var dim, key, ds string
		var a, b int64
		if err := rows.Scan(&dim, &key, &ds, &a, &b); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		d, err := time.Parse(dayLayout, ds)
		if err != nil {
			return fmt.Errorf("history: day %q: %w", ds, err)
		}
		// Every change of an earlier day is in: the days before d are final.
		if err := emit(d); err != nil {
			return err
		}
		switch dim {
		case "repos":
			st.day.Repos += a
			st.day.ScannedRepos += b
		case "stars":
			st.day.Stars += a
			st.day.Forks += b
		case "events":
			if !d.Before(from) {
				st.events[key] += a
			}
		default:
			m := st.dims[dim]
			r := m[key]
			if r == nil {
				r = &EcosystemBreakdownRow{Key: key}
				m[key] = r
			}
			r.Repos += a
			r.Objects += b
			if dim == DimensionKind {
				st.resources += b
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return emit(end)
}

func (s *Store) writeEcosystemDay(ctx context.Context, d EcosystemDay, bd map[string][]EcosystemBreakdownRow) error {
	day := d.Day.Format(dayLayout)
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO ecosystem_daily (day, repos, scanned_repos, stars, forks, resources, created, modified, moved, deleted, computed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (day) DO UPDATE SET repos = excluded.repos, scanned_repos = excluded.scanned_repos,
				stars = excluded.stars, forks = excluded.forks, resources = excluded.resources, created = excluded.created,
				modified = excluded.modified, moved = excluded.moved, deleted = excluded.deleted, computed_at = excluded.computed_at`,
			day, d.Repos, d.ScannedRepos, d.Stars, d.Forks, d.Resources, d.Created, d.Modified, d.Moved, d.Deleted, d.ComputedAt); err != nil {
			return fmt.Errorf("write day: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ecosystem_breakdowns WHERE day = ?`, day); err != nil {
			return fmt.Errorf("clear breakdowns: %w", err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO ecosystem_breakdowns (day, dimension, key, repos, objects) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("prepare breakdowns: %w", err)
		}
		defer st.Close()
		for _, dim := range EcosystemDimensions {
			for _, r := range bd[dim] {
				if _, err := st.ExecContext(ctx, day, dim, r.Key, r.Repos, r.Objects); err != nil {
					return fmt.Errorf("write breakdown: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("day %s: %w", day, err)
	}
	s.ecosystem.Add(1)
	s.changed()
	return nil
}

// EcosystemVersion changes whenever this process writes a day of the ecosystem aggregate:
// the ecosystem views key their caches on it, as nothing else changes what they show (a
// sync reaches them only through the next aggregate).
func (s *Store) EcosystemVersion() uint64 { return s.ecosystem.Load() }

// EcosystemDays returns the aggregated days within the last days days before and including
// the newest aggregated day, oldest first; nil when the aggregate has never run.
func (s *Store) EcosystemDays(ctx context.Context, days int) ([]EcosystemDay, error) {
	if days < 1 || days > 3660 {
		return nil, &ValidationError{Field: "days", Msg: "days must be between 1 and 3660"}
	}
	rows, err := s.query(ctx, `
		SELECT day, repos, scanned_repos, stars, forks, resources, created, modified, moved, deleted, computed_at
		FROM ecosystem_daily WHERE day > date((SELECT max(day) FROM ecosystem_daily), ?) ORDER BY day`,
		fmt.Sprintf("-%d days", days))
	if err != nil {
		return nil, fmt.Errorf("store: ecosystem days: %w", err)
	}
	defer rows.Close()
	var out []EcosystemDay
	for rows.Next() {
		var d EcosystemDay
		var day string
		if err := rows.Scan(&day, &d.Repos, &d.ScannedRepos, &d.Stars, &d.Forks, &d.Resources, &d.Created, &d.Modified,
			&d.Moved, &d.Deleted, &d.ComputedAt); err != nil {
			return nil, fmt.Errorf("store: ecosystem days: %w", err)
		}
		if d.Day, err = time.Parse(dayLayout, day); err != nil {
			return nil, fmt.Errorf("store: ecosystem days: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ecosystem days: %w", err)
	}
	return out, nil
}

// EcosystemBreakdown returns a day's breakdown by dimension, most repositories first.
func (s *Store) EcosystemBreakdown(ctx context.Context, dimension string, day time.Time, limit int) ([]EcosystemBreakdownRow, error) {
	if !slices.Contains(EcosystemDimensions, dimension) {
		return nil, &ValidationError{Field: "dimension", Msg: fmt.Sprintf("unknown dimension %q", dimension)}
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	rows, err := s.query(ctx, `
		SELECT key, repos, objects FROM ecosystem_breakdowns WHERE day = ? AND dimension = ?
		ORDER BY repos DESC, objects DESC, key LIMIT ?`, Day(day).Format(dayLayout), dimension, limit)
	if err != nil {
		return nil, fmt.Errorf("store: ecosystem breakdown: %w", err)
	}
	defer rows.Close()
	var out []EcosystemBreakdownRow
	for rows.Next() {
		var r EcosystemBreakdownRow
		if err := rows.Scan(&r.Key, &r.Repos, &r.Objects); err != nil {
			return nil, fmt.Errorf("store: ecosystem breakdown: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ecosystem breakdown: %w", err)
	}
	return out, nil
}

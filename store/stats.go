package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The community pages read per-image and per-kind totals from image_stats and kind_stats
// instead of grouping hundreds of thousands of usages per request. Every change that can
// move a total (a scan replacing a repository's facts, or a block, unblock, delete or
// restore changing whether it counts) recomputes the keys that repository touched, before
// and after the change, from the base tables in the same transaction. Recomputing a key
// from its index range instead of adding deltas means a total can never drift: whatever
// the history, each row equals what a full GROUP BY would give (TestStatsMatchRebuild).
// A scan recomputes only the keys whose contribution from the scanned repository changed:
// a popular kind has tens of thousands of objects to count, and most re-scans change few.

// imageStatsSelect computes image_stats rows from image_usages of live repositories.
const imageStatsSelect = `
	SELECT registry, repository, count(DISTINCT repository_id), count(*), count(DISTINCT nullif(tag, '')), ` +
	`sum(digest = '' AND tag <> ''), sum(digest <> ''), sum(digest = '' AND tag = '')
	FROM image_usages WHERE ` + liveRepoUsage

// kindStatsSelect computes kind_stats rows from resources of live repositories.
const kindStatsSelect = `
	SELECT api_group, kind, count(DISTINCT repository_id), count(*)
	FROM resources WHERE ` + liveRepoUsage

// rebuildStats recomputes both tables from scratch: what the migration that introduced
// them runs, and what tests compare the incremental upkeep with.
const rebuildStats = `
DELETE FROM image_stats;
INSERT INTO image_stats (registry, repository, repos, usages, tags, tag_only, digest, latest)` + imageStatsSelect + `
	GROUP BY registry, repository;
DELETE FROM kind_stats;
INSERT INTO kind_stats (api_group, kind, repos, objects)` + kindStatsSelect + `
	GROUP BY api_group, kind;
`

// statKey is one image (registry, repository) or one kind (api group, kind).
type statKey struct{ a, b string }

// statKeys are the image and kind keys a repository contributes to, each with a signature of
// everything its totals take from this repository (usages, pinning, tags; objects).
type statKeys struct {
	images, kinds map[statKey]string
}

// repoStatKeys reads what repository id contributes to each key now.
func repoStatKeys(ctx context.Context, tx *sql.Tx, id int64) (statKeys, error) {
	k := statKeys{images: map[statKey]string{}, kinds: map[statKey]string{}}
	rows, err := tx.QueryContext(ctx, `
		SELECT registry, repository, tag, digest <> '' FROM image_usages WHERE repository_id = ?
		ORDER BY registry, repository, tag, digest`, id)
	if err != nil {
		return k, fmt.Errorf("read image keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key statKey
		var tag string
		var digest bool
		if err := rows.Scan(&key.a, &key.b, &tag, &digest); err != nil {
			return k, fmt.Errorf("read image keys: %w", err)
		}
		// In order, so equal contributions give equal signatures.
		k.images[key] += fmt.Sprintf("%q:%t,", tag, digest)
	}
	if err := rows.Err(); err != nil {
		return k, fmt.Errorf("read image keys: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT api_group, kind, count(*) FROM resources WHERE repository_id = ? GROUP BY api_group, kind`, id)
	if err != nil {
		return k, fmt.Errorf("read kind keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key statKey
		var n int
		if err := rows.Scan(&key.a, &key.b, &n); err != nil {
			return k, fmt.Errorf("read kind keys: %w", err)
		}
		k.kinds[key] = fmt.Sprint(n)
	}
	if err := rows.Err(); err != nil {
		return k, fmt.Errorf("read kind keys: %w", err)
	}
	return k, nil
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
	return statKeys{images: diff(before.images, after.images), kinds: diff(before.kinds, after.kinds)}
}

// refreshStats recomputes the given keys; a key nothing uses any more loses its row.
func refreshStats(ctx context.Context, tx *sql.Tx, keys statKeys) error {
	type table struct {
		del, ins string
		keys     map[statKey]string
	}
	tables := []table{
		{
			del:  `DELETE FROM image_stats WHERE registry = ? AND repository = ?`,
			ins:  `INSERT INTO image_stats (registry, repository, repos, usages, tags, tag_only, digest, latest)` + imageStatsSelect + ` AND registry = ? AND repository = ? GROUP BY registry, repository`,
			keys: keys.images,
		},
		{
			del:  `DELETE FROM kind_stats WHERE api_group = ? AND kind = ?`,
			ins:  `INSERT INTO kind_stats (api_group, kind, repos, objects)` + kindStatsSelect + ` AND api_group = ? AND kind = ? GROUP BY api_group, kind`,
			keys: keys.kinds,
		},
	}
	for _, t := range tables {
		if len(t.keys) == 0 {
			continue
		}
		del, err := tx.PrepareContext(ctx, t.del)
		if err != nil {
			return fmt.Errorf("prepare stats refresh: %w", err)
		}
		defer del.Close()
		ins, err := tx.PrepareContext(ctx, t.ins)
		if err != nil {
			return fmt.Errorf("prepare stats refresh: %w", err)
		}
		defer ins.Close()
		for k := range t.keys {
			if _, err := del.ExecContext(ctx, k.a, k.b); err != nil {
				return fmt.Errorf("refresh stats of %s/%s: %w", k.a, k.b, err)
			}
			if _, err := ins.ExecContext(ctx, k.a, k.b); err != nil {
				return fmt.Errorf("refresh stats of %s/%s: %w", k.a, k.b, err)
			}
		}
	}
	return nil
}

// RebuildStats recomputes every image and kind total from scratch. The totals are kept
// current incrementally; this is the repair tool and the tests' reference.
func (s *Store) RebuildStats(ctx context.Context) error {
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, rebuildStats)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: rebuild stats: %w", err)
	}
	s.changed()
	return nil
}

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

// statKeys are the image and kind keys a repository contributes to.
type statKeys struct {
	images, kinds map[statKey]bool
}

// repoStatKeys reads the keys repository id contributes to now. Callers read them before
// and after a change and refresh the union, so keys the repository left are fixed too.
func repoStatKeys(ctx context.Context, tx *sql.Tx, id int64, into *statKeys) error {
	if into.images == nil {
		into.images, into.kinds = map[statKey]bool{}, map[statKey]bool{}
	}
	read := func(q string, m map[statKey]bool) error {
		rows, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k statKey
			if err := rows.Scan(&k.a, &k.b); err != nil {
				return err
			}
			m[k] = true
		}
		return rows.Err()
	}
	if err := read(`SELECT DISTINCT registry, repository FROM image_usages WHERE repository_id = ?`, into.images); err != nil {
		return fmt.Errorf("read image keys: %w", err)
	}
	if err := read(`SELECT DISTINCT api_group, kind FROM resources WHERE repository_id = ?`, into.kinds); err != nil {
		return fmt.Errorf("read kind keys: %w", err)
	}
	return nil
}

// refreshStats recomputes the given keys; a key nothing uses any more loses its row.
func refreshStats(ctx context.Context, tx *sql.Tx, keys statKeys) error {
	type table struct {
		del, ins string
		keys     map[statKey]bool
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

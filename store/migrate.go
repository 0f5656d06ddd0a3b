package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migration upgrades the schema by one version inside its own transaction.
type migration struct {
	why string // why the step exists, for whoever reads the list years later
	sql string
}

// baseVersion is the schema version that the first release of schema.sql created.
const baseVersion = 1

// migrations[i] upgrades version baseVersion+i to baseVersion+i+1. Append only: a step
// that has shipped is never edited. schema.sql must always equal the result of all
// steps (TestMigratedEqualsFresh checks it against the frozen store/testdata/schema-vN.sql).
var migrations = []migration{
	{why: "GitHub pipeline: repositories, their metrics history, search index and job runs", sql: schemaV2},
}

// LatestVersion is the schema version this binary creates and understands.
func LatestVersion() int { return baseVersion + len(migrations) }

func (s *Store) migrate(ctx context.Context, schema string) error {
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	latest := LatestVersion()
	switch {
	case v > latest:
		return fmt.Errorf("store: %s is at schema version %d but this binary knows only up to %d (was it opened by a newer Kubestats?): %w",
			s.path, v, latest, ErrSchemaTooNew)
	case v == latest:
		return nil
	case v == 0:
		return s.createFresh(ctx, schema)
	}
	for ; v < latest; v++ {
		step := migrations[v-baseVersion]
		err := s.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, step.sql); err != nil {
				return err
			}
			// PRAGMA takes no placeholders; v is an int we computed, not input.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate to version %d (%s): %w", v+1, step.why, err)
		}
	}
	return nil
}

// createFresh applies schema.sql to an empty database. A file with tables but no
// version is someone else's database: refuse rather than mix schemas.
func (s *Store) createFresh(ctx context.Context, schema string) error {
	if schema == "" {
		return fmt.Errorf("store: no schema given to create %s", s.path)
	}
	var tables int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&tables); err != nil {
		return fmt.Errorf("store: inspect %s: %w", s.path, err)
	}
	if tables > 0 {
		return fmt.Errorf("store: %s has tables but no Kubestats schema version; it is not a Kubestats database", s.path)
	}
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("store: create schema: %w", err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", LatestVersion())); err != nil {
			return fmt.Errorf("store: set schema version: %w", err)
		}
		return nil
	})
}

const schemaV2 = `
CREATE TABLE repositories (
    id                INTEGER PRIMARY KEY,
    github_id         TEXT     NOT NULL UNIQUE, -- GraphQL node id: survives renames and transfers
    database_id       INTEGER  NOT NULL DEFAULT 0,
    owner             TEXT     NOT NULL,
    name              TEXT     NOT NULL,
    description       TEXT     NOT NULL DEFAULT '',
    url               TEXT     NOT NULL DEFAULT '',
    homepage          TEXT     NOT NULL DEFAULT '',
    language          TEXT     NOT NULL DEFAULT '',
    topics            TEXT     NOT NULL DEFAULT '[]', -- JSON array of the repo's GitHub topics
    license           TEXT     NOT NULL DEFAULT '',
    default_branch    TEXT     NOT NULL DEFAULT '',
    is_archived       INTEGER  NOT NULL DEFAULT 0 CHECK (is_archived IN (0, 1)),
    is_fork           INTEGER  NOT NULL DEFAULT 0 CHECK (is_fork IN (0, 1)),
    created_at        DATETIME,
    pushed_at         DATETIME,
    updated_at        DATETIME,
    disk_usage_kb     INTEGER  NOT NULL DEFAULT 0,
    stars             INTEGER  NOT NULL DEFAULT 0,
    forks             INTEGER  NOT NULL DEFAULT 0,
    watchers          INTEGER  NOT NULL DEFAULT 0,
    open_issues       INTEGER  NOT NULL DEFAULT 0,
    head_oid          TEXT     NOT NULL DEFAULT '',
    head_committed_at DATETIME,
    discovery_topics  TEXT     NOT NULL DEFAULT '[]', -- JSON array: which configured topics found it
    first_seen_at     DATETIME NOT NULL,
    last_seen_at      DATETIME NOT NULL,
    refreshed_at      DATETIME,
    gone_at           DATETIME, -- GitHub stopped returning it (deleted, renamed away, private)
    -- approval: 'none' (within the size limit), 'pending' (too big, waits for an admin), 'approved' (sticks)
    approval          TEXT     NOT NULL DEFAULT 'none' CHECK (approval IN ('none', 'pending', 'approved')),
    blocked_at        DATETIME,
    deleted_at        DATETIME, -- tombstone: discovery never re-adds it until an admin restores it
    sync_status       TEXT     NOT NULL DEFAULT 'pending' CHECK (sync_status IN ('pending', 'syncing', 'success', 'error')),
    sync_error        TEXT     NOT NULL DEFAULT '',
    sync_attempts     INTEGER  NOT NULL DEFAULT 0,
    next_sync_at      DATETIME,
    scanned_oid       TEXT     NOT NULL DEFAULT '',
    scanned_at        DATETIME
);
CREATE INDEX repositories_owner_name ON repositories (owner COLLATE NOCASE, name COLLATE NOCASE);
CREATE INDEX repositories_stars ON repositories (stars DESC);
CREATE INDEX repositories_pushed_at ON repositories (pushed_at DESC);
CREATE INDEX repositories_first_seen_at ON repositories (first_seen_at DESC);
CREATE INDEX repositories_sync_due ON repositories (sync_status, next_sync_at);

-- Search over name, description and topics; kept in step by the triggers below.
CREATE VIRTUAL TABLE repositories_fts USING fts5(full_name, description, topics, tokenize = 'unicode61');
CREATE TRIGGER repositories_fts_insert AFTER INSERT ON repositories BEGIN
    INSERT INTO repositories_fts (rowid, full_name, description, topics)
    VALUES (new.id, new.owner || '/' || new.name, new.description, new.topics);
END;
CREATE TRIGGER repositories_fts_update AFTER UPDATE OF owner, name, description, topics ON repositories BEGIN
    UPDATE repositories_fts SET full_name = new.owner || '/' || new.name, description = new.description, topics = new.topics
    WHERE rowid = new.id;
END;
CREATE TRIGGER repositories_fts_delete AFTER DELETE ON repositories BEGIN
    DELETE FROM repositories_fts WHERE rowid = old.id;
END;

-- Statistics over time: one row when a value changed, and at least one per repo per UTC day.
CREATE TABLE repository_metrics (
    repository_id INTEGER  NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    recorded_at   DATETIME NOT NULL,
    stars         INTEGER  NOT NULL,
    forks         INTEGER  NOT NULL,
    watchers      INTEGER  NOT NULL,
    open_issues   INTEGER  NOT NULL,
    disk_usage_kb INTEGER  NOT NULL,
    PRIMARY KEY (repository_id, recorded_at)
) WITHOUT ROWID;

-- Every run of every job, however it was started.
CREATE TABLE job_runs (
    id               INTEGER PRIMARY KEY,
    job              TEXT     NOT NULL,
    trigger          TEXT     NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli', 'test')),
    started_at       DATETIME NOT NULL,
    finished_at      DATETIME,
    status           TEXT     NOT NULL CHECK (status IN ('running', 'success', 'error', 'cancelled')),
    error            TEXT     NOT NULL DEFAULT '',
    counts           TEXT     NOT NULL DEFAULT '{}', -- JSON object of named counts
    graphql_requests INTEGER  NOT NULL DEFAULT 0,
    graphql_points   INTEGER  NOT NULL DEFAULT 0,
    retries          INTEGER  NOT NULL DEFAULT 0
);
CREATE INDEX job_runs_job_started ON job_runs (job, started_at DESC);
`

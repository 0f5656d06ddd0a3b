-- Kubestats schema: creates a fresh database at the newest version.
-- Existing databases are upgraded by the ordered steps in store/migrate.go instead;
-- every change here needs a matching step there (store tests compare both paths).
-- Times are stored as UTC text in SQLite's own format (the DSN sets _time_format=sqlite).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name          TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    is_superuser  INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    last_login_at DATETIME
);

-- Server-side sessions: the cookie carries a random token; only its SHA-256 is kept
-- here, so a copy of the database cannot be replayed as a login.
CREATE TABLE sessions (
    id_hash      TEXT     PRIMARY KEY,
    user_id      INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    ip           TEXT     NOT NULL DEFAULT '',
    user_agent   TEXT     NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Small key/value state the app owns (generated keys, first-run markers).
CREATE TABLE settings (
    key        TEXT     PRIMARY KEY,
    value      TEXT     NOT NULL,
    updated_at DATETIME NOT NULL
) WITHOUT ROWID;

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
    scanned_at        DATETIME,
    scanned_committed_at DATETIME,
    sync_started_at   DATETIME,
    scan_files        INTEGER NOT NULL DEFAULT 0,
    scan_documents    INTEGER NOT NULL DEFAULT 0,
    scan_bytes        INTEGER NOT NULL DEFAULT 0,
    scan_duration_ms  INTEGER NOT NULL DEFAULT 0,
    object_count      INTEGER NOT NULL DEFAULT 0,
    chart_count       INTEGER NOT NULL DEFAULT 0,
    image_count       INTEGER NOT NULL DEFAULT 0,
    deprecation_count INTEGER NOT NULL DEFAULT 0,
    error_count       INTEGER NOT NULL DEFAULT 0,
    skipped_count     INTEGER NOT NULL DEFAULT 0
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

-- Redacted object bodies (canonical JSON), stored once per distinct content: many repos share
-- identical objects and an unchanged object keeps its row across syncs. A sync writes bodies
-- while it streams (so memory stays flat); rows no resource references are removed by prune
-- once they are a day old, which also clears what an interrupted sync left behind.
CREATE TABLE resource_contents (
    id        INTEGER PRIMARY KEY,
    hash      TEXT     NOT NULL UNIQUE, -- hex SHA-256 of content
    content   BLOB     NOT NULL,
    stored_at DATETIME NOT NULL
);
CREATE INDEX resource_contents_stored_at ON resource_contents (stored_at);

-- Every Kubernetes-style object of a repo's scanned commit. Identity: (group, kind, namespace, name, path).
CREATE TABLE resources (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    path          TEXT    NOT NULL,
    doc           INTEGER NOT NULL, -- 0-based document index in the file
    line          INTEGER NOT NULL, -- 1-based first line of the document
    api_group     TEXT    NOT NULL,
    api_version   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    namespace     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL
);
CREATE UNIQUE INDEX resources_identity ON resources (repository_id, api_group, kind, namespace, name, path);
CREATE INDEX resources_kind ON resources (api_group, kind, repository_id);
CREATE INDEX resources_content_hash ON resources (content_hash);

-- Helm charts deployed by Flux HelmReleases and Argo CD Applications/ApplicationSets.
CREATE TABLE chart_usages (
    id               INTEGER PRIMARY KEY,
    repository_id    INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    path             TEXT    NOT NULL,
    tool             TEXT    NOT NULL, -- flux, argo
    kind             TEXT    NOT NULL, -- HelmRelease, Application, ApplicationSet
    release_name     TEXT    NOT NULL,
    namespace        TEXT    NOT NULL,
    chart            TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    source_kind      TEXT    NOT NULL,
    source_name      TEXT    NOT NULL,
    source_namespace TEXT    NOT NULL,
    source_url       TEXT    NOT NULL,
    chart_url        TEXT    NOT NULL,
    ambiguous        INTEGER NOT NULL CHECK (ambiguous IN (0, 1)),
    values_from      TEXT    NOT NULL DEFAULT '[]', -- JSON array of ConfigMap/Secret names
    chart_values     TEXT -- inline values, redacted, canonical JSON; NULL when none
);
-- Covering indexes: the charts pages group by chart, "repos that also use" goes by repository.
CREATE INDEX chart_usages_repository_chart ON chart_usages (repository_id, chart);
CREATE INDEX chart_usages_chart_cover ON chart_usages (chart, repository_id, version, source_kind, chart_url, source_url);

-- Container images from workload pod specs and Helm values.
CREATE TABLE image_usages (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    path          TEXT    NOT NULL,
    kind          TEXT    NOT NULL, -- kind and name of the object that holds the reference
    object_name   TEXT    NOT NULL,
    namespace     TEXT    NOT NULL,
    source        TEXT    NOT NULL, -- pod, values
    image         TEXT    NOT NULL, -- normalised full reference
    registry      TEXT    NOT NULL,
    repository    TEXT    NOT NULL,
    tag           TEXT    NOT NULL,
    digest        TEXT    NOT NULL
);
CREATE INDEX image_usages_repository ON image_usages (repository_id);
CREATE INDEX image_usages_image_pins ON image_usages (registry, repository, repository_id, tag, digest); -- covers the images pages

-- Objects whose apiVersion is deprecated or removed (from scan's embedded table).
CREATE TABLE deprecated_usages (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    path          TEXT    NOT NULL,
    api_version   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    namespace     TEXT    NOT NULL,
    project       TEXT    NOT NULL, -- kubernetes, flux
    deprecated_in TEXT    NOT NULL,
    removed_in    TEXT    NOT NULL, -- '' while only deprecated
    replacement   TEXT    NOT NULL
);
CREATE INDEX deprecated_usages_repository ON deprecated_usages (repository_id);
CREATE INDEX deprecated_usages_api_cover ON deprecated_usages (api_version, kind, repository_id, project, removed_in, deprecated_in, replacement, path);

-- Files of the scanned commit that could not be read as manifests ('error') or were not read ('skipped').
CREATE TABLE scan_errors (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('error', 'skipped')),
    path          TEXT    NOT NULL,
    line          INTEGER NOT NULL DEFAULT 0,
    message       TEXT    NOT NULL
);
CREATE INDEX scan_errors_repository ON scan_errors (repository_id, kind);

-- Lifecycle of resources between scanned commits.
CREATE TABLE resource_events (
    id              INTEGER PRIMARY KEY,
    repository_id   INTEGER  NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    type            TEXT     NOT NULL CHECK (type IN ('created', 'modified', 'moved', 'deleted')),
    api_group       TEXT     NOT NULL,
    api_version     TEXT     NOT NULL,
    kind            TEXT     NOT NULL,
    namespace       TEXT     NOT NULL,
    name            TEXT     NOT NULL,
    path            TEXT     NOT NULL,
    old_path        TEXT     NOT NULL DEFAULT '', -- moved: the file it left
    old_api_version TEXT     NOT NULL DEFAULT '', -- modified: the version before (an apiVersion bump shows here)
    content_hash    TEXT     NOT NULL DEFAULT '', -- the version after the change; '' when deleted
    commit_oid      TEXT     NOT NULL,
    committed_at    DATETIME,
    detected_at     DATETIME NOT NULL
);
CREATE INDEX resource_events_repository ON resource_events (repository_id, committed_at DESC);
CREATE INDEX resource_events_committed_at ON resource_events (committed_at);
-- An object's history (when a chart's release first appeared in a repository).
CREATE INDEX resource_events_object ON resource_events (repository_id, kind, namespace, name, type, committed_at);

-- Version 4: community views. Aggregates the pages read instead of scanning usages per request.

-- One row per UTC day, computed from snapshots and events as of the day's end (so a day filled in
-- later says what was true on that day). Written by the aggregate job.
CREATE TABLE ecosystem_daily (
    day           TEXT     PRIMARY KEY, -- YYYY-MM-DD (UTC)
    repos         INTEGER  NOT NULL, -- repositories known at the day's end (found, not deleted or gone)
    scanned_repos INTEGER  NOT NULL, -- of those, repositories with at least one scan by the day's end
    stars         INTEGER  NOT NULL, -- sum of each repository's latest snapshot at or before the day's end
    forks         INTEGER  NOT NULL,
    resources     INTEGER  NOT NULL, -- objects in scanned commits at the day's end
    created       INTEGER  NOT NULL, -- events whose commit falls on the day
    modified      INTEGER  NOT NULL,
    moved         INTEGER  NOT NULL,
    deleted       INTEGER  NOT NULL,
    computed_at   DATETIME NOT NULL
) WITHOUT ROWID;

-- The day's breakdowns: repositories (and objects, for kinds) per language, topic and kind.
CREATE TABLE ecosystem_breakdowns (
    day       TEXT    NOT NULL REFERENCES ecosystem_daily (day) ON DELETE CASCADE,
    dimension TEXT    NOT NULL CHECK (dimension IN ('language', 'topic', 'kind')),
    key       TEXT    NOT NULL, -- language name, topic, or "group/Kind" ("Kind" for the core group)
    repos     INTEGER NOT NULL,
    objects   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dimension, key)
) WITHOUT ROWID;

-- Per-image totals over live repositories (not deleted, not blocked), kept current by every
-- scan and repository action for the images it touched. /images reads only this.
CREATE TABLE image_stats (
    registry   TEXT    NOT NULL,
    repository TEXT    NOT NULL,
    repos      INTEGER NOT NULL,
    usages     INTEGER NOT NULL,
    tags       INTEGER NOT NULL, -- distinct non-empty tags
    tag_only   INTEGER NOT NULL, -- usages pinned by tag only
    digest     INTEGER NOT NULL, -- usages pinned by digest
    latest     INTEGER NOT NULL, -- usages with neither
    PRIMARY KEY (registry, repository)
) WITHOUT ROWID;
CREATE INDEX image_stats_repos ON image_stats (repos DESC, usages DESC);

-- Per-kind totals over live repositories, kept like image_stats. /resources reads this.
CREATE TABLE kind_stats (
    api_group TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    repos     INTEGER NOT NULL,
    objects   INTEGER NOT NULL,
    PRIMARY KEY (api_group, kind)
) WITHOUT ROWID;
CREATE INDEX kind_stats_repos ON kind_stats (repos DESC, objects DESC);

-- The cross-repository resources pages: names of a kind, and everything in a namespace.
CREATE INDEX resources_kind_name ON resources (api_group, kind, name, repository_id, namespace);
CREATE INDEX resources_namespace ON resources (namespace, api_group, kind, repository_id, name);
-- liveRepoUsage's list of hidden repositories, read by every community query.
CREATE INDEX repositories_hidden ON repositories (id) WHERE deleted_at IS NOT NULL OR blocked_at IS NOT NULL;
-- The aggregate job's "events detected since" step.
CREATE INDEX resource_events_detected_at ON resource_events (detected_at);

-- API tokens: a user's named bearer tokens. Only the SHA-256 of a token is kept; the token is
-- shown once when created. Revoked tokens stay listed (with revoked_at) so their use is explained.
CREATE TABLE api_tokens (
    id           INTEGER  PRIMARY KEY,
    user_id      INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL,
    token_hash   TEXT     NOT NULL UNIQUE, -- hex SHA-256 of the token
    prefix       TEXT     NOT NULL, -- the token's first characters, to recognise it in lists and logs
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

-- Version 5: one read model. Per-chart and per-deprecated-API totals over live repositories (not
-- deleted, not blocked), kept current like image_stats: every scan and repository action
-- recomputes, in its own transaction, the keys whose contribution from that repository changed.

-- One row per chart a live repository deploys. /charts and the dashboard read only this.
CREATE TABLE chart_stats (
    chart    TEXT    PRIMARY KEY,
    repos    INTEGER NOT NULL, -- distinct repositories deploying it
    releases INTEGER NOT NULL, -- releases and applications deploying it
    versions INTEGER NOT NULL, -- distinct versions, '' included
    newest   TEXT    NOT NULL, -- highest version by CompareVersions; '' when none is written
    growth   INTEGER NOT NULL  -- repositories that started using it within GrowthWindow, as of the last write or growth refresh
) WITHOUT ROWID;
CREATE INDEX chart_stats_repos ON chart_stats (repos DESC, chart);
CREATE INDEX chart_stats_growth ON chart_stats (growth DESC, repos DESC, chart);

-- A chart's versions with how many live repositories and releases run each: the chart page's table.
CREATE TABLE chart_version_stats (
    chart    TEXT    NOT NULL,
    version  TEXT    NOT NULL,
    repos    INTEGER NOT NULL,
    releases INTEGER NOT NULL,
    PRIMARY KEY (chart, version)
) WITHOUT ROWID;

-- A chart's sources (source kind; chart URL when resolved, else source URL) and their live repositories.
CREATE TABLE chart_source_stats (
    chart       TEXT    NOT NULL,
    source_kind TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    repos       INTEGER NOT NULL,
    PRIMARY KEY (chart, source_kind, url)
) WITHOUT ROWID;
CREATE INDEX chart_source_stats_repos ON chart_source_stats (chart, repos DESC, source_kind, url);

-- Per deprecated API (apiVersion + kind) totals, once per filter /deprecations offers: repositories
-- are distinct per row, so the filtered totals cannot be added up from finer rows. A scope is ''
-- (any) or the filter's value; the release columns are max() over the scope's usages, as the
-- scanner's table gives one value per API.
CREATE TABLE deprecation_stats (
    api_version   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    scope_project TEXT    NOT NULL, -- '' or the project (kubernetes, flux)
    scope_status  TEXT    NOT NULL CHECK (scope_status IN ('', 'removed', 'deprecated')),
    project       TEXT    NOT NULL,
    deprecated_in TEXT    NOT NULL,
    removed_in    TEXT    NOT NULL,
    replacement   TEXT    NOT NULL,
    repos         INTEGER NOT NULL,
    objects       INTEGER NOT NULL,
    PRIMARY KEY (api_version, kind, scope_project, scope_status)
) WITHOUT ROWID;
CREATE INDEX deprecation_stats_scope ON deprecation_stats (scope_project, scope_status);

-- The dashboard's live totals (repositories, scanned, objects) from a narrow index, not the wide rows,
-- and its newest live repositories (discovery stamps a whole search batch with one time).
CREATE INDEX repositories_live ON repositories (scanned_oid, object_count, deleted_at, blocked_at) WHERE deleted_at IS NULL AND blocked_at IS NULL;
CREATE INDEX repositories_live_newest ON repositories (first_seen_at DESC, id DESC) WHERE deleted_at IS NULL AND blocked_at IS NULL;
-- A chart version's usages, for its chart_version_stats row.
CREATE INDEX chart_usages_chart_version ON chart_usages (chart, version, repository_id);
-- Release creations by commit time: the growth window's candidates (freshReleases), a few hundred
-- rows where the window holds thousands of events.
CREATE INDEX resource_events_release_created ON resource_events (committed_at, repository_id, kind, namespace, name)
    WHERE type = 'created' AND kind IN ('HelmRelease', 'Application', 'ApplicationSet');

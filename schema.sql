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

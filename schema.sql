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

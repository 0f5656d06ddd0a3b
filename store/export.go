package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// DatasetVersion numbers the export's layout. It changes when a table or column of the
// export changes meaning or goes away (adding one does not), so consumers can check it.
const DatasetVersion = 1

// ExportInfo describes a finished export.
type ExportInfo struct {
	Path       string
	ExportedAt time.Time
	Bytes      int64
	Rows       map[string]int64 // rows written per table
}

// exportColumn is one column of an exported table. expr reads it from the source (alias t,
// and whatever the table's from clause joins); empty means t.<name>.
type exportColumn struct {
	name, typ, expr, desc string
}

// exportTable is one table of the dataset. The DDL, the copy and the readme rows are all
// generated from this list, so the readme cannot miss a column.
type exportTable struct {
	name, desc string
	cols       []exportColumn
	keys       string // table constraints after the columns
	rowid      bool   // false: WITHOUT ROWID (tables keyed by a composite primary key)
	from       string // FROM … WHERE … reading the main database (alias t)
	indexes    []string
}

// timeNote is appended to every time column's description.
const timeNote = " UTC, as text YYYY-MM-DD HH:MM:SS[.fraction]+00:00 (declared DATETIME, so drivers read a time); SQLite's date functions read it."

// liveRepos selects what the dataset may show: blocked and deleted repositories are an
// admin's decision to hide them, so none of their rows leave the database.
const liveRepos = "repository_id IN (SELECT id FROM exp.repositories)"

// exportTables is the dataset. Left out on purpose: users, sessions, api_tokens, settings and
// job_runs (people and operations, never public); resource_contents as its own table (bodies
// are inlined as resources.content); image_stats and kind_stats (derived from image_usages and
// resources); the search index; and from repositories every column about an admin's or the
// syncer's handling of a repository (approval, blocked/deleted tombstones, sync status, error
// text, attempts and schedule), which describe this instance rather than the community and
// whose error texts can carry operational detail.
var exportTables = []exportTable{
	{
		name: "repositories",
		desc: "GitHub repositories found by topic search, as last read from GitHub, with what their last scanned commit held. Repositories an admin blocked or deleted are not included.",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Kubestats' id of the repository; other tables refer to it as repository_id."},
			{name: "github_id", typ: "TEXT NOT NULL", desc: "GitHub GraphQL node id; survives renames and transfers."},
			{name: "database_id", typ: "INTEGER NOT NULL", desc: "GitHub REST (database) id."},
			{name: "owner", typ: "TEXT NOT NULL", desc: "Owner login."},
			{name: "name", typ: "TEXT NOT NULL", desc: "Repository name."},
			{name: "description", typ: "TEXT NOT NULL", desc: "GitHub description."},
			{name: "url", typ: "TEXT NOT NULL", desc: "GitHub URL."},
			{name: "homepage", typ: "TEXT NOT NULL", desc: "Homepage URL set on GitHub."},
			{name: "language", typ: "TEXT NOT NULL", desc: "Primary language detected by GitHub."},
			{name: "topics", typ: "TEXT NOT NULL", desc: "JSON array of the repository's GitHub topics."},
			{name: "license", typ: "TEXT NOT NULL", desc: "SPDX id of the license GitHub detected, or empty."},
			{name: "default_branch", typ: "TEXT NOT NULL", desc: "Default branch name."},
			{name: "is_archived", typ: "INTEGER NOT NULL", desc: "1 when archived on GitHub."},
			{name: "is_fork", typ: "INTEGER NOT NULL", desc: "1 when a fork."},
			{name: "created_at", typ: "DATETIME", desc: "Creation time on GitHub;" + timeNote},
			{name: "pushed_at", typ: "DATETIME", desc: "Last push;" + timeNote},
			{name: "updated_at", typ: "DATETIME", desc: "Last update on GitHub;" + timeNote},
			{name: "disk_usage_kb", typ: "INTEGER NOT NULL", desc: "Size on GitHub in KiB."},
			{name: "stars", typ: "INTEGER NOT NULL", desc: "Stargazers, as last read."},
			{name: "forks", typ: "INTEGER NOT NULL", desc: "Forks, as last read."},
			{name: "watchers", typ: "INTEGER NOT NULL", desc: "Watchers, as last read."},
			{name: "open_issues", typ: "INTEGER NOT NULL", desc: "Open issues, as last read."},
			{name: "head_oid", typ: "TEXT NOT NULL", desc: "Commit id of the default branch head, as last read."},
			{name: "head_committed_at", typ: "DATETIME", desc: "Commit time of that head;" + timeNote},
			{name: "discovery_topics", typ: "TEXT NOT NULL", desc: "JSON array of the configured search topics that found the repository."},
			{name: "first_seen_at", typ: "DATETIME NOT NULL", desc: "When Kubestats first found it;" + timeNote},
			{name: "last_seen_at", typ: "DATETIME NOT NULL", desc: "When a search last returned it;" + timeNote},
			{name: "refreshed_at", typ: "DATETIME", desc: "When its statistics were last read;" + timeNote},
			{name: "gone_at", typ: "DATETIME", desc: "When GitHub stopped returning it (deleted, renamed away or made private); NULL while it exists;" + timeNote},
			{name: "scanned_oid", typ: "TEXT NOT NULL", desc: "Commit id whose files the scan tables describe; empty before the first scan."},
			{name: "scanned_at", typ: "DATETIME", desc: "When that commit was scanned;" + timeNote},
			{name: "scanned_committed_at", typ: "DATETIME", desc: "Commit time of the scanned commit;" + timeNote},
			{name: "scan_files", typ: "INTEGER NOT NULL", desc: "YAML files read by the last scan."},
			{name: "scan_documents", typ: "INTEGER NOT NULL", desc: "YAML documents read by the last scan."},
			{name: "scan_bytes", typ: "INTEGER NOT NULL", desc: "Bytes of YAML read by the last scan."},
			{name: "object_count", typ: "INTEGER NOT NULL", desc: "Rows in resources for this repository."},
			{name: "chart_count", typ: "INTEGER NOT NULL", desc: "Rows in chart_usages for this repository."},
			{name: "image_count", typ: "INTEGER NOT NULL", desc: "Rows in image_usages for this repository."},
			{name: "deprecation_count", typ: "INTEGER NOT NULL", desc: "Rows in deprecated_usages for this repository."},
			{name: "error_count", typ: "INTEGER NOT NULL", desc: "Rows in scan_errors of kind 'error' for this repository."},
			{name: "skipped_count", typ: "INTEGER NOT NULL", desc: "Rows in scan_errors of kind 'skipped' for this repository."},
		},
		rowid:   true,
		from:    "FROM main.repositories t WHERE t.deleted_at IS NULL AND t.blocked_at IS NULL",
		indexes: []string{"(owner, name)"},
	},
	{
		name: "repository_metrics",
		desc: "Statistics over time: a snapshot when a value changed, and at least one per repository per UTC day.",
		cols: []exportColumn{
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "recorded_at", typ: "DATETIME NOT NULL", desc: "When the values were read;" + timeNote},
			{name: "stars", typ: "INTEGER NOT NULL", desc: "Stargazers."},
			{name: "forks", typ: "INTEGER NOT NULL", desc: "Forks."},
			{name: "watchers", typ: "INTEGER NOT NULL", desc: "Watchers."},
			{name: "open_issues", typ: "INTEGER NOT NULL", desc: "Open issues."},
			{name: "disk_usage_kb", typ: "INTEGER NOT NULL", desc: "Size on GitHub in KiB."},
		},
		keys: "PRIMARY KEY (repository_id, recorded_at)",
		from: "FROM main.repository_metrics t WHERE t." + liveRepos,
	},
	{
		name: "resources",
		desc: "Every Kubernetes-style object (a mapping with apiVersion, kind and metadata.name) in a repository's scanned commit.",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Row id; changes when the repository is scanned again."},
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "path", typ: "TEXT NOT NULL", desc: "File path in the repository."},
			{name: "doc", typ: "INTEGER NOT NULL", desc: "0-based index of the YAML document in the file."},
			{name: "line", typ: "INTEGER NOT NULL", desc: "1-based first line of the document."},
			{name: "api_group", typ: "TEXT NOT NULL", desc: "API group of apiVersion; empty for the core group."},
			{name: "api_version", typ: "TEXT NOT NULL", desc: "apiVersion as written."},
			{name: "kind", typ: "TEXT NOT NULL", desc: "kind."},
			{name: "namespace", typ: "TEXT NOT NULL", desc: "metadata.namespace, else the namespace a kustomization or Flux Kustomization gives the file, else empty."},
			{name: "name", typ: "TEXT NOT NULL", desc: "metadata.name."},
			{name: "content_hash", typ: "TEXT NOT NULL", desc: "Hex SHA-256 of content; equal hashes mean equal objects."},
			{name: "content", typ: "TEXT", expr: "CAST(c.content AS TEXT)",
				desc: "The object as canonical JSON, redacted: Secret data, SOPS ciphertext and literal values of secret-like keys are replaced by a marker. Text, so SQLite's JSON functions read it."},
		},
		rowid:   true,
		from:    "FROM main.resources t LEFT JOIN main.resource_contents c ON c.hash = t.content_hash WHERE t." + liveRepos,
		indexes: []string{"(repository_id)", "(api_group, kind)"},
	},
	{
		name: "chart_usages",
		desc: "Helm charts deployed by Flux HelmReleases and Argo CD Applications/ApplicationSets, resolved within the repository.",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Row id; changes when the repository is scanned again."},
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "path", typ: "TEXT NOT NULL", desc: "File path of the release object."},
			{name: "tool", typ: "TEXT NOT NULL", desc: "flux or argo."},
			{name: "kind", typ: "TEXT NOT NULL", desc: "HelmRelease, Application or ApplicationSet."},
			{name: "release_name", typ: "TEXT NOT NULL", desc: "Name of the release object."},
			{name: "namespace", typ: "TEXT NOT NULL", desc: "Namespace of the release object."},
			{name: "chart", typ: "TEXT NOT NULL", desc: "Chart name."},
			{name: "version", typ: "TEXT NOT NULL", desc: "Chart version, tag, semver range or digest as written; empty when none."},
			{name: "source_kind", typ: "TEXT NOT NULL", desc: "Kind of the chart source (HelmRepository, OCIRepository, GitRepository, …)."},
			{name: "source_name", typ: "TEXT NOT NULL", desc: "Name of the chart source object."},
			{name: "source_namespace", typ: "TEXT NOT NULL", desc: "Namespace of the chart source object."},
			{name: "source_url", typ: "TEXT NOT NULL", desc: "URL of the chart source."},
			{name: "chart_url", typ: "TEXT NOT NULL", desc: "Resolved chart URL (https://…/chart or oci://…/chart); empty when unresolved."},
			{name: "ambiguous", typ: "INTEGER NOT NULL", desc: "1 when several sources could match and one was picked by namespace rules."},
			{name: "values_from", typ: "TEXT NOT NULL", desc: "JSON array of the ConfigMap/Secret names values are read from."},
			{name: "chart_values", typ: "TEXT", desc: "Inline Helm values as redacted canonical JSON; NULL when none."},
		},
		rowid:   true,
		from:    "FROM main.chart_usages t WHERE t." + liveRepos,
		indexes: []string{"(repository_id)", "(chart)"},
	},
	{
		name: "image_usages",
		desc: "Container image references from workload pod specs and Helm values.",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Row id; changes when the repository is scanned again."},
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "path", typ: "TEXT NOT NULL", desc: "File path of the object holding the reference."},
			{name: "kind", typ: "TEXT NOT NULL", desc: "Kind of that object."},
			{name: "object_name", typ: "TEXT NOT NULL", desc: "Name of that object."},
			{name: "namespace", typ: "TEXT NOT NULL", desc: "Namespace of that object."},
			{name: "source", typ: "TEXT NOT NULL", desc: "pod (a pod spec) or values (Helm values)."},
			{name: "image", typ: "TEXT NOT NULL", desc: "Normalised full reference."},
			{name: "registry", typ: "TEXT NOT NULL", desc: "Registry host."},
			{name: "repository", typ: "TEXT NOT NULL", desc: "Image repository within the registry."},
			{name: "tag", typ: "TEXT NOT NULL", desc: "Tag; empty when none."},
			{name: "digest", typ: "TEXT NOT NULL", desc: "Digest; empty when none."},
		},
		rowid:   true,
		from:    "FROM main.image_usages t WHERE t." + liveRepos,
		indexes: []string{"(repository_id)", "(registry, repository)"},
	},
	{
		name: "deprecated_usages",
		desc: "Objects whose apiVersion is deprecated or removed in Kubernetes or Flux.",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Row id; changes when the repository is scanned again."},
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "path", typ: "TEXT NOT NULL", desc: "File path."},
			{name: "api_version", typ: "TEXT NOT NULL", desc: "The deprecated apiVersion."},
			{name: "kind", typ: "TEXT NOT NULL", desc: "kind."},
			{name: "name", typ: "TEXT NOT NULL", desc: "metadata.name."},
			{name: "namespace", typ: "TEXT NOT NULL", desc: "Namespace."},
			{name: "project", typ: "TEXT NOT NULL", desc: "kubernetes or flux."},
			{name: "deprecated_in", typ: "TEXT NOT NULL", desc: "Release that deprecated it."},
			{name: "removed_in", typ: "TEXT NOT NULL", desc: "Release that removed it; empty while only deprecated."},
			{name: "replacement", typ: "TEXT NOT NULL", desc: "apiVersion to use instead."},
		},
		rowid:   true,
		from:    "FROM main.deprecated_usages t WHERE t." + liveRepos,
		indexes: []string{"(repository_id)"},
	},
	{
		name: "scan_errors",
		desc: "Files of the scanned commit that could not be read as manifests ('error') or were not read ('skipped', e.g. over a size limit).",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Row id; changes when the repository is scanned again."},
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "kind", typ: "TEXT NOT NULL", desc: "error or skipped."},
			{name: "path", typ: "TEXT NOT NULL", desc: "File path."},
			{name: "line", typ: "INTEGER NOT NULL", desc: "1-based line of the problem; 0 when not known."},
			{name: "message", typ: "TEXT NOT NULL", desc: "What went wrong."},
		},
		rowid:   true,
		from:    "FROM main.scan_errors t WHERE t." + liveRepos,
		indexes: []string{"(repository_id)"},
	},
	{
		name: "resource_events",
		desc: "Lifecycle of resources between scanned commits. A repository's first scan records every object as created, stamped with the commit time.",
		cols: []exportColumn{
			{name: "id", typ: "INTEGER PRIMARY KEY", desc: "Row id."},
			{name: "repository_id", typ: "INTEGER NOT NULL REFERENCES repositories (id)", desc: "The repository."},
			{name: "type", typ: "TEXT NOT NULL", desc: "created, modified, moved or deleted."},
			{name: "api_group", typ: "TEXT NOT NULL", desc: "API group; empty for the core group."},
			{name: "api_version", typ: "TEXT NOT NULL", desc: "apiVersion after the change (before it, for deleted)."},
			{name: "kind", typ: "TEXT NOT NULL", desc: "kind."},
			{name: "namespace", typ: "TEXT NOT NULL", desc: "Namespace."},
			{name: "name", typ: "TEXT NOT NULL", desc: "metadata.name."},
			{name: "path", typ: "TEXT NOT NULL", desc: "File path."},
			{name: "old_path", typ: "TEXT NOT NULL", desc: "moved: the file it left; else empty."},
			{name: "old_api_version", typ: "TEXT NOT NULL", desc: "modified: the apiVersion before (an apiVersion bump shows here); else empty."},
			{name: "content_hash", typ: "TEXT NOT NULL", desc: "Hex SHA-256 of the object after the change; empty when deleted."},
			{name: "commit_oid", typ: "TEXT NOT NULL", desc: "Commit that the change was found in."},
			{name: "committed_at", typ: "DATETIME", desc: "Commit time of that commit;" + timeNote},
			{name: "detected_at", typ: "DATETIME NOT NULL", desc: "When the scan found it;" + timeNote},
		},
		rowid:   true,
		from:    "FROM main.resource_events t WHERE t." + liveRepos,
		indexes: []string{"(repository_id, committed_at)"},
	},
	{
		name: "ecosystem_daily",
		desc: "One row per UTC day, computed from snapshots and events as of that day's end.",
		cols: []exportColumn{
			{name: "day", typ: "TEXT NOT NULL", desc: "YYYY-MM-DD (UTC)."},
			{name: "repos", typ: "INTEGER NOT NULL", desc: "Repositories known at the day's end (found, not deleted or gone)."},
			{name: "scanned_repos", typ: "INTEGER NOT NULL", desc: "Of those, repositories scanned at least once by the day's end."},
			{name: "stars", typ: "INTEGER NOT NULL", desc: "Sum of each repository's latest stars snapshot at or before the day's end."},
			{name: "forks", typ: "INTEGER NOT NULL", desc: "Sum of each repository's latest forks snapshot at or before the day's end."},
			{name: "resources", typ: "INTEGER NOT NULL", desc: "Objects in scanned commits at the day's end."},
			{name: "created", typ: "INTEGER NOT NULL", desc: "created events whose commit falls on the day."},
			{name: "modified", typ: "INTEGER NOT NULL", desc: "modified events whose commit falls on the day."},
			{name: "moved", typ: "INTEGER NOT NULL", desc: "moved events whose commit falls on the day."},
			{name: "deleted", typ: "INTEGER NOT NULL", desc: "deleted events whose commit falls on the day."},
			{name: "computed_at", typ: "DATETIME NOT NULL", desc: "When the row was computed;" + timeNote},
		},
		keys: "PRIMARY KEY (day)",
		from: "FROM main.ecosystem_daily t",
	},
	{
		name: "ecosystem_breakdowns",
		desc: "Each day's repositories (and objects, for kinds) per language, topic and kind.",
		cols: []exportColumn{
			{name: "day", typ: "TEXT NOT NULL", desc: "YYYY-MM-DD (UTC); see ecosystem_daily."},
			{name: "dimension", typ: "TEXT NOT NULL", desc: "language, topic or kind."},
			{name: "key", typ: "TEXT NOT NULL", desc: "Language name, topic, or group/Kind (Kind alone for the core group)."},
			{name: "repos", typ: "INTEGER NOT NULL", desc: "Repositories with that key on the day."},
			{name: "objects", typ: "INTEGER NOT NULL", desc: "kind: objects of that kind; else 0."},
		},
		keys: "PRIMARY KEY (day, dimension, key)",
		from: "FROM main.ecosystem_breakdowns t",
	},
}

// metaTable and readmeTable describe the file itself; they are written by hand below but
// described like the others so the readme covers them too.
var (
	metaTable = exportTable{
		name: "meta",
		desc: "One row about this file.",
		cols: []exportColumn{
			{name: "exported_at", typ: "DATETIME NOT NULL", desc: "When the export was taken (one consistent snapshot);" + timeNote},
			{name: "schema_version", typ: "INTEGER NOT NULL", desc: "Schema version of the Kubestats database it was taken from."},
			{name: "dataset_version", typ: "INTEGER NOT NULL", desc: "Layout version of this dataset; it changes when a table or column changes meaning or goes away."},
		},
	}
	readmeTable = exportTable{
		name: "readme",
		desc: "Describes every table (a row with an empty column_name) and every column of this file.",
		cols: []exportColumn{
			{name: "table_name", typ: "TEXT NOT NULL", desc: "Table."},
			{name: "column_name", typ: "TEXT NOT NULL", desc: "Column; empty for the row describing the table."},
			{name: "description", typ: "TEXT NOT NULL", desc: "What it holds."},
		},
		keys: "PRIMARY KEY (table_name, column_name)",
	}
)

func (t exportTable) ddl() string {
	defs := make([]string, 0, len(t.cols)+1)
	for _, c := range t.cols {
		defs = append(defs, c.name+" "+c.typ)
	}
	if t.keys != "" {
		defs = append(defs, t.keys)
	}
	q := "CREATE TABLE exp." + t.name + " (\n    " + strings.Join(defs, ",\n    ") + "\n)"
	if !t.rowid && t.keys != "" {
		q += " WITHOUT ROWID"
	}
	return q
}

func (t exportTable) copySQL() string {
	names := make([]string, len(t.cols))
	exprs := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
		exprs[i] = c.expr
		if exprs[i] == "" {
			exprs[i] = "t." + c.name
		}
	}
	return "INSERT INTO exp." + t.name + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(exprs, ", ") + " " + t.from
}

// Export writes the public dataset to a new SQLite file at path: the community data of every
// repository that is neither blocked nor deleted, and nothing about users, sessions, tokens,
// settings or jobs (see exportTables). The file is built under a temporary name in the same
// directory and renamed into place (see writeCopy), so whoever reads path sees the old file or
// the new one, never half of one; path may not be one of the database's own files.
//
// The copy runs in SQLite itself: a dedicated connection attaches the new file and copies
// every table with INSERT … SELECT in one transaction, so the whole file is one snapshot of
// the database. In WAL mode that read transaction does not block the app's writer.
func (s *Store) Export(ctx context.Context, path string, now time.Time) (ExportInfo, error) {
	info := ExportInfo{Path: path, ExportedAt: now.UTC(), Rows: map[string]int64{}}
	// Public by design (served at /api/v1/export.sqlite), so readable by all: 0644. The
	// modification time is the snapshot time: the download's date and Last-Modified.
	err := s.writeCopy(ctx, "export", copyTarget{path: path, replace: true, mode: 0o644, modTime: info.ExportedAt},
		func(tmp string) error { return s.exportTo(ctx, tmp, &info) })
	if err != nil {
		return info, err
	}
	if st, err := os.Stat(path); err == nil {
		info.Bytes = st.Size()
	}
	return info, nil
}

func (s *Store) exportTo(ctx context.Context, target string, info *ExportInfo) (err error) {
	db, conn, err := s.sideConn(ctx)
	if err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	defer db.Close()
	defer conn.Close()
	exec := func(q string, args ...any) (sql.Result, error) { return conn.ExecContext(ctx, q, args...) }

	if _, err := exec("ATTACH DATABASE ? AS exp", target); err != nil {
		return fmt.Errorf("store: export: attach: %w", err)
	}
	// The file is renamed into place only when complete and is deleted on failure, so it
	// needs no journal and no syncs until the one fsync before the rename. Its page cache is
	// SQLite's memory, outside GOMEMLIMIT: 8 MiB exported the 5,000-repository database in
	// 13.6 s at 50 MB of RSS, where 64 MiB took 15.1 s at 162 MB (the job runs beside syncs).
	for _, q := range []string{"PRAGMA exp.journal_mode = OFF", "PRAGMA exp.synchronous = OFF", "PRAGMA exp.cache_size = -8192"} {
		if _, err := exec(q); err != nil {
			return fmt.Errorf("store: export: %s: %w", q, err)
		}
	}
	// A plain deferred BEGIN: the main database is only read, so it takes no write lock
	// there and the app's writer carries on while the copy runs.
	if _, err := exec("BEGIN"); err != nil {
		return fmt.Errorf("store: export: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	var schema int
	if err := conn.QueryRowContext(ctx, "PRAGMA main.user_version").Scan(&schema); err != nil {
		return fmt.Errorf("store: export: schema version: %w", err)
	}
	for _, t := range exportTables {
		if _, err := exec(t.ddl()); err != nil {
			return fmt.Errorf("store: export: create %s: %w", t.name, err)
		}
		res, err := exec(t.copySQL())
		if err != nil {
			return fmt.Errorf("store: export: copy %s: %w", t.name, err)
		}
		info.Rows[t.name], _ = res.RowsAffected()
		for i, cols := range t.indexes {
			q := fmt.Sprintf("CREATE INDEX exp.%s_%d ON %s %s", t.name, i+1, t.name, cols)
			if _, err := exec(q); err != nil {
				return fmt.Errorf("store: export: index %s: %w", t.name, err)
			}
		}
	}
	for _, t := range []exportTable{metaTable, readmeTable} {
		if _, err := exec(t.ddl()); err != nil {
			return fmt.Errorf("store: export: create %s: %w", t.name, err)
		}
	}
	if _, err := exec("INSERT INTO exp.meta (exported_at, schema_version, dataset_version) VALUES (?, ?, ?)",
		info.ExportedAt, schema, DatasetVersion); err != nil {
		return fmt.Errorf("store: export: meta: %w", err)
	}
	info.Rows["meta"] = 1
	for _, t := range append(exportTables[:len(exportTables):len(exportTables)], metaTable, readmeTable) {
		if _, err := exec("INSERT INTO exp.readme (table_name, column_name, description) VALUES (?, '', ?)", t.name, t.desc); err != nil {
			return fmt.Errorf("store: export: readme: %w", err)
		}
		info.Rows["readme"]++
		for _, c := range t.cols {
			if _, err := exec("INSERT INTO exp.readme (table_name, column_name, description) VALUES (?, ?, ?)", t.name, c.name, c.desc); err != nil {
				return fmt.Errorf("store: export: readme: %w", err)
			}
			info.Rows["readme"]++
		}
	}
	if _, err := exec("COMMIT"); err != nil {
		return fmt.Errorf("store: export: commit: %w", err)
	}
	if _, err := exec("DETACH DATABASE exp"); err != nil {
		return fmt.Errorf("store: export: detach: %w", err)
	}
	return nil
}

// ExportTables names the dataset's tables in the order they are written.
func ExportTables() []string {
	names := make([]string, 0, len(exportTables)+2)
	for _, t := range exportTables {
		names = append(names, t.name)
	}
	return append(names, metaTable.name, readmeTable.name)
}

// errNoPath guards the side operations against an empty target.
var errNoPath = errors.New("no file given")

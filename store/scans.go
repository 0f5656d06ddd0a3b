package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/kubestats/kubestats/scan"
)

// Event types of a resource between two scanned commits.
const (
	EventCreated  = "created"
	EventModified = "modified"
	EventMoved    = "moved"
	EventDeleted  = "deleted"
)

// EventTypes lists every event type, for filters.
var EventTypes = []string{EventCreated, EventModified, EventMoved, EventDeleted}

// ScanCommit is a finished scan of one commit, ready to replace what the repository had.
type ScanCommit struct {
	OID         string
	CommittedAt *time.Time
	Duration    time.Duration
	Result      *scan.Result
}

// ApplyResult counts the lifecycle events one applied scan wrote.
type ApplyResult struct {
	Created, Modified, Moved, Deleted int
}

// Events is the number of events written.
func (a ApplyResult) Events() int { return a.Created + a.Modified + a.Moved + a.Deleted }

// resKey is a resource's identity within a repository.
type resKey struct{ group, kind, namespace, name, path string }

// sameName is a resource's identity without its file: what a move keeps.
type sameName struct{ group, kind, namespace, name string }

type storedRes struct {
	id               int64
	key              resKey
	apiVersion, hash string
	doc, line        int
	matched          bool
}

// ApplyScan replaces a repository's resources, chart and image usages, deprecations and scan
// errors with those of c in one transaction, writes the lifecycle events that lead from the
// old resources to the new, and marks the sync a success. Either all of it happens or none.
//
// Events follow the identity rule (group, kind, namespace, name, file): same identity and a
// different content hash is "modified" (so is an apiVersion bump within the group); the same
// group/kind/namespace/name leaving one file for another is "moved"; the rest are "created"
// and "deleted". Formatting, comments and key order never change the hash, so they never
// make events. Bodies of objects that carry Content are stored here too; others must already
// have been stored with PutContents.
func (s *Store) ApplyScan(ctx context.Context, repoID int64, c ScanCommit) (ApplyResult, error) {
	now := s.now()
	var out ApplyResult
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		old, err := loadResources(ctx, tx, repoID)
		if err != nil {
			return err
		}
		before, err := repoStatKeys(ctx, tx, repoID)
		if err != nil {
			return err
		}
		objects, dupErrs := uniqueObjects(c.Result.Objects)
		if err := putInlineContents(ctx, tx, objects, now); err != nil {
			return err
		}
		ev, err := newEventWriter(ctx, tx, repoID, c, now)
		if err != nil {
			return err
		}
		defer ev.close()

		byKey := make(map[resKey]*storedRes, len(old))
		for i := range old {
			byKey[old[i].key] = &old[i]
		}
		var added []int // indexes in objects: a repository's first scan adds all of them
		for i, o := range objects {
			k := keyOf(o)
			prev, ok := byKey[k]
			if !ok {
				added = append(added, i)
				continue
			}
			prev.matched = true
			if prev.hash != o.Hash || prev.apiVersion != o.APIVersion {
				if err := ev.write(EventModified, o, "", prev.apiVersion); err != nil {
					return err
				}
				out.Modified++
			} else if prev.doc == o.Doc && prev.line == o.Line {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE resources SET api_version = ?, content_hash = ?, doc = ?, line = ? WHERE id = ?`,
				o.APIVersion, o.Hash, o.Doc, o.Line, prev.id); err != nil {
				return fmt.Errorf("update resource: %w", err)
			}
		}

		// Moves pair what left a file with what arrived elsewhere under the same name, in path order.
		removed := map[sameName][]*storedRes{}
		for i := range old {
			if !old[i].matched {
				k := old[i].key
				n := sameName{k.group, k.kind, k.namespace, k.name}
				removed[n] = append(removed[n], &old[i])
			}
		}
		for _, rs := range removed {
			slices.SortFunc(rs, func(a, b *storedRes) int { return cmp.Compare(a.key.path, b.key.path) })
		}
		ins, err := tx.PrepareContext(ctx, `
			INSERT INTO resources (repository_id, path, doc, line, api_group, api_version, kind, namespace, name, content_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("prepare resource insert: %w", err)
		}
		defer ins.Close()
		for _, i := range added {
			o := objects[i]
			n := sameName{o.Group, o.Kind, o.Namespace, o.Name}
			if rs := removed[n]; len(rs) > 0 {
				prev := rs[0]
				removed[n] = rs[1:]
				prev.matched = true
				if err := ev.write(EventMoved, o, prev.key.path, prev.apiVersion); err != nil {
					return err
				}
				out.Moved++
				if _, err := tx.ExecContext(ctx, `UPDATE resources SET path = ?, api_version = ?, content_hash = ?, doc = ?, line = ? WHERE id = ?`,
					o.File, o.APIVersion, o.Hash, o.Doc, o.Line, prev.id); err != nil {
					return fmt.Errorf("move resource: %w", err)
				}
				continue
			}
			if err := ev.write(EventCreated, o, "", ""); err != nil {
				return err
			}
			out.Created++
			if _, err := ins.ExecContext(ctx, repoID, o.File, o.Doc, o.Line, o.Group, o.APIVersion, o.Kind, o.Namespace, o.Name, o.Hash); err != nil {
				return fmt.Errorf("insert resource %s %s/%s in %s: %w", o.Kind, o.Namespace, o.Name, o.File, err)
			}
		}
		for i := range old {
			prev := &old[i]
			if prev.matched {
				continue
			}
			gone := scan.Object{File: prev.key.path, Group: prev.key.group, APIVersion: prev.apiVersion, Kind: prev.key.kind,
				Namespace: prev.key.namespace, Name: prev.key.name}
			if err := ev.write(EventDeleted, gone, "", ""); err != nil {
				return err
			}
			out.Deleted++
			if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE id = ?`, prev.id); err != nil {
				return fmt.Errorf("delete resource: %w", err)
			}
		}

		errs := append(slices.Clone(c.Result.Errors), dupErrs...)
		if err := replaceFacts(ctx, tx, repoID, c.Result, errs); err != nil {
			return err
		}
		after, err := repoStatKeys(ctx, tx, repoID)
		if err != nil {
			return err
		}
		if err := refreshStats(ctx, tx, changedKeys(before, after), now); err != nil {
			return err
		}
		r := c.Result
		_, err = tx.ExecContext(ctx, `
			UPDATE repositories SET sync_status = 'success', sync_error = '', sync_attempts = 0, next_sync_at = NULL,
				sync_started_at = NULL, scanned_oid = ?, scanned_at = ?, scanned_committed_at = ?, scan_files = ?,
				scan_documents = ?, scan_bytes = ?, scan_duration_ms = ?, object_count = ?, chart_count = ?,
				image_count = ?, deprecation_count = ?, error_count = ?, skipped_count = ?
			WHERE id = ?`,
			c.OID, now, utcPtr(c.CommittedAt), r.Files, r.Documents, r.Bytes, c.Duration.Milliseconds(), len(objects),
			len(r.Charts), len(r.Images), len(r.Deprecations), len(errs), len(r.Skipped), repoID)
		if err != nil {
			return fmt.Errorf("mark scanned: %w", err)
		}
		return nil
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("store: apply scan of repository %d at %s: %w", repoID, c.OID, err)
	}
	s.changed()
	return out, nil
}

func keyOf(o scan.Object) resKey {
	return resKey{o.Group, o.Kind, o.Namespace, o.Name, o.File}
}

// uniqueObjects keeps the first object of each identity; a second one in the same file (a
// copy-paste slip, or kustomize patches in one stream) becomes a scan error users can see.
// Without duplicates, the usual case, objs itself is returned: a big repository's objects are
// the largest part of what a sync holds, and are not copied.
func uniqueObjects(objs []scan.Object) ([]scan.Object, []scan.FileError) {
	seen := make(map[resKey]int, len(objs))
	var out []scan.Object // nil until the first duplicate
	var errs []scan.FileError
	for i, o := range objs {
		k := keyOf(o)
		if first, dup := seen[k]; dup {
			if out == nil {
				out = append(make([]scan.Object, 0, len(objs)-1), objs[:i]...)
			}
			errs = append(errs, scan.FileError{File: o.File, Line: o.Line, Message: fmt.Sprintf(
				"%s %s is defined again (first at line %d); only the first is kept", o.Kind, qualified(o.Namespace, o.Name), first)})
			continue
		}
		seen[k] = o.Line
		if out != nil {
			out = append(out, o)
		}
	}
	if out == nil {
		return objs, nil
	}
	return out, errs
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func loadResources(ctx context.Context, tx *sql.Tx, repoID int64) ([]storedRes, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT id, api_group, kind, namespace, name, path, api_version, content_hash, doc, line
		FROM resources WHERE repository_id = ?`, repoID)
	if err != nil {
		return nil, fmt.Errorf("load resources: %w", err)
	}
	defer rows.Close()
	var out []storedRes
	for rows.Next() {
		var r storedRes
		if err := rows.Scan(&r.id, &r.key.group, &r.key.kind, &r.key.namespace, &r.key.name, &r.key.path,
			&r.apiVersion, &r.hash, &r.doc, &r.line); err != nil {
			return nil, fmt.Errorf("load resources: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func putInlineContents(ctx context.Context, tx *sql.Tx, objs []scan.Object, now time.Time) error {
	var st *sql.Stmt
	for _, o := range objs {
		if o.Content == nil {
			continue
		}
		if st == nil {
			var err error
			st, err = tx.PrepareContext(ctx, `
				INSERT INTO resource_contents (hash, content, stored_at) VALUES (?, ?, ?)
				ON CONFLICT (hash) DO UPDATE SET stored_at = excluded.stored_at`)
			if err != nil {
				return fmt.Errorf("prepare content insert: %w", err)
			}
			defer st.Close()
		}
		if _, err := st.ExecContext(ctx, o.Hash, []byte(o.Content), now); err != nil {
			return fmt.Errorf("store content: %w", err)
		}
	}
	return nil
}

// eventWriter stamps every event of one applied scan with its commit and detection time.
type eventWriter struct {
	ctx       context.Context
	st        *sql.Stmt
	repoID    int64
	c         ScanCommit
	now       time.Time
	committed time.Time
}

func newEventWriter(ctx context.Context, tx *sql.Tx, repoID int64, c ScanCommit, now time.Time) (*eventWriter, error) {
	st, err := tx.PrepareContext(ctx, `
		INSERT INTO resource_events (repository_id, type, api_group, api_version, kind, namespace, name, path,
			old_path, old_api_version, content_hash, commit_oid, committed_at, detected_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("prepare event insert: %w", err)
	}
	// Without a commit time (GitHub did not give one) the detection time is the best known.
	committed := now
	if c.CommittedAt != nil {
		committed = c.CommittedAt.UTC()
	}
	return &eventWriter{ctx: ctx, st: st, repoID: repoID, c: c, now: now, committed: committed}, nil
}

func (w *eventWriter) close() { w.st.Close() }

func (w *eventWriter) write(typ string, o scan.Object, oldPath, oldVersion string) error {
	hash := o.Hash
	if typ == EventDeleted {
		hash = ""
	}
	if oldVersion == o.APIVersion {
		oldVersion = ""
	}
	_, err := w.st.ExecContext(w.ctx, w.repoID, typ, o.Group, o.APIVersion, o.Kind, o.Namespace, o.Name, o.File,
		oldPath, oldVersion, hash, w.c.OID, w.committed, w.now)
	if err != nil {
		return fmt.Errorf("write %s event: %w", typ, err)
	}
	return nil
}

// replaceFacts swaps the per-repo fact tables wholesale: they are small next to resources and
// have no identity worth diffing.
func replaceFacts(ctx context.Context, tx *sql.Tx, repoID int64, r *scan.Result, errs []scan.FileError) error {
	for _, t := range []string{"chart_usages", "image_usages", "deprecated_usages", "scan_errors"} {
		// t comes from the fixed list above, never from input.
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE repository_id = ?", repoID); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	insert := func(query string, n int, args func(i int) []any) error {
		if n == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range n {
			if _, err := st.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return nil
	}
	err := insert(`INSERT INTO chart_usages (repository_id, path, tool, kind, release_name, namespace, chart, version,
			source_kind, source_name, source_namespace, source_url, chart_url, ambiguous, values_from, chart_values)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(r.Charts), func(i int) []any {
		c := r.Charts[i]
		var values any
		if len(c.Values) > 0 {
			values = string(c.Values)
		}
		from := jsonString(c.ValuesFrom)
		return []any{repoID, c.File, c.Tool, c.Kind, c.Name, c.Namespace, c.Chart, c.Version, c.SourceKind, c.SourceName,
			c.SourceNamespace, c.SourceURL, c.ChartURL, c.Ambiguous, from, values}
	})
	if err != nil {
		return fmt.Errorf("insert chart usages: %w", err)
	}
	err = insert(`INSERT INTO image_usages (repository_id, path, kind, object_name, namespace, source, image, registry,
			repository, tag, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(r.Images), func(i int) []any {
		m := r.Images[i]
		return []any{repoID, m.File, m.Kind, m.Name, m.Namespace, m.Source, m.Image, m.Registry, m.Repository, m.Tag, m.Digest}
	})
	if err != nil {
		return fmt.Errorf("insert image usages: %w", err)
	}
	err = insert(`INSERT INTO deprecated_usages (repository_id, path, api_version, kind, name, namespace, project,
			deprecated_in, removed_in, replacement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(r.Deprecations), func(i int) []any {
		d := r.Deprecations[i]
		return []any{repoID, d.File, d.APIVersion, d.Kind, d.Name, d.Namespace, d.Project, d.DeprecatedIn, d.RemovedIn, d.Replacement}
	})
	if err != nil {
		return fmt.Errorf("insert deprecations: %w", err)
	}
	all := make([][2]any, 0, len(errs)+len(r.Skipped))
	for _, e := range errs {
		all = append(all, [2]any{"error", e})
	}
	for _, e := range r.Skipped {
		all = append(all, [2]any{"skipped", e})
	}
	err = insert(`INSERT INTO scan_errors (repository_id, kind, path, line, message) VALUES (?, ?, ?, ?, ?)`, len(all), func(i int) []any {
		e := all[i][1].(scan.FileError)
		return []any{repoID, all[i][0], e.File, e.Line, e.Message}
	})
	if err != nil {
		return fmt.Errorf("insert scan errors: %w", err)
	}
	return nil
}

package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// obj builds a scanned object whose body is its identity plus body, hashed like the scanner does.
func obj(file, apiVersion, kind, ns, name, body string) scan.Object {
	content := fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":%q,"namespace":%q},"spec":%q}`, apiVersion, kind, name, ns, body)
	sum := sha256.Sum256([]byte(content))
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i > 0 {
		group = apiVersion[:i]
	}
	return scan.Object{File: file, APIVersion: apiVersion, Group: group, Kind: kind, Namespace: ns, Name: name,
		Hash: hex.EncodeToString(sum[:]), Content: []byte(content), Line: 1}
}

func eventsOf(t *testing.T, s *store.Store, repoID int64) []string {
	t.Helper()
	page, err := s.ListEvents(context.Background(), repoID, store.EventFilter{PerPage: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Items {
		line := fmt.Sprintf("%s %s %s/%s %s", e.Type, e.Kind, e.Namespace, e.Name, e.Path)
		if e.OldPath != "" {
			line += " from " + e.OldPath
		}
		if e.OldAPIVersion != "" {
			line += " was " + e.OldAPIVersion
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func newSyncRepo(t *testing.T, s *store.Store, i int) store.Repository {
	t.Helper()
	ctx := context.Background()
	if _, err := s.UpsertDiscovered(ctx, "k8s-at-home", []store.RepoData{repoData(i)}, 0); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRepositoryByName(ctx, fmt.Sprintf("owner%d", i), "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func apply(t *testing.T, s *store.Store, id int64, oid string, at time.Time, objs ...scan.Object) store.ApplyResult {
	t.Helper()
	ctx := context.Background()
	if _, err := s.BeginSync(ctx, id); err != nil {
		t.Fatal(err)
	}
	res, err := s.ApplyScan(ctx, id, store.ScanCommit{OID: oid, CommittedAt: &at, Result: &scan.Result{Files: 3, Objects: objs}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestApplyScanWritesExactEvents(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	r := newSyncRepo(t, s, 1)
	commit1 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

	deploy := obj("apps/web/deploy.yaml", "apps/v1", "Deployment", "web", "web", "replicas: 1")
	svc := obj("apps/web/service.yaml", "v1", "Service", "web", "web", "port: 80")
	hr := obj("apps/db/helmrelease.yaml", "helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "db", "postgres", "chart: postgres")
	cm := obj("apps/db/config.yaml", "v1", "ConfigMap", "db", "settings", "a: b")
	first := apply(t, s, r.ID, "oid1", commit1, deploy, svc, hr, cm)
	if first != (store.ApplyResult{Created: 4}) {
		t.Fatalf("first scan: got %+v, want 4 created", first)
	}
	page, _ := s.ListEvents(ctx, r.ID, store.EventFilter{})
	for _, e := range page.Items {
		if e.CommittedAt == nil || !e.CommittedAt.Equal(commit1) || !e.DetectedAt.Equal(c.Now()) || e.CommitOID != "oid1" {
			t.Fatalf("created event stamps: got commit %v detected %v oid %s", e.CommittedAt, e.DetectedAt, e.CommitOID)
		}
	}

	// A push that edits one object, bumps an apiVersion, moves one file, deletes one and adds one.
	c.Advance(time.Hour)
	deploy2 := obj("apps/web/deploy.yaml", "apps/v1", "Deployment", "web", "web", "replicas: 2")
	hr2 := obj("apps/db/helmrelease.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "db", "postgres", "chart: postgres")
	svcMoved := obj("apps/web/svc.yaml", "v1", "Service", "web", "web", "port: 80")
	ing := obj("apps/web/ingress.yaml", "networking.k8s.io/v1", "Ingress", "web", "web", "host: x")
	second := apply(t, s, r.ID, "oid2", commit1.Add(time.Hour), deploy2, hr2, svcMoved, ing)
	if second != (store.ApplyResult{Created: 1, Modified: 2, Moved: 1, Deleted: 1}) {
		t.Fatalf("second scan: got %+v", second)
	}
	got := eventsOf(t, s, r.ID)
	want := []string{
		"created ConfigMap db/settings apps/db/config.yaml",
		"created Deployment web/web apps/web/deploy.yaml",
		"created HelmRelease db/postgres apps/db/helmrelease.yaml",
		"created Ingress web/web apps/web/ingress.yaml",
		"created Service web/web apps/web/service.yaml",
		"deleted ConfigMap db/settings apps/db/config.yaml",
		"modified Deployment web/web apps/web/deploy.yaml",
		"modified HelmRelease db/postgres apps/db/helmrelease.yaml was helm.toolkit.fluxcd.io/v2beta1",
		"moved Service web/web apps/web/svc.yaml from apps/web/service.yaml",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	// Since keeps the second commit's five events: the boundary is inclusive.
	for since, want := range map[time.Time]int{commit1: 9, commit1.Add(time.Hour): 5, commit1.Add(time.Hour + time.Second): 0} {
		page, err := s.ListEvents(ctx, r.ID, store.EventFilter{Since: since})
		if err != nil || page.Total != want || len(page.Items) != want {
			t.Errorf("since %s: %d of %d events (%v), want %d", since, len(page.Items), page.Total, err, want)
		}
	}

	// The same objects again (a reformatting push hashes the same): no events, new oid recorded.
	third := apply(t, s, r.ID, "oid3", commit1.Add(2*time.Hour), deploy2, hr2, svcMoved, ing)
	if third.Events() != 0 {
		t.Fatalf("unchanged scan wrote events: %+v", third)
	}
	rr, _ := s.GetRepository(ctx, r.ID)
	if rr.ScannedOID != "oid3" || rr.SyncStatus != "success" || rr.ObjectCount != 4 || rr.ScanFiles != 3 {
		t.Fatalf("repository after scan: oid %s status %s objects %d files %d", rr.ScannedOID, rr.SyncStatus, rr.ObjectCount, rr.ScanFiles)
	}
	res, content, err := s.ResourceContent(ctx, r.ID, mustResourceID(t, s, r.ID, "Deployment"))
	if err != nil || res.Name != "web" || !strings.Contains(string(content), "replicas: 2") {
		t.Fatalf("resource content: %+v %s %v", res, content, err)
	}
}

func mustResourceID(t *testing.T, s *store.Store, repoID int64, kind string) int64 {
	t.Helper()
	page, err := s.ListResources(context.Background(), repoID, store.ResourceFilter{Kind: kind})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("resources of kind %s: %+v %v", kind, page, err)
	}
	return page.Items[0].ID
}

func TestApplyScanKeepsFirstOfDuplicateObjects(t *testing.T) {
	s := storetest.Open(t)
	r := newSyncRepo(t, s, 1)
	a := obj("x.yaml", "v1", "ConfigMap", "ns", "same", "one")
	b := obj("x.yaml", "v1", "ConfigMap", "ns", "same", "two")
	b.Line = 9
	apply(t, s, r.ID, "oid1", time.Now(), a, b)
	probs, err := s.RepoScanProblems(context.Background(), r.ID)
	if err != nil || len(probs) != 1 || probs[0].Line != 9 || !strings.Contains(probs[0].Message, "defined again") {
		t.Fatalf("duplicate: got %+v %v", probs, err)
	}
	rr, _ := s.GetRepository(context.Background(), r.ID)
	if rr.ObjectCount != 1 || rr.ErrorCount != 1 {
		t.Fatalf("counts: objects %d errors %d, want 1 and 1", rr.ObjectCount, rr.ErrorCount)
	}
}

func TestSyncStateMachine(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	r := newSyncRepo(t, s, 1)
	blocked := newSyncRepo(t, s, 2)
	if err := s.ApplyRepoAction(ctx, blocked.ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueForSync(ctx, 10)
	if err != nil || len(due) != 1 || due[0].ID != r.ID {
		t.Fatalf("due: got %+v %v, want only the unblocked repo", due, err)
	}
	if _, err := s.BeginSync(ctx, blocked.ID); !errors.Is(err, store.ErrNotSyncable) {
		t.Fatalf("blocked repo began syncing: %v", err)
	}
	if _, err := s.BeginSync(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginSync(ctx, r.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second BeginSync: got %v, want ErrConflict", err)
	}
	if err := s.RequestSync(ctx, r.ID, false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("RequestSync while syncing: got %v, want ErrConflict", err)
	}
	if due, _ := s.DueForSync(ctx, 10); len(due) != 0 {
		t.Fatalf("a syncing repo is due: %+v", due)
	}
	// A failure keeps the message and backs off.
	if err := s.FailSync(ctx, r.ID, "download: boom", c.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	rr, _ := s.GetRepository(ctx, r.ID)
	if rr.SyncStatus != "error" || rr.SyncError != "download: boom" || rr.SyncAttempts != 1 {
		t.Fatalf("after failure: %s %q %d", rr.SyncStatus, rr.SyncError, rr.SyncAttempts)
	}
	if due, _ := s.DueForSync(ctx, 10); len(due) != 0 {
		t.Fatalf("due during backoff: %+v", due)
	}
	c.Advance(3 * time.Minute)
	if due, _ := s.DueForSync(ctx, 10); len(due) != 1 || due[0].Attempts != 1 {
		t.Fatalf("due after backoff: %+v", due)
	}
	// A crash leaves it syncing; start-up puts it back.
	if _, err := s.BeginSync(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ResetInterruptedSyncs(ctx); err != nil || n != 1 {
		t.Fatalf("reset: %d %v", n, err)
	}
	// A scan of another commit leaves the head to sync, at anyone's request.
	apply(t, s, r.ID, "older-oid", c.Now())
	if err := s.RequestSync(ctx, r.ID, false); err != nil {
		t.Fatalf("request sync of a head not scanned yet: %v", err)
	}
	// After a success the unchanged head is not due, and a plain request does not make it so:
	// only a rescan downloads it again.
	apply(t, s, r.ID, r.HeadOID, c.Now())
	if due, _ := s.DueForSync(ctx, 10); len(due) != 0 {
		t.Fatalf("scanned head is due: %+v", due)
	}
	if err := s.RequestSync(ctx, r.ID, false); !errors.Is(err, store.ErrUpToDate) {
		t.Fatalf("request sync of the scanned head: got %v, want ErrUpToDate", err)
	}
	if due, _ := s.DueForSync(ctx, 10); len(due) != 0 {
		t.Fatalf("refused request made the repo due: %+v", due)
	}
	if err := s.RequestSync(ctx, r.ID, true); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueForSync(ctx, 10); len(due) != 1 {
		t.Fatalf("requested sync not due: %+v", due)
	}
}

func TestPruneContentsKeepsReferencedAndYoung(t *testing.T) {
	c := storetest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	s := storetest.Open(t, func(o *store.Options) { o.Now = c.Now })
	ctx := context.Background()
	r := newSyncRepo(t, s, 1)
	kept := obj("a.yaml", "v1", "ConfigMap", "", "a", "kept")
	apply(t, s, r.ID, "oid1", c.Now(), kept)
	if err := s.PutContents(ctx, []store.Content{{Hash: "orphan", Data: []byte("{}")}, {Hash: "young", Data: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	c.Advance(48 * time.Hour)
	// Touching an old body (a sync is about to reference it again) makes it young.
	if err := s.PutContents(ctx, []store.Content{{Hash: "young", Data: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneContents(ctx, c.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want only the orphan", n, err)
	}
	if _, _, err := s.ResourceContent(ctx, r.ID, mustResourceID(t, s, r.ID, "ConfigMap")); err != nil {
		t.Fatalf("referenced body pruned: %v", err)
	}
}

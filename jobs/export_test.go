package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func TestExportJobWritesTheConfiguredFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.sqlite")
	p, _, r := newSyncPipeline(t, homeOps())
	p.run(t, jobs.JobSync)

	// Without a path the job fails and says what to set.
	if _, err := p.runner.Run(context.Background(), jobs.JobExport, "test"); err == nil || !strings.Contains(err.Error(), "KUBESTATS_EXPORT_PATH") {
		t.Fatalf("export without a path: %v, want an error naming KUBESTATS_EXPORT_PATH", err)
	}

	runner := jobs.New(p.store, p.client, jobs.Config{ExportPath: path}, discardLog())
	defer runner.Close()
	counts, err := runner.Run(context.Background(), jobs.JobExport, "test")
	if err != nil {
		t.Fatal(err)
	}
	synced, _ := p.store.GetRepository(context.Background(), r.ID)
	if counts["repositories"] != 1 || counts["resources"] != synced.ObjectCount || synced.ObjectCount == 0 || counts["bytes"] == 0 {
		t.Fatalf("counts %v, want 1 repository, its resources and the file size", counts)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM resources").Scan(&n); err != nil || n != counts["resources"] {
		t.Fatalf("exported resources: %d, %v; counts say %d", n, err, counts["resources"])
	}

	if !slices.Contains(jobs.Names, jobs.JobExport) || !jobs.Known("export") {
		t.Fatal("export is not a known job")
	}
	for _, in := range runner.Infos() {
		if in.Name == jobs.JobExport && in.Describe == "" {
			t.Fatalf("export job info %+v, want a description", in)
		}
	}
}

// TestScheduledExportFollowsTheFileAge: the schedule builds a missing export at start, and a
// restart with a fresh export does not build it again.
func TestScheduledExportFollowsTheFileAge(t *testing.T) {
	s := storetest.Open(t)
	path := filepath.Join(t.TempDir(), "export.sqlite")
	ctx := context.Background()
	exportRuns := func() int {
		runs, err := s.ListJobRuns(ctx, jobs.JobExport, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	schedule := func(wait func() bool) {
		t.Helper()
		runner := jobs.New(s, githubql.New(githubql.Options{}), jobs.Config{ExportPath: path}, discardLog())
		defer runner.Close()
		sched, err := runner.Schedule()
		if err != nil {
			t.Fatal(err)
		}
		defer sched.Shutdown()
		for deadline := time.Now().Add(10 * time.Second); !wait(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the scheduled jobs did not run at start")
			}
		}
	}
	schedule(func() bool {
		runs, _ := s.ListJobRuns(ctx, jobs.JobExport, 1)
		return len(runs) == 1 && runs[0].Status == "success"
	})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no export after the first start: %v", err)
	}
	// Second start: prune and aggregate run at start as always; export does not.
	schedule(func() bool {
		p, _ := s.ListJobRuns(ctx, jobs.JobPrune, 10)
		a, _ := s.ListJobRuns(ctx, jobs.JobAggregate, 10)
		return len(p) == 2 && len(a) == 2 && p[0].Status != "running" && a[0].Status != "running"
	})
	time.Sleep(100 * time.Millisecond)
	if n := exportRuns(); n != 1 {
		t.Fatalf("%d export runs after a restart with a fresh export, want 1", n)
	}
}

// bigBodies counts the stored bodies of TestBackupDuringSync's big repository.
const bigBodies = `SELECT count(*) FROM resource_contents WHERE CAST(content AS TEXT) LIKE '%"name":"cm0%'`

// TestBackupDuringSync takes a backup while a sync streams a repository and has written part
// of its bodies: the copy must be a whole database that the app opens, and the sync must
// finish as if nothing happened.
func TestBackupDuringSync(t *testing.T) {
	repos := generate(2, "k8s-at-home", 11)
	for i := range repos {
		repos[i].DiskUsageKB = 100
	}
	repos[0].Files = githubtest.GitOpsTree(1, 10)
	const files, pauseAt = 100, 80 // 80 × 64 KiB: past the sync's first 4 MiB batch of bodies
	midway, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	repos[1].Generate = func(w *githubtest.ArchiveWriter) error {
		for i := range files {
			if i == pauseAt {
				if err := w.Flush(); err != nil {
					return err
				}
				once.Do(func() { close(midway) })
				select {
				case <-resume:
				case <-w.Context().Done():
					return w.Context().Err()
				}
			}
			body := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm%03d\ndata:\n  pad: %q\n", i, strings.Repeat(fmt.Sprintf("%03d", i), 64<<10/3))
			if err := w.WriteFile(fmt.Sprintf("kubernetes/big/cm%03d.yaml", i), []byte(body)); err != nil {
				return err
			}
		}
		return nil
	}
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	ctx := context.Background()
	small, err := p.store.GetRepositoryByName(ctx, repos[0].Owner, repos[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	big, err := p.store.GetRepositoryByName(ctx, repos[1].Owner, repos[1].Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.runner.SyncRepo(ctx, small.ID); err != nil {
		t.Fatal(err)
	}
	small, _ = p.store.GetRepository(ctx, small.ID)

	done := make(chan error, 1)
	go func() {
		_, err := p.runner.SyncRepo(ctx, big.ID)
		done <- err
	}()
	select {
	case <-midway:
	case err := <-done:
		t.Fatalf("sync ended before the backup: %v", err)
	}
	// The generator is paused; wait until the sync has written its first batch of bodies.
	src, err := sql.Open("sqlite", "file:"+p.store.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var written int // stays put while the generator is paused: the next batch is 4 MiB away
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := src.QueryRow(bigBodies).Scan(&written); err != nil {
			t.Fatal(err)
		}
		if written > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync wrote no bodies while streaming")
		}
	}
	counts, err := p.store.RepositoryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	berr := p.store.Backup(ctx, path)
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("sync after the backup: %v", err)
	}
	if berr != nil {
		t.Fatal(berr)
	}
	if got, _ := p.store.GetRepository(ctx, big.ID); got.SyncStatus != "success" || got.ObjectCount != files {
		t.Fatalf("big repository after the sync: status %s, %d objects; want success and %d", got.SyncStatus, got.ObjectCount, files)
	}

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var bodies int
	if err := db.QueryRow(bigBodies).Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if bodies != written || bodies >= files {
		t.Fatalf("backup holds %d of the big repository's bodies; want the %d written when it was taken (mid-sync, fewer than %d)", bodies, written, files)
	}

	// The copy opens as the app's database, migrations and all, and holds what the app had.
	b, err := store.Open(ctx, store.Options{Path: path, Schema: storetest.Schema(t), PasswordParams: &storetest.FastPasswords})
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	defer b.Close()
	got, err := b.RepositoryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, counts) {
		t.Fatalf("backup: repositories by status %v, want %v (as when it was taken)", got, counts)
	}
	restored, err := b.GetRepository(ctx, small.ID)
	if err != nil {
		t.Fatal(err)
	}
	if restored.ScannedOID != small.ScannedOID || restored.ObjectCount != small.ObjectCount {
		t.Fatalf("restored repository: scanned %s with %d objects, want %s with %d", restored.ScannedOID, restored.ObjectCount, small.ScannedOID, small.ObjectCount)
	}
	if n, err := b.ResetInterruptedSyncs(ctx); err != nil || n != 1 {
		t.Fatalf("serve's start-up reset of the interrupted sync: %d, %v; want 1", n, err)
	}
}

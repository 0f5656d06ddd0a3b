package jobs_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

// homeOps is a small Flux repository: a release through chartRef, a classic HelmRepository
// chart, a Deployment, a namespace from kustomization.yaml, a SOPS secret and a broken file.
func homeOps() map[string]string {
	return map[string]string{
		"README.md": "# home-ops\n",
		"kubernetes/flux/repositories/jetstack.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: jetstack
  namespace: flux-system
spec:
  url: https://charts.jetstack.io
`,
		"kubernetes/apps/cert-manager/app/helmrelease.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cert-manager
spec:
  chart:
    spec:
      chart: cert-manager
      version: v1.16.2
      sourceRef:
        kind: HelmRepository
        name: jetstack
        namespace: flux-system
  values:
    crds:
      enabled: true
`,
		"kubernetes/apps/cert-manager/app/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: cert-manager
resources:
  - ./helmrelease.yaml
`,
		"kubernetes/apps/media/sonarr/app/ocirepository.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: app-template
  namespace: media
spec:
  url: oci://ghcr.io/bjw-s-labs/helm/app-template
  ref:
    tag: 4.4.0
`,
		"kubernetes/apps/media/sonarr/app/helmrelease.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: sonarr
  namespace: media
spec:
  chartRef:
    kind: OCIRepository
    name: app-template
  values:
    controllers:
      sonarr:
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/sonarr
              tag: 4.0.15
`,
		"kubernetes/apps/default/echo/deployment.yml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo
  namespace: default
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox:1.37
      containers:
        - name: echo
          image: ghcr.io/mendhak/http-https-echo:35
`,
		"kubernetes/apps/default/echo/secret.sops.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: echo-secret
  namespace: default
stringData:
  password: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
sops:
  mac: ENC[AES256_GCM,data:xyz,type:str]
`,
		"kubernetes/apps/default/echo/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
	}
}

func oid(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// syncRepo is one repository with homeOps content, discovered and refreshed so it is due.
func newSyncPipeline(t *testing.T, files map[string]string) (*pipeline, githubtest.Repo, store.Repository) {
	t.Helper()
	repo := generate(1, "k8s-at-home", 7)[0]
	repo.Files = files
	repo.HeadOID = oid("first")
	repo.DiskUsageKB = 100
	p := newPipeline(t, jobs.Config{SyncConcurrency: 2}, repo)
	p.run(t, jobs.JobDiscover)
	r, err := p.store.GetRepositoryByName(context.Background(), repo.Owner, repo.Name)
	if err != nil {
		t.Fatal(err)
	}
	return p, repo, r
}

// push changes the fake repo's tree and head, as a git push would, and lets refresh see it.
func (p *pipeline) push(t *testing.T, id, name string, change func(files map[string]string)) {
	t.Helper()
	p.gh.UpdateRepo(id, func(r *githubtest.Repo) {
		files := make(map[string]string, len(r.Files))
		for k, v := range r.Files {
			files[k] = v
		}
		change(files)
		r.Files = files
		r.HeadOID = oid(name)
		r.HeadCommittedAt = r.HeadCommittedAt.Add(time.Hour)
		r.PushedAt = r.HeadCommittedAt
	})
	p.run(t, jobs.JobRefresh)
}

func (p *pipeline) events(t *testing.T, repoID int64) []string {
	t.Helper()
	page, err := p.store.ListEvents(context.Background(), repoID, store.EventFilter{PerPage: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Items {
		s := fmt.Sprintf("%s %s %s/%s %s", e.Type, e.Kind, e.Namespace, e.Name, e.Path)
		if e.OldPath != "" {
			s += " from " + e.OldPath
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// resources is a stable rendering of what the store holds for a repo, to compare states.
func (p *pipeline) resources(t *testing.T, repoID int64) []string {
	t.Helper()
	page, err := p.store.ListResources(context.Background(), repoID, store.ResourceFilter{PerPage: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range page.Items {
		out = append(out, fmt.Sprintf("%s %s %s/%s %s %s", r.Path, r.Kind, r.Namespace, r.Name, r.APIVersion, r.ContentHash[:12]))
	}
	return out
}

func TestSyncFirstScanMatchesLocalScan(t *testing.T) {
	files := homeOps()
	p, _, r := newSyncPipeline(t, files)
	counts, run := p.run(t, jobs.JobSync)
	if counts["synced"] != 1 || counts["failed"] != 0 || run.Status != "success" {
		t.Fatalf("sync pass: counts %v status %s", counts, run.Status)
	}
	got, err := p.store.GetRepository(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SyncStatus != "success" || got.ScannedOID != oid("first") || got.ScannedCommittedAt == nil {
		t.Fatalf("after sync: status %s oid %s committed %v", got.SyncStatus, got.ScannedOID, got.ScannedCommittedAt)
	}
	if st := p.gh.Stats(); st.CodeloadWithAuth != 0 || st.Tarball != 1 {
		t.Fatalf("downloads: %+v (the token must stay off the archive host)", st)
	}

	// The same scanner on a checkout of the same tree gives the same objects.
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	local, err := scan.Dir(context.Background(), dir, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, o := range local.Objects {
		want = append(want, fmt.Sprintf("%s %s %s/%s %s %s", o.File, o.Kind, o.Namespace, o.Name, o.APIVersion, o.Hash[:12]))
	}
	slices.Sort(want)
	stored := p.resources(t, r.ID)
	slices.Sort(stored)
	if !slices.Equal(stored, want) {
		t.Fatalf("stored resources differ from a local scan:\n got %s\nwant %s", strings.Join(stored, "\n     "), strings.Join(want, "\n     "))
	}
	if got.ObjectCount != len(local.Objects) || got.ChartCount != len(local.Charts) || got.ImageCount != len(local.Images) ||
		got.ErrorCount != len(local.Errors) {
		t.Fatalf("counts: objects %d charts %d images %d errors %d; local %d %d %d %d", got.ObjectCount, got.ChartCount,
			got.ImageCount, got.ErrorCount, len(local.Objects), len(local.Charts), len(local.Images), len(local.Errors))
	}
	if got.ChartCount != 2 || got.ErrorCount == 0 {
		t.Fatalf("want 2 charts and the templated file as an error; got %d charts, %d errors", got.ChartCount, got.ErrorCount)
	}
	// Every created event carries the commit.
	events := p.events(t, r.ID)
	if len(events) != got.ObjectCount {
		t.Fatalf("first scan: %d events for %d objects", len(events), got.ObjectCount)
	}
	// No secret reaches the database.
	sec, err := p.store.ListResources(context.Background(), r.ID, store.ResourceFilter{Kind: "Secret"})
	if err != nil || len(sec.Items) != 1 {
		t.Fatalf("secret resource: %+v %v", sec, err)
	}
	_, body, err := p.store.ResourceContent(context.Background(), r.ID, sec.Items[0].ID)
	if err != nil || strings.Contains(string(body), "ENC[") || !strings.Contains(string(body), "[redacted]") {
		t.Fatalf("secret body not redacted: %s %v", body, err)
	}

	// A second pass without pushes downloads nothing.
	counts, _ = p.run(t, jobs.JobSync)
	if counts["due"] != 0 || p.gh.Stats().Tarball != 1 {
		t.Fatalf("second pass: counts %v, tarball requests %d", counts, p.gh.Stats().Tarball)
	}
}

func TestSyncPushWritesExactEvents(t *testing.T) {
	p, repo, r := newSyncPipeline(t, homeOps())
	p.run(t, jobs.JobSync)
	before := len(p.events(t, r.ID))

	p.push(t, repo.ID, "second", func(f map[string]string) {
		// edit: a new chart version
		f["kubernetes/apps/cert-manager/app/helmrelease.yaml"] = strings.Replace(f["kubernetes/apps/cert-manager/app/helmrelease.yaml"], "v1.16.2", "v1.17.0", 1)
		// move: same object, other file
		f["kubernetes/apps/default/echo/app.yaml"] = f["kubernetes/apps/default/echo/deployment.yml"]
		delete(f, "kubernetes/apps/default/echo/deployment.yml")
		// delete
		delete(f, "kubernetes/flux/repositories/jetstack.yaml")
		// add
		f["kubernetes/apps/default/echo/service.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: echo\n  namespace: default\nspec:\n  ports:\n    - port: 80\n"
	})
	counts, _ := p.run(t, jobs.JobSync)
	if counts["synced"] != 1 {
		t.Fatalf("sync after push: %v", counts)
	}
	all := p.events(t, r.ID)
	var got []string
	for _, e := range all {
		if !strings.HasPrefix(e, "created") || strings.Contains(e, "Service") {
			got = append(got, e)
		}
	}
	want := []string{
		"created Service default/echo kubernetes/apps/default/echo/service.yaml",
		"deleted HelmRepository flux-system/jetstack kubernetes/flux/repositories/jetstack.yaml",
		"modified HelmRelease cert-manager/cert-manager kubernetes/apps/cert-manager/app/helmrelease.yaml",
		"moved Deployment default/echo kubernetes/apps/default/echo/app.yaml from kubernetes/apps/default/echo/deployment.yml",
	}
	if !slices.Equal(got, want) || len(all) != before+4 {
		t.Fatalf("events after push:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	// A push that only reformats (comments, key order, quoting, indentation) changes nothing.
	p.push(t, repo.ID, "third", func(f map[string]string) {
		f["kubernetes/apps/default/echo/service.yaml"] = "# the echo service\nkind: Service\napiVersion: \"v1\"\nmetadata: {namespace: default, name: echo}\nspec:\n    ports:\n    -   port: 80\n"
	})
	p.run(t, jobs.JobSync)
	if n := len(p.events(t, r.ID)); n != before+4 {
		t.Fatalf("a reformatting push wrote %d events", n-before-4)
	}
	got2, _ := p.store.GetRepository(context.Background(), r.ID)
	if got2.ScannedOID != oid("third") {
		t.Fatalf("scanned oid after reformat: %s", got2.ScannedOID)
	}
}

// cutGitHub hands out tarball bodies that fail or cancel the sync after a number of bytes.
type cutGitHub struct {
	*githubql.Client
	after  int64              // bytes served before the cut; -1: the whole body, cancelling at its end
	cancel context.CancelFunc // nil: the body is truncated instead
}

func (c *cutGitHub) Tarball(ctx context.Context, owner, name, ref string) (io.ReadCloser, error) {
	body, err := c.Client.Tarball(ctx, owner, name, ref)
	if err != nil {
		return nil, err
	}
	return &cutReader{ReadCloser: body, left: c.after, cancel: c.cancel}, nil
}

type cutReader struct {
	io.ReadCloser
	left   int64
	cancel context.CancelFunc
}

func (r *cutReader) Read(b []byte) (int, error) {
	if r.left < 0 {
		n, err := r.ReadCloser.Read(b)
		if err == io.EOF {
			r.cancel() // everything was read: the scan finishes, the writes meet a dead context
		}
		return n, err
	}
	if r.left == 0 {
		if r.cancel != nil {
			r.cancel()
			return 0, context.Canceled
		}
		return 0, io.ErrUnexpectedEOF // the connection dropped mid-archive
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	n, err := r.ReadCloser.Read(b)
	r.left -= int64(n)
	return n, err
}

func TestSyncFailureAndCancelLeaveOldDataIntact(t *testing.T) {
	p, repo, r := newSyncPipeline(t, homeOps())
	ctx := context.Background()
	p.run(t, jobs.JobSync)
	p.push(t, repo.ID, "second", func(f map[string]string) {
		delete(f, "kubernetes/flux/repositories/jetstack.yaml")
		f["kubernetes/apps/default/echo/more.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n"
	})
	wantRes := p.resources(t, r.ID)
	wantEvents := p.events(t, r.ID)
	intact := func(what string) {
		t.Helper()
		if got := p.resources(t, r.ID); !slices.Equal(got, wantRes) {
			t.Fatalf("%s changed resources:\n got %v\nwant %v", what, got, wantRes)
		}
		if got := p.events(t, r.ID); !slices.Equal(got, wantEvents) {
			t.Fatalf("%s wrote events: %v", what, got)
		}
		got, _ := p.store.GetRepository(ctx, r.ID)
		if got.ScannedOID != oid("first") || got.SyncStatus == "syncing" {
			t.Fatalf("%s: scanned %s status %s", what, got.ScannedOID, got.SyncStatus)
		}
	}

	// Cancel at many points of the download, the scan and the final write.
	body, err := p.client.Tarball(ctx, repo.Owner, repo.Name, oid("second"))
	if err != nil {
		t.Fatal(err)
	}
	size, err := io.Copy(io.Discard, body)
	body.Close()
	if err != nil || size < 100 {
		t.Fatalf("archive: %d bytes, %v", size, err)
	}
	for _, after := range []int64{0, 10, size / 4, size / 2, size * 3 / 4, size - 1, -1} {
		cctx, cancel := context.WithCancel(ctx)
		gh := &cutGitHub{Client: p.client, after: after, cancel: cancel}
		runner := jobs.New(p.store, gh, jobs.Config{}, discardLog())
		_, err := runner.SyncRepo(cctx, r.ID)
		runner.Close()
		cancel()
		if err == nil {
			t.Fatalf("cancel after %d bytes: sync succeeded", after)
		}
		intact(fmt.Sprintf("cancel after %d bytes", after))
		got, _ := p.store.GetRepository(ctx, r.ID)
		if got.SyncStatus != "pending" || got.SyncAttempts != 0 {
			t.Fatalf("cancel after %d bytes: status %s attempts %d, want pending and no failure counted", after, got.SyncStatus, got.SyncAttempts)
		}
	}

	// A truncated archive is an error the repo page shows, with a retry later.
	gh := &cutGitHub{Client: p.client, after: 300}
	runner := jobs.New(p.store, gh, jobs.Config{}, discardLog())
	defer runner.Close()
	if _, err := runner.SyncRepo(ctx, r.ID); err == nil {
		t.Fatal("truncated archive: sync succeeded")
	}
	intact("truncated archive")
	got, _ := p.store.GetRepository(ctx, r.ID)
	if got.SyncStatus != "error" || got.SyncError == "" || got.SyncAttempts != 1 || got.NextSyncAt == nil {
		t.Fatalf("after truncated archive: status %s error %q attempts %d next %v", got.SyncStatus, got.SyncError, got.SyncAttempts, got.NextSyncAt)
	}
	// The same when the fake GitHub itself cuts the archive short.
	p.gh.UpdateRepo(repo.ID, func(r *githubtest.Repo) {
		r.Generate = func(w *githubtest.ArchiveWriter) error {
			if err := w.WriteFile("kubernetes/apps/x.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")); err != nil {
				return err
			}
			return errors.New("connection reset")
		}
	})
	if _, err := p.runner.SyncRepo(ctx, r.ID); err == nil {
		t.Fatal("archive cut by the server: sync succeeded")
	}
	intact("an archive cut by the server")
	p.gh.UpdateRepo(repo.ID, func(r *githubtest.Repo) { r.Generate = nil })

	// GitHub failing outright is the same kind of error.
	p.gh.FailNextTarball(1, 404)
	if _, err := p.runner.SyncRepo(ctx, r.ID); err == nil {
		t.Fatal("404: sync succeeded")
	}
	intact("a 404 from GitHub")

	// Once GitHub answers, the sync succeeds and the old data moves on.
	if _, err := p.runner.SyncRepo(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = p.store.GetRepository(ctx, r.ID)
	if got.ScannedOID != oid("second") || got.SyncStatus != "success" || got.SyncError != "" || got.SyncAttempts != 0 {
		t.Fatalf("after recovery: %+v", got)
	}
}

func TestSyncConcurrentRequestsDownloadOnce(t *testing.T) {
	p, _, r := newSyncPipeline(t, homeOps())
	ctx := context.Background()
	p.gh.SetDelay(50 * time.Millisecond) // keep the first download in flight while the others arrive
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				errs[i] = p.runner.QueueSync(ctx, r.ID, false)
			} else {
				_, errs[i] = p.runner.SyncRepo(ctx, r.ID)
			}
		}()
	}
	wg.Wait()
	counts, err := p.runner.Run(ctx, jobs.JobSync, "test")
	if err != nil && !errors.Is(err, jobs.ErrAlreadyRunning) {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); p.runner.SyncQueued(r.ID); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("queued sync did not finish")
		}
	}
	p.gh.SetDelay(0)
	ok := 0
	for _, e := range errs {
		switch {
		case e == nil:
			ok++
		case errors.Is(e, store.ErrConflict):
		default:
			t.Fatalf("unexpected error: %v", e)
		}
	}
	if ok == 0 {
		t.Fatal("no request was accepted")
	}
	got, _ := p.store.GetRepository(ctx, r.ID)
	if got.SyncStatus != "success" {
		t.Fatalf("status %s (%s), counts %v", got.SyncStatus, got.SyncError, counts)
	}
	// Syncs may follow each other (a click after a sync is a new request), but never overlap:
	// every download created its events once, so there is one created event per object.
	if n := len(p.events(t, r.ID)); n != got.ObjectCount {
		t.Fatalf("%d events for %d objects: overlapping syncs", n, got.ObjectCount)
	}
}

func TestSyncNeverDownloadsBlockedOrUnapproved(t *testing.T) {
	repos := generate(2, "k8s-at-home", 9)
	repos[0].Files, repos[1].Files = homeOps(), homeOps()
	repos[0].DiskUsageKB = 100
	repos[1].DiskUsageKB = 500 * 1024 // over the 100 MB limit: pending approval
	p := newPipeline(t, jobs.Config{}, repos...)
	p.run(t, jobs.JobDiscover)
	ctx := context.Background()
	r0, _ := p.store.GetRepositoryByName(ctx, repos[0].Owner, repos[0].Name)
	if err := p.store.ApplyRepoAction(ctx, r0.ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	counts, _ := p.run(t, jobs.JobSync)
	if counts["due"] != 0 || p.gh.Stats().Tarball != 0 {
		t.Fatalf("blocked/unapproved downloaded: counts %v, tarballs %d", counts, p.gh.Stats().Tarball)
	}
	if err := p.runner.QueueSync(ctx, r0.ID, false); !errors.Is(err, store.ErrNotSyncable) {
		t.Fatalf("queue a blocked repo: got %v, want ErrNotSyncable", err)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestScheduledSyncRunsWhenDueAndSkipsIdleTicks(t *testing.T) {
	repo := generate(1, "k8s-at-home", 21)[0]
	repo.Files, repo.DiskUsageKB = homeOps(), 100
	p := newPipeline(t, jobs.Config{SyncInterval: 50 * time.Millisecond, SyncConcurrency: 1}, repo)
	p.run(t, jobs.JobDiscover)
	sched, err := p.runner.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Shutdown()
	ctx := context.Background()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r, _ := p.store.GetRepositoryByName(ctx, repo.Owner, repo.Name)
		if r.SyncStatus == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled sync did not sync the due repository: %s %s", r.SyncStatus, r.SyncError)
		}
	}
	time.Sleep(400 * time.Millisecond) // several idle ticks
	runs, err := p.store.ListJobRuns(ctx, jobs.JobSync, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%d sync runs recorded, want 1: ticks with nothing due are not runs", len(runs))
	}
}

// trickle is a Repo.Generate that sends a small manifest every few milliseconds and never
// ends, as a download that trickles forever would: it never stalls, so only the sync's own
// deadline ends it. started is closed when the body begins.
func trickle(started chan struct{}) func(w *githubtest.ArchiveWriter) error {
	var once sync.Once
	return func(w *githubtest.ArchiveWriter) error {
		once.Do(func() { close(started) })
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			body := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n", i)
			if err := w.WriteFile(fmt.Sprintf("kubernetes/apps/c%d.yaml", i), []byte(body)); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			select {
			case <-w.Context().Done():
				return w.Context().Err()
			case <-tick.C:
			}
		}
	}
}

func TestSyncTimeoutIsRecordedAndFreesTheSlot(t *testing.T) {
	repos := generate(2, "k8s-at-home", 11)
	for i := range repos {
		repos[i].Files, repos[i].DiskUsageKB = homeOps(), 100
	}
	started := make(chan struct{})
	repos[0].Generate = trickle(started)
	// One slot: a sync that never gave it back would keep every other repository waiting.
	p := newPipeline(t, jobs.Config{SyncConcurrency: 1, SyncTimeout: 300 * time.Millisecond}, repos...)
	p.run(t, jobs.JobDiscover)
	ctx := context.Background()
	slow, _ := p.store.GetRepositoryByName(ctx, repos[0].Owner, repos[0].Name)
	fast, _ := p.store.GetRepositoryByName(ctx, repos[1].Owner, repos[1].Name)

	counts, _ := p.run(t, jobs.JobSync)
	if counts["failed"] != 1 || counts["synced"] != 1 {
		t.Fatalf("sync pass: counts %v, want the trickling repo failed and the other synced", counts)
	}
	got, _ := p.store.GetRepository(ctx, slow.ID)
	if got.SyncStatus != "error" || !strings.Contains(got.SyncError, "timed out after 300ms") || strings.Contains(got.SyncError, "deadline exceeded") {
		t.Fatalf("trickling repo: status %s error %q, want error \"timed out after 300ms\"", got.SyncStatus, got.SyncError)
	}
	if got.SyncAttempts != 1 || got.NextSyncAt == nil {
		t.Fatalf("trickling repo: attempts %d next %v, want a failure counted and a retry planned", got.SyncAttempts, got.NextSyncAt)
	}

	// The slot is free again: another pass gets it at once. The deadline only keeps a leaked
	// slot from hanging the test.
	if err := p.store.RequestSync(ctx, fast.ID, true); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if counts, err := p.runner.Sync(pctx); err != nil || counts["synced"] != 1 {
		t.Fatalf("second pass: counts %v, %v; want the other repo synced", counts, err)
	}
}

// A sync ended by its caller (shutdown, or a caller's own deadline) is an interruption, put back
// for the next pass, never reported as the sync timing out.
func TestSyncInterruptedIsNotATimeout(t *testing.T) {
	p, repo, r := newSyncPipeline(t, homeOps())
	started := make(chan struct{})
	p.gh.UpdateRepo(repo.ID, func(gr *githubtest.Repo) { gr.Generate = trickle(started) })
	runner := jobs.New(p.store, p.client, jobs.Config{SyncTimeout: time.Hour}, discardLog())
	defer runner.Close()
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Hour, errors.New("test over"))
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	if _, err := runner.SyncRepo(ctx, r.ID); err == nil {
		t.Fatal("interrupted sync succeeded")
	}
	got, _ := p.store.GetRepository(context.Background(), r.ID)
	if got.SyncStatus != "pending" || got.SyncAttempts != 0 || strings.Contains(got.SyncError, "timed out") {
		t.Fatalf("after an interruption: status %s attempts %d error %q, want pending, no failure counted", got.SyncStatus, got.SyncAttempts, got.SyncError)
	}
	// The same when the caller's own deadline is what ends it.
	dctx, dcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer dcancel()
	if _, err := runner.SyncRepo(dctx, r.ID); err == nil {
		t.Fatal("sync past its caller's deadline succeeded")
	}
	got, _ = p.store.GetRepository(context.Background(), r.ID)
	if got.SyncStatus != "pending" || got.SyncAttempts != 0 || strings.Contains(got.SyncError, "timed out") {
		t.Fatalf("after the caller's deadline: status %s attempts %d error %q, want pending, no failure counted", got.SyncStatus, got.SyncAttempts, got.SyncError)
	}
}

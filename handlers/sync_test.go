package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

var syncFiles = map[string]string{
	"apps/web/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.2.3
`,
	"apps/web/secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: web-secret
  namespace: web
stringData:
  password: hunter2-do-not-show
`,
	"apps/web/hostile.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: "<script>alert(1)</script>"
  namespace: web
`,
	"apps/db/helmrelease.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: postgres
  namespace: db
spec:
  chart:
    spec:
      chart: postgresql
      version: 16.0.0
      sourceRef:
        kind: HelmRepository
        name: bitnami
        namespace: flux-system
`,
	"flux/bitnami.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: flux-system
spec:
  type: oci
  url: oci://registry-1.docker.io/bitnamicharts
`,
	"apps/broken.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
}

// withSyncRepo seeds owner1/home-ops in the store and the same repository, with files, in the fake GitHub.
func (e *env) withSyncRepo() store.Repository {
	e.t.Helper()
	e.seedRepos(1, nil)
	e.github.AddRepos(githubtest.Repo{DatabaseID: 1, Owner: "owner1", Name: "home-ops", DefaultBranch: "main",
		HeadOID: fmt.Sprintf("%040d", 1), Files: syncFiles})
	r, err := e.store.GetRepositoryByName(context.Background(), "owner1", "home-ops")
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func withToken(c *handlers.Config) { c.GitHubTokenSet = true }

func (c *client) htmxPost(path string) response {
	c.e.t.Helper()
	return c.postRaw(path, url.Values{"_csrf": {c.csrfToken()}}, "HX-Request", "true", "HX-Target", "sync-panel")
}

// pollSync polls the panel like the page does until an answer stops the polling.
func (c *client) pollSync(t *testing.T, path string) response {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := c.get(path+"/sync", "HX-Request", "true")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("poll: status %d\n%s", r.StatusCode, r.body)
		}
		if _, polling := r.doc(t).Find(`[data-testid="sync-panel"]`).Attr("hx-trigger"); !polling {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the sync did not finish")
	return response{}
}

func TestSyncButtonAndRepositoryScanPages(t *testing.T) {
	e := newEnv(t, withToken).withUsers()
	repo := e.withSyncRepo()
	const path = "/repositories/owner1/home-ops"
	ctx := context.Background()

	// Anonymous visitors cannot sync; a post without the CSRF token is refused.
	if r := e.client().post(path+"/sync", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous sync: status %d, location %q", r.StatusCode, r.Header.Get("Location"))
	}
	user := e.client().mustLogin(userEmail)
	if r := user.postRaw(path+"/sync", url.Values{}); r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusForbidden {
		t.Fatalf("sync without CSRF: status %d, want a refusal", r.StatusCode)
	}
	page := user.get(path).doc(t)
	if page.Find(`[data-testid="sync-button"]`).Length() != 1 || page.Find(`[data-testid="never-scanned"]`).Length() != 1 {
		t.Fatal("repository page: want the sync button and a not-scanned note")
	}

	// The button queues the sync and answers with a polling panel; polling ends with the counts.
	r := user.htmxPost(path + "/sync")
	if r.StatusCode != http.StatusOK || r.doc(t).Find(`[data-testid="sync-panel"]`).Length() != 1 {
		t.Fatalf("sync click: status %d\n%s", r.StatusCode, r.body)
	}
	done := user.pollSync(t, path).doc(t)
	got, _ := e.store.GetRepository(ctx, repo.ID)
	if got.SyncStatus != "success" || got.ObjectCount == 0 {
		t.Fatalf("after sync: status %s (%s), %d objects", got.SyncStatus, got.SyncError, got.ObjectCount)
	}
	if s := done.Find(`[data-testid="count-objects"]`).Text(); s != fmt.Sprint(got.ObjectCount) {
		t.Fatalf("panel objects %q, want %d", s, got.ObjectCount)
	}
	if done.Find(`[data-testid="sync-done"]`).Length() != 1 || done.Find(`[data-testid="sync-status"]`).Text() != "success" {
		t.Fatal("the final panel does not say the sync finished")
	}

	// The repository page shows charts, images, deprecated APIs and problems, with links at the commit.
	d := user.get(path).doc(t)
	if n := d.Find(`[data-testid="chart-row"]`).Length(); n != 1 {
		t.Fatalf("chart rows: %d, want 1", n)
	}
	if !strings.Contains(d.Find(`[data-testid="chart-row"]`).Text(), "oci://registry-1.docker.io/bitnamicharts/postgresql") {
		t.Fatalf("chart row: %q", d.Find(`[data-testid="chart-row"]`).Text())
	}
	if !strings.Contains(d.Find(`[data-testid="images-table"]`).Text(), "ghcr.io/example/web") {
		t.Fatal("image missing")
	}
	if d.Find(`[data-testid="deprecation-row"]`).Length() != 1 {
		t.Fatal("the v2beta1 HelmRelease is not listed as deprecated")
	}
	if d.Find(`[data-testid="problem-error"]`).Length() != 1 {
		t.Fatal("the templated file is not listed as an error")
	}
	href, _ := d.Find(`[data-testid="problem-error"] a`).Attr("href")
	if want := "https://github.com/owner1/home-ops/blob/" + got.ScannedOID + "/apps/broken.yaml"; !strings.HasPrefix(href, want) {
		t.Fatalf("problem file link %q, want prefix %q", href, want)
	}

	// Resources: filter by kind (full page and htmx partial), escaping of hostile names.
	all := user.get(path + "/resources")
	if strings.Contains(all.body, "<script>alert(1)</script>") || !strings.Contains(all.body, "&lt;script&gt;") {
		t.Fatal("a hostile object name is not escaped")
	}
	if n := all.doc(t).Find(`[data-testid="resource-row"]`).Length(); n != got.ObjectCount {
		t.Fatalf("resource rows %d, want %d", n, got.ObjectCount)
	}
	part := user.get(path+"/resources?kind=Deployment", "HX-Request", "true", "HX-Target", "resource-results")
	pd := part.doc(t)
	if pd.Find(`[data-testid="repo-tabs"]`).Length() != 0 {
		t.Fatal("the htmx answer is a full page")
	}
	if n := pd.Find(`[data-testid="resource-row"]`).Length(); n != 1 {
		t.Fatalf("kind filter: %d rows, want 1", n)
	}
	// The secret's body is shown redacted.
	sec, _ := e.store.ListResources(ctx, repo.ID, store.ResourceFilter{Kind: "Secret"})
	rp := user.get(fmt.Sprintf("%s/resources/%d", path, sec.Items[0].ID))
	if rp.StatusCode != 200 || strings.Contains(rp.body, "hunter2") || !strings.Contains(rp.doc(t).Find(`[data-testid="resource-yaml"]`).Text(), "[redacted]") {
		t.Fatalf("secret resource page: status %d\n%s", rp.StatusCode, rp.body)
	}
	if r := user.get(path + "/resources/999999"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown resource: %d", r.StatusCode)
	}

	// Events: one created event per object, filterable by type.
	ev := user.get(path + "/events").doc(t)
	if n := ev.Find(`[data-testid="event-created"]`).Length(); n != got.ObjectCount {
		t.Fatalf("created events %d, want %d", n, got.ObjectCount)
	}
	if n := user.get(path + "/events?type=deleted").doc(t).Find(`[data-testid="events-empty"]`).Length(); n != 1 {
		t.Fatal("no empty state for a filter without events")
	}
	if r := user.get(path + "/events?type=bogus"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown event type: %d", r.StatusCode)
	}

	// Blocked: a plain user may not sync it; a superuser is told why nothing happens.
	admin := e.client().mustLogin(adminEmail)
	if err := e.store.ApplyRepoAction(ctx, repo.ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	if r := user.htmxPost(path + "/sync"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("user syncs a blocked repo: %d", r.StatusCode)
	}
	ar := admin.htmxPost(path + "/sync")
	if msg := ar.doc(t).Find(`[data-testid="sync-message"]`).Text(); !strings.Contains(msg, "blocked") {
		t.Fatalf("admin syncs a blocked repo: message %q", msg)
	}
	if e.github.Stats().Tarball != 1 {
		t.Fatalf("tarball downloads %d, want 1", e.github.Stats().Tarball)
	}
}

func TestSyncButtonTwiceQueuesOnce(t *testing.T) {
	e := newEnv(t, withToken).withUsers()
	e.withSyncRepo()
	e.github.SetDelay(200 * time.Millisecond)
	const path = "/repositories/owner1/home-ops"
	user := e.client().mustLogin(userEmail)
	first := user.htmxPost(path + "/sync")
	second := user.htmxPost(path + "/sync")
	if first.StatusCode != 200 || second.StatusCode != 200 {
		t.Fatalf("statuses %d %d", first.StatusCode, second.StatusCode)
	}
	if msg := second.doc(t).Find(`[data-testid="sync-message"]`).Text(); !strings.Contains(msg, "already") {
		t.Fatalf("second click: message %q, want it to say a sync is already running", msg)
	}
	user.pollSync(t, path)
	if n := e.github.Stats().Tarball; n != 1 {
		t.Fatalf("tarball downloads %d, want 1", n)
	}
}

func TestPublicModeOpensReadOnlyViewsOnly(t *testing.T) {
	e := newEnv(t, func(c *handlers.Config) { c.Public = true }).withUsers()
	e.withSyncRepo()
	anon := e.client()
	for _, path := range []string{"/", "/repositories", "/repositories/owner1/home-ops", "/repositories/owner1/home-ops/resources",
		"/repositories/owner1/home-ops/events"} {
		if r := anon.get(path); r.StatusCode != http.StatusOK {
			t.Errorf("public %s: status %d, want 200", path, r.StatusCode)
		}
	}
	d := anon.get("/").doc(t)
	if d.Find(`[data-testid="stat-users"]`).Length() != 0 || d.Find(`[data-testid="run-row"]`).Length() != 0 {
		t.Error("the public dashboard shows operator figures to anonymous visitors")
	}
	if d := anon.get("/repositories/owner1/home-ops").doc(t); d.Find(`[data-testid="sync-button"]`).Length() != 0 {
		t.Error("anonymous visitors are offered the sync button")
	}
	for _, path := range []string{"/account", "/jobs", "/users"} {
		if r := anon.get(path); r.StatusCode != http.StatusSeeOther {
			t.Errorf("public %s: status %d, want a redirect to login", path, r.StatusCode)
		}
	}
	if r := anon.post("/repositories/owner1/home-ops/sync", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("public anonymous sync: status %d location %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Off by default: the same pages need a login.
	closed := newEnv(t).client()
	if r := closed.get("/repositories"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("default mode /repositories: status %d, want a redirect to login", r.StatusCode)
	}
}

// An unchanged, successfully scanned head is never downloaded again at a plain user's (or
// token's) request: the button and the API say so. Superusers have an explicit Rescan.
func TestSyncOfUnchangedHeadIsANoOpExceptRescan(t *testing.T) {
	e := newEnv(t, withToken).withUsers()
	e.withSyncRepo()
	const path = "/repositories/owner1/home-ops"
	user := e.client().mustLogin(userEmail)
	user.htmxPost(path + "/sync")
	user.pollSync(t, path)
	if n := e.github.Stats().Tarball; n != 1 {
		t.Fatalf("first sync: tarball downloads %d, want 1", n)
	}

	for range 3 {
		r := user.htmxPost(path + "/sync")
		d := r.doc(t)
		if msg := d.Find(`[data-testid="sync-message"]`).Text(); !strings.Contains(msg, "already scanned") {
			t.Fatalf("sync of an unchanged head: message %q, want it to say it is already scanned", msg)
		}
		if _, polling := d.Find(`[data-testid="sync-panel"]`).Attr("hx-trigger"); polling {
			t.Fatal("a no-op sync answers with a polling panel")
		}
	}
	token := e.token(userEmail)
	if r := user.api(http.MethodPost, "/api/v1/repositories/owner1/home-ops/sync", token); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, `"up_to_date"`) {
		t.Fatalf("API sync of an unchanged head: status %d %s, want 409 up_to_date", r.StatusCode, r.body)
	}
	if r := user.api(http.MethodPost, "/api/v1/repositories/owner1/home-ops/sync?rescan=true", token); r.StatusCode != http.StatusForbidden {
		t.Fatalf("API rescan by a plain user: status %d, want 403", r.StatusCode)
	}
	if r := user.postRaw(path+"/sync", url.Values{"_csrf": {user.csrfToken()}, "rescan": {"1"}}, "HX-Request", "true"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("rescan by a plain user: status %d, want 403", r.StatusCode)
	}
	if d := user.get(path).doc(t); d.Find(`[data-testid="rescan-button"]`).Length() != 0 {
		t.Fatal("a plain user is offered Rescan")
	}
	if n := e.github.Stats().Tarball; n != 1 {
		t.Fatalf("after repeated clicks: tarball downloads %d, want 1", n)
	}

	// A superuser rescans on purpose.
	admin := e.client().mustLogin(adminEmail)
	if d := admin.get(path).doc(t); d.Find(`[data-testid="rescan-button"]`).Length() != 1 {
		t.Fatal("the superuser is not offered Rescan for an unchanged head")
	}
	r := admin.postRaw(path+"/sync", url.Values{"_csrf": {admin.csrfToken()}, "rescan": {"1"}}, "HX-Request", "true", "HX-Target", "sync-panel")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("rescan: status %d\n%s", r.StatusCode, r.body)
	}
	admin.pollSync(t, path)
	if n := e.github.Stats().Tarball; n != 2 {
		t.Fatalf("after a rescan: tarball downloads %d, want 2", n)
	}

}

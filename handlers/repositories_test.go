package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

func (e *env) seedRepos(n int, edit func(i int, d *store.RepoData)) {
	e.t.Helper()
	var batch []store.RepoData
	for i := 1; i <= n; i++ {
		created := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		d := store.RepoData{
			GitHubID: fmt.Sprintf("R_%d", i), Owner: fmt.Sprintf("owner%d", i), Name: "home-ops",
			Description: fmt.Sprintf("cluster number %d", i), URL: fmt.Sprintf("https://github.com/owner%d/home-ops", i),
			Language: "Shell", Topics: []string{"k8s-at-home"}, CreatedAt: &created, PushedAt: &created, UpdatedAt: &created,
			Stars: i * 10, Forks: i, HeadOID: fmt.Sprintf("%040d", i),
		}
		if edit != nil {
			edit(i, &d)
		}
		batch = append(batch, d)
	}
	if _, err := e.store.UpsertDiscovered(context.Background(), "k8s-at-home", batch, 100*1024); err != nil {
		e.t.Fatal(err)
	}
}

func TestRepositoryPages(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedRepos(60, func(i int, d *store.RepoData) {
		if i == 5 {
			d.Description = `<script>alert("desc")</script>`
			d.Topics = []string{`<img src=x onerror=alert(1)>`, "flux"}
		}
		if i%2 == 0 {
			d.Language = "Go"
		}
	})
	user := e.client().mustLogin(userEmail)
	admin := e.client().mustLogin(adminEmail)

	r := user.get("/repositories")
	d := r.doc(t)
	if r.StatusCode != 200 || d.Find(`[data-testid="repo-row"]`).Length() != 50 || !strings.Contains(r.body, "60 repositories") {
		t.Fatalf("list: %d rows, status %d", d.Find(`[data-testid="repo-row"]`).Length(), r.StatusCode)
	}
	if first := d.Find(`[data-testid="repo-row"] a`).First().Text(); first != "owner60/home-ops" {
		t.Errorf("first row %q, want the most starred", first)
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != "/repositories?page=2" {
		t.Errorf("next page link %q", href)
	}
	if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") {
		t.Fatal("repository description or topic rendered as markup")
	}

	// Filters are server-side and kept in the URL; htmx gets only the results.
	r = user.get("/repositories?language=Go&sort=name&q=owner1", "HX-Request", "true", "HX-Target", "repo-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `data-testid="repo-total"`) {
		t.Fatalf("htmx request got a full page or no results:\n%.300s", r.body)
	}
	rows := r.doc(t).Find(`[data-testid="repo-row"] a`)
	if rows.Length() != 5 || rows.First().Text() != "owner10/home-ops" { // 10,12,14,16,18
		t.Fatalf("filtered: %d rows, first %q", rows.Length(), rows.First().Text())
	}
	if r := user.get("/repositories?q=nothing-matches-this"); !strings.Contains(r.body, `data-testid="repo-empty"`) || !strings.Contains(r.body, "Clear the filters") {
		t.Error("empty filtered result does not say why")
	}
	if r := user.get("/repositories?status=bogus"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad status filter: got %d, want 400", r.StatusCode)
	}

	// Detail page, escaped, with admin actions only for superusers.
	r = user.get("/repositories/OWNER5/home-ops")
	if r.StatusCode != 200 || strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") {
		t.Fatalf("detail: %d or unescaped content", r.StatusCode)
	}
	if !strings.Contains(r.body, "&lt;script&gt;alert(&#34;desc&#34;)&lt;/script&gt;") {
		t.Error("escaped description missing")
	}
	if r.doc(t).Find(`[data-testid="repo-admin"]`).Length() != 0 {
		t.Error("plain user sees admin actions")
	}
	if r := user.post("/repositories/owner5/home-ops/block", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("user block: got %d, want 403", r.StatusCode)
	}
	if r := user.get("/repositories/nobody/nothing"); r.StatusCode != 404 {
		t.Errorf("unknown repo: got %d", r.StatusCode)
	}

	if r := admin.get("/repositories/owner5/home-ops"); r.doc(t).Find(`[data-testid="action-block"]`).Length() != 1 {
		t.Fatal("admin sees no block action")
	}
	if r := admin.post("/repositories/owner5/home-ops/block", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("block: %d", r.StatusCode)
	}
	if r := admin.get("/repositories/owner5/home-ops"); !strings.Contains(r.body, ">blocked<") {
		t.Error("blocked status not shown")
	}
	if r := admin.post("/repositories/owner5/home-ops/delete", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := user.get("/repositories/owner5/home-ops"); r.StatusCode != 404 {
		t.Errorf("deleted repo visible to a user: %d", r.StatusCode)
	}
	if r := user.get("/repositories"); !strings.Contains(r.body, "59 repositories") {
		t.Error("deleted repo still listed")
	}
	if r := admin.post("/repositories/owner5/home-ops/frobnicate", url.Values{}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown action: got %d, want 400", r.StatusCode)
	}
}

func TestRepositoryChartData(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedRepos(1, nil)
	ctx := context.Background()
	d := store.RepoData{GitHubID: "R_1", Owner: "owner1", Name: "home-ops", Stars: 99}
	// A second snapshot (different numbers) makes a chart.
	if _, err := e.store.ApplyRefresh(ctx, []store.RepoData{d}, nil, 0); err != nil {
		t.Fatal(err)
	}
	r := e.client().mustLogin(userEmail).get("/repositories/owner1/home-ops")
	doc := r.doc(t)
	data := doc.Find(`script#metrics-data[type="application/json"]`).Text()
	if !strings.Contains(data, `"stars":[10,99]`) {
		t.Fatalf("chart data %q", data)
	}
	if doc.Find(`[data-chart="metrics-data"]`).Length() != 1 || doc.Find(`script[src*="uplot"]`).Length() != 1 {
		t.Fatal("chart element or uPlot script missing")
	}
	if doc.Find(`[data-testid="metrics-table"] tbody tr`).Length() != 2 {
		t.Fatal("the table mirroring the chart is missing rows")
	}
	if !strings.Contains(doc.Find(`[data-testid="card-stars"]`).Text(), "99") {
		t.Fatal("stars card does not show the current value")
	}
}

func TestJobsPage(t *testing.T) {
	e := newEnv(t).withUsers()
	user := e.client().mustLogin(userEmail)
	admin := e.client().mustLogin(adminEmail)
	if r := user.get("/jobs"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("user on /jobs: %d", r.StatusCode)
	}
	if r := user.post("/jobs/prune/run", nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("user run now: %d", r.StatusCode)
	}
	r := admin.get("/jobs")
	d := r.doc(t)
	for _, id := range []string{"job-discover", "job-refresh", "job-prune", "rate-limit", "github-paused", "no-runs"} {
		if d.Find(`[data-testid="`+id+`"]`).Length() == 0 {
			t.Errorf("jobs page lacks %s", id)
		}
	}
	// Run now over htmx: started, and the run is recorded.
	form := url.Values{"_csrf": {admin.csrfToken()}}
	r = admin.postRaw("/jobs/prune/run", form, "HX-Request", "true")
	if r.StatusCode != 200 || !strings.Contains(r.body, "Started") {
		t.Fatalf("run now: %d %s", r.StatusCode, r.body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runs, _ := e.store.ListJobRuns(context.Background(), "prune", 1)
		if len(runs) == 1 && runs[0].Status == "success" && runs[0].Trigger == "manual" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("manual prune run not recorded: %+v", runs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := admin.get("/jobs/runs"); !strings.Contains(r.body, `data-testid="run-row"`) || !strings.Contains(r.body, "prune") {
		t.Fatalf("runs partial does not list the run: %d\n%.600s", r.StatusCode, r.body)
	}
	// Without a token, discover fails with a readable reason in the runs table.
	admin.postRaw("/jobs/discover/run", form, "HX-Request", "true")
	for deadline := time.Now().Add(5 * time.Second); ; {
		if r := admin.get("/jobs/runs"); strings.Contains(r.body, "no GitHub token") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("discover without token did not record why it failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := admin.post("/jobs/nope/run", nil); r.StatusCode != 404 {
		t.Errorf("unknown job: %d", r.StatusCode)
	}
}

// TestDeletedRepositoriesListOnlyForSuperusers: a tombstoned repository's page is a 404 for
// everyone but superusers, so neither the list page nor the API may list it by status.
func TestDeletedRepositoriesListOnlyForSuperusers(t *testing.T) {
	e := newEnv(t, func(c *handlers.Config) { c.Public = true }).withUsers()
	e.seedRepos(2, nil)
	r, err := e.store.GetRepositoryByName(context.Background(), "owner2", "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.ApplyRepoAction(context.Background(), r.ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	admin, user := e.client().mustLogin(adminEmail), e.client().mustLogin(userEmail)
	for _, path := range []string{"/repositories?status=deleted", "/api/v1/repositories?status=deleted"} {
		// The superuser asks first: an answer cached for them must not reach the others.
		if res := admin.get(path); res.StatusCode != http.StatusOK || !strings.Contains(res.body, "owner2") {
			t.Errorf("superuser %s: got %d, want the deleted repository", path, res.StatusCode)
		}
		for who, c := range map[string]*client{"anonymous": e.client(), "user": user} {
			if res := c.get(path); res.StatusCode != http.StatusForbidden || strings.Contains(res.body, "owner2") {
				t.Errorf("%s %s: got %d, want 403 without the repository", who, path, res.StatusCode)
			}
		}
		if res := admin.get(path); res.StatusCode != http.StatusOK || !strings.Contains(res.body, "owner2") {
			t.Errorf("superuser %s: got %d, want the deleted repository", path, res.StatusCode)
		}
	}
}

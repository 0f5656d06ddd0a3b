package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

const hostileChart = `<script>alert("chart")</script>`

// chartRel is one HelmRelease of a seeded repository and the chart it deploys.
type chartRel struct {
	name, chart, version, url, values string
}

// scanCharts applies a scan of repository i (seeded by seedRepos) holding the given releases.
func (e *env) scanCharts(i int, oid string, at time.Time, rels ...chartRel) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.store.GetRepositoryByName(ctx, fmt.Sprintf("owner%d", i), "home-ops")
	if err != nil {
		e.t.Fatal(err)
	}
	res := &scan.Result{Files: len(rels)}
	for _, rel := range rels {
		file := "apps/" + rel.name + "/helmrelease.yaml"
		content := fmt.Sprintf(`{"kind":"HelmRelease","metadata":{"name":%q},"spec":%q}`, rel.name, rel.chart+rel.version+rel.values)
		res.Objects = append(res.Objects, scan.Object{File: file, APIVersion: "helm.toolkit.fluxcd.io/v2", Group: "helm.toolkit.fluxcd.io",
			Kind: "HelmRelease", Namespace: "default", Name: rel.name, Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(content))),
			Content: []byte(content), Line: 1})
		c := scan.Chart{File: file, Kind: "HelmRelease", Name: rel.name, Namespace: "default", Tool: scan.ToolFlux, Chart: rel.chart,
			Version: rel.version, SourceKind: "HelmRepository", SourceName: "charts", SourceURL: rel.url, ChartURL: rel.url + "/" + rel.chart}
		if rel.values != "" {
			c.Values = json.RawMessage(rel.values)
		}
		res.Charts = append(res.Charts, c)
	}
	if _, err := e.store.BeginSync(ctx, r.ID); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.ApplyScan(ctx, r.ID, store.ScanCommit{OID: oid, CommittedAt: &at, Result: res}); err != nil {
		e.t.Fatal(err)
	}
}

// seedCharts: cert-manager in repositories 1-3 (1.14.0 twice, 1.13.0 once, plus 9.9.9 in the
// blocked repository 4), a hostile chart name and values in repository 2, and 60 more charts
// (one repository each) for paging.
func (e *env) seedCharts() {
	e.t.Helper()
	e.seedRepos(5, nil)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	jet := "https://charts.jetstack.io"
	e.scanCharts(1, "oid1", at,
		chartRel{"cert-manager", "cert-manager", "1.14.0", jet, `{"installCRDs":true,"email":{"apiKey":"[redacted]"}}`})
	e.scanCharts(2, "oid2", at,
		chartRel{"cert-manager", "cert-manager", "1.14.0", jet, `{"installCRDs":true,"password":"[redacted]"}`},
		chartRel{"evil", hostileChart, "<b>1</b>", "https://evil.example/<i>", `{"<img src=x onerror=alert(1)>":"<script>alert(2)</script>"}`})
	e.scanCharts(3, "oid3", at, chartRel{"cert-manager", "cert-manager", "1.13.0", jet, `{"installCRDs":false}`})
	e.scanCharts(4, "oid4", at, chartRel{"cert-manager", "cert-manager", "9.9.9", jet, `{"installCRDs":"blocked-value"}`},
		chartRel{"lonely", "only-blocked", "1.0.0", jet, ""})
	var many []chartRel
	for i := range 60 {
		many = append(many, chartRel{fmt.Sprintf("r%02d", i), fmt.Sprintf("zz-chart-%02d", i), "1.0.0", "https://example.org", ""})
	}
	e.scanCharts(5, "oid5", at, many...)
	r4, _ := e.store.GetRepositoryByName(context.Background(), "owner4", "home-ops")
	if err := e.store.ApplyRepoAction(context.Background(), r4.ID, store.ActionBlock); err != nil {
		e.t.Fatal(err)
	}
}

func TestChartPagesAccess(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedCharts()
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	pub.seedCharts()
	user := e.client().mustLogin(userEmail)
	tests := []struct {
		name         string
		env          *env
		c            *client
		path         string
		wantStatus   int
		wantLocation string
		wantContains string
	}{
		{"anon list goes to login", e, e.client(), "/charts", 303, "/login?next=%2Fcharts", ""},
		{"anon chart goes to login", e, e.client(), "/charts/cert-manager", 303, "/login?next=%2Fcharts%2Fcert-manager", ""},
		{"user list", e, user, "/charts", 200, "", `data-testid="chart-table"`},
		{"user chart", e, user, "/charts/cert-manager", 200, "", `data-testid="versions-table"`},
		{"public list for anon", pub, pub.client(), "/charts", 200, "", `data-testid="chart-table"`},
		{"public chart for anon", pub, pub.client(), "/charts/cert-manager", 200, "", `data-testid="values-table"`},
		{"unknown chart", e, user, "/charts/no-such-chart", 404, "", "There is nothing here"},
		{"chart of a blocked repo only", e, user, "/charts/only-blocked", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.get(tt.path)
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("got %d, want %d", r.StatusCode, tt.wantStatus)
			}
			if tt.wantLocation != "" && r.Header.Get("Location") != tt.wantLocation {
				t.Errorf("got Location %q, want %q", r.Header.Get("Location"), tt.wantLocation)
			}
			if !strings.Contains(r.body, tt.wantContains) {
				t.Errorf("body lacks %s", tt.wantContains)
			}
		})
	}
}

func rowTexts(d *goquery.Document, row, cell string) []string {
	var out []string
	d.Find(row).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Find(cell).First().Text()))
	})
	return out
}

func TestChartsList(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedCharts()
	user := e.client().mustLogin(userEmail)

	r := user.get("/charts")
	d := r.doc(t)
	// Counted from the fixtures: 60 zz charts + cert-manager + the hostile one; the blocked repo adds nothing.
	if got := strings.TrimSpace(d.Find(`[data-testid="chart-total"]`).Text()); got != "62 charts" {
		t.Errorf("total: got %q, want 62 charts", got)
	}
	if n := d.Find(`[data-testid="chart-row"]`).Length(); n != 50 {
		t.Errorf("rows on page 1: got %d, want 50", n)
	}
	first := d.Find(`[data-testid="chart-row"]`).First()
	if name, repos, newest := first.Find(`[data-testid="chart-link"]`).Text(), first.Find(`[data-testid="chart-repos"]`).Text(),
		first.Find(`[data-testid="chart-newest"]`).Text(); name != "cert-manager" || repos != "3" || newest != "1.14.0" {
		t.Errorf("first row: got %s with %s repos, newest %s; want cert-manager, 3, 1.14.0", name, repos, newest)
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != "/charts?page=2" {
		t.Errorf("next page link %q", href)
	}
	if strings.Contains(r.body, hostileChart) || strings.Contains(r.body, "<b>1</b>") {
		t.Fatal("hostile chart name or version rendered as markup")
	}
	if !strings.Contains(r.body, `data-testid="growth-note"`) {
		t.Error("the page does not explain growth")
	}

	r = user.get("/charts?page=2")
	if n := r.doc(t).Find(`[data-testid="chart-row"]`).Length(); n != 12 {
		t.Errorf("rows on page 2: got %d, want 12", n)
	}

	// Search and sort stay in the URL; htmx gets only the results.
	r = user.get("/charts?q=chart-0&sort=name", "HX-Request", "true", "HX-Target", "chart-results")
	if strings.Contains(r.body, "<html") {
		t.Fatal("htmx request got a full page")
	}
	names := rowTexts(r.doc(t), `[data-testid="chart-row"]`, `[data-testid="chart-link"]`)
	if len(names) != 10 || names[0] != "zz-chart-00" || names[9] != "zz-chart-09" {
		t.Errorf("search chart-0 by name: got %v", names)
	}
	r = user.get("/charts?q=nothing-like-this")
	if !strings.Contains(r.body, `data-testid="chart-empty"`) || !strings.Contains(r.body, "nothing-like-this") {
		t.Error("empty search does not say why")
	}
	r = user.get("/charts?sort=bogus")
	if r.StatusCode != http.StatusOK {
		t.Errorf("unknown sort: got %d, want the default sort", r.StatusCode)
	}
}

func TestChartPage(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedCharts()
	user := e.client().mustLogin(userEmail)

	r := user.get("/charts/cert-manager")
	d := r.doc(t)
	if got := d.Find(`[data-testid="stat-repos"]`).Text(); got != "3" {
		t.Errorf("repositories: got %s, want 3 (the blocked one left out)", got)
	}
	if got := strings.TrimSpace(d.Find(`[data-testid="stat-newest"]`).Text()); got != "1.14.0" {
		t.Errorf("newest: got %q, want 1.14.0", got)
	}
	if got := d.Find(`[data-testid="stat-newest-repos"]`).Text(); got != "2" {
		t.Errorf("repos on the newest: got %s, want 2", got)
	}
	versions := rowTexts(d, `[data-testid="version-row"]`, `[data-testid="version"]`)
	counts := rowTexts(d, `[data-testid="version-row"]`, `[data-testid="version-repos"]`)
	if !slices.Equal(versions, []string{"1.14.0", "1.13.0"}) || !slices.Equal(counts, []string{"2", "1"}) {
		t.Errorf("version table: got %v %v, want [1.14.0 1.13.0] [2 1]", versions, counts)
	}
	repos := rowTexts(d, `[data-testid="chart-repo-row"]`, `[data-testid="chart-repo-link"]`)
	if !slices.Equal(repos, []string{"owner3/home-ops", "owner2/home-ops", "owner1/home-ops"}) {
		t.Errorf("repositories by stars: got %v", repos)
	}
	link, _ := d.Find(`[data-testid="chart-repo-row"] [data-testid="file-link"]`).First().Attr("href")
	if link != "https://github.com/owner3/home-ops/blob/oid3/apps/cert-manager/helmrelease.yaml" {
		t.Errorf("file link: got %q", link)
	}
	keys := rowTexts(d, `[data-testid="values-row"]`, `[data-testid="values-key"]`)
	if !slices.Equal(keys, []string{"installCRDs", "email.apiKey", "password"}) {
		t.Errorf("values keys: got %v", keys)
	}
	if got := d.Find(`[data-testid="values-row"]`).First().Find(`[data-testid="values-value"]`).First().Text(); got != "true (2)" {
		t.Errorf("top value of installCRDs: got %q, want true (2)", got)
	}
	if strings.Contains(r.body, "[redacted]") || strings.Contains(r.body, "blocked-value") {
		t.Error("a redacted value or a blocked repository's value is shown")
	}
	if ex := d.Find(`[data-testid="values-example"]`).Text(); ex != "installCRDs: true\n" {
		t.Errorf("example values: got %q", ex)
	}
	if n := d.Find(`[data-testid="adoption-row"]`).Length(); n != 1 || !strings.Contains(d.Find(`[data-testid="adoption-row"]`).Text(), "2026-03") {
		t.Errorf("adoption: got %d rows %q", n, d.Find(`[data-testid="adoption-row"]`).Text())
	}
	also := rowTexts(d, `[data-testid="also-row"]`, "a")
	if len(also) != 1 || also[0] != hostileChart {
		t.Errorf("also used: got %v", also)
	}

	// Sort and paging in the URL; htmx gets only the repositories.
	r = user.get("/charts/cert-manager?sort=version", "HX-Request", "true", "HX-Target", "chart-repos")
	if strings.Contains(r.body, "<html") {
		t.Fatal("htmx request got a full page")
	}
	repos = rowTexts(r.doc(t), `[data-testid="chart-repo-row"]`, `[data-testid="chart-repo-link"]`)
	if !slices.Equal(repos, []string{"owner2/home-ops", "owner1/home-ops", "owner3/home-ops"}) {
		t.Errorf("repositories by version: got %v", repos)
	}
	if r := user.get("/charts/cert-manager?page=5"); !strings.Contains(r.body, `data-testid="chart-repos-empty"`) {
		t.Error("a page past the end does not say why it is empty")
	}

	// A hostile chart name and values are text, and the name survives the URL.
	r = user.get("/charts/" + url.PathEscape(hostileChart))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("hostile chart page: got %d", r.StatusCode)
	}
	if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") || strings.Contains(r.body, "<i>") {
		t.Fatal("hostile chart data rendered as markup")
	}
	if got := r.doc(t).Find(`[data-testid="chart-name"]`).Text(); got != hostileChart {
		t.Errorf("chart name: got %q", got)
	}
}

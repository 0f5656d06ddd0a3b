package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

// searchScan stores a scan of owner<i>/home-ops that found the given charts and images.
func (e *env) searchScan(i int, charts []string, images []scan.Image) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.store.GetRepositoryByName(ctx, fmt.Sprintf("owner%d", i), "home-ops")
	if err != nil {
		e.t.Fatal(err)
	}
	res := &scan.Result{Files: 1, Images: images}
	for j, c := range charts {
		res.Charts = append(res.Charts, scan.Chart{File: fmt.Sprintf("hr%d.yaml", j), Kind: "HelmRelease", Name: fmt.Sprintf("r%d", j),
			Namespace: "apps", Tool: scan.ToolFlux, Chart: c, Version: "1.0.0", SourceKind: "HelmRepository"})
	}
	if _, err := e.store.BeginSync(ctx, r.ID); err != nil {
		e.t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if _, err := e.store.ApplyScan(ctx, r.ID, store.ScanCommit{OID: r.HeadOID, CommittedAt: &at, Result: res}); err != nil {
		e.t.Fatal(err)
	}
}

// seedSearch: 12 repositories (owner<i>/home-ops, 10·i stars). Each uses cert-manager and
// docker.io/library/nginx; repo i also uses chart "app-<i>" and image ghcr.io/owner<i>/app.
// Repo 4 carries hostile strings everywhere; repo 11 is blocked and 12 deleted.
func seedSearch(e *env) {
	e.seedRepos(12, func(i int, d *store.RepoData) {
		if i == 4 {
			d.Description = "flux " + hostileText
		}
	})
	for i := 1; i <= 12; i++ {
		charts := []string{"cert-manager", fmt.Sprintf("app-%d", i)}
		images := []scan.Image{
			imageRef("a.yaml", "docker.io", "library/nginx", "1.27", ""),
			imageRef("b.yaml", "ghcr.io", fmt.Sprintf("owner%d/app", i), "v1", ""),
		}
		switch i {
		case 4:
			charts = append(charts, "app-"+hostileText)
			images = append(images, imageRef("c.yaml", "ghcr.io", "evil/app-"+hostileText, "v1", ""))
		case 11:
			charts = append(charts, "blocked-only")
		case 12:
			images = append(images, imageRef("c.yaml", "quay.io", "deleted/only", "v1", ""))
		}
		e.searchScan(i, charts, images)
	}
	e.imgRepoAction(11, store.ActionBlock)
	e.imgRepoAction(12, store.ActionDelete)
}

func TestSearchAccess(t *testing.T) {
	e := newEnv(t).withUsers()
	seedSearch(e)
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	seedSearch(pub)
	user := e.client().mustLogin(userEmail)
	for _, tc := range []struct {
		name       string
		c          *client
		path       string
		hx         bool
		wantStatus int
		want       string
	}{
		{"anonymous page", e.client(), "/search?q=cert", false, http.StatusSeeOther, ""},
		{"anonymous suggest", e.client(), "/search/suggest?q=cert", false, http.StatusSeeOther, ""},
		{"anonymous htmx suggest", e.client(), "/search/suggest?q=cert", true, http.StatusUnauthorized, ""},
		{"user page", user, "/search?q=cert", false, http.StatusOK, `data-testid="section-charts"`},
		{"user suggest", user, "/search/suggest?q=cert", true, http.StatusOK, `data-testid="suggest-chart"`},
		{"public page", pub.client(), "/search?q=cert", false, http.StatusOK, `data-testid="section-charts"`},
		{"public suggest", pub.client(), "/search/suggest?q=cert", true, http.StatusOK, `data-testid="suggest-chart"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.hx {
				hdr = []string{"HX-Request", "true", "HX-Target", "site-search-suggest"}
			}
			r := tc.c.get(tc.path, hdr...)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%s: got %d, want %d", tc.path, r.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusSeeOther && !strings.HasPrefix(r.Header.Get("Location"), "/login") {
				t.Errorf("redirect to %q, want the login page", r.Header.Get("Location"))
			}
			if tc.wantStatus == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("HX-Redirect"), "/login") {
				t.Errorf("HX-Redirect %q, want the login page", r.Header.Get("HX-Redirect"))
			}
			if !strings.Contains(r.body, tc.want) {
				t.Errorf("body lacks %q", tc.want)
			}
		})
	}
}

func TestSearchBoxInHeader(t *testing.T) {
	e := newEnv(t).withUsers()
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	user := e.client().mustLogin(userEmail)
	for _, tc := range []struct {
		name string
		c    *client
		path string
		want bool
	}{
		{"user dashboard", user, "/", true},
		{"user repositories", user, "/repositories", true},
		{"user account", user, "/account", true},
		{"anonymous login page", e.client(), "/login", false},
		{"public anonymous dashboard", pub.client(), "/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.get(tc.path)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s: got %d, want 200", tc.path, r.StatusCode)
			}
			form := r.doc(t).Find(`header [data-testid="site-search"]`)
			if got := form.Length() == 1; got != tc.want {
				t.Fatalf("search form in header: got %v, want %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			if m, a := form.AttrOr("method", ""), form.AttrOr("action", ""); m != "get" || a != "/search" {
				t.Errorf("form: got %s %s, want a plain get to /search", m, a)
			}
			in := form.Find(`input[name="q"]`)
			for attr, want := range map[string]string{
				"hx-get": "/search/suggest", "hx-target": "#site-search-suggest", "aria-controls": "site-search-suggest",
				"hx-trigger": "input changed delay:250ms, search",
			} {
				if got := in.AttrOr(attr, ""); got != want {
					t.Errorf("input %s: got %q, want %q", attr, got, want)
				}
			}
			if form.Find(`#site-search-suggest`).Length() != 1 || form.Find(`#site-search-status[aria-live="polite"]`).Length() != 1 {
				t.Errorf("form lacks the suggestion target or the live region")
			}
		})
	}
}

func TestSearchSuggestions(t *testing.T) {
	e := newEnv(t).withUsers()
	seedSearch(e)
	user := e.client().mustLogin(userEmail)
	admin := e.client().mustLogin(adminEmail)
	suggest := func(c *client, q string) response {
		t.Helper()
		r := c.get("/search/suggest?q="+url.QueryEscape(q), "HX-Request", "true", "HX-Target", "site-search-suggest")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("suggest %q: got %d, want 200", q, r.StatusCode)
		}
		if strings.Contains(r.body, "<html") {
			t.Fatalf("suggest %q: got a full page", q)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "<img") {
			t.Fatalf("suggest %q: unescaped markup in\n%s", q, r.body)
		}
		return r
	}
	texts := func(r response, sel string) []string {
		var out []string
		r.doc(t).Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
		return out
	}
	hrefs := func(r response, sel string) []string {
		var out []string
		for _, n := range r.doc(t).Find(sel).Nodes {
			for _, a := range n.Attr {
				if a.Key == "href" {
					out = append(out, a.Val)
				}
			}
		}
		return out
	}
	status := func(r response) string {
		return strings.TrimSpace(r.doc(t).Find(`#site-search-status[hx-swap-oob="innerHTML"]`).Text())
	}

	t.Run("every section, five at most, ranked", func(t *testing.T) {
		r := suggest(user, "app")
		// Repositories: no word starts with "app" in name, description or topics.
		if got := texts(r, `[data-testid="suggest-repo"]`); len(got) != 0 {
			t.Errorf("repos: got %v, want none", got)
		}
		charts := texts(r, `[data-testid="suggest-chart"]`)
		if len(charts) != 5 || strings.Contains(strings.Join(charts, " "), "blocked") {
			t.Errorf("charts: got %v, want 5 live ones", charts)
		}
		images := texts(r, `[data-testid="suggest-image"]`)
		if len(images) != 5 {
			t.Errorf("images: got %v, want 5", images)
		}
		if got := status(r); got != "10 suggestions: 5 charts, 5 images." {
			t.Errorf("status: got %q", got)
		}
		if got := hrefs(r, `[data-testid="suggest-all"]`); len(got) != 1 || got[0] != "/search?q=app" {
			t.Errorf("all results link: got %v", got)
		}
		// The match is marked.
		if r.doc(t).Find(`[data-testid="suggest-chart"] mark`).First().Text() != "app" {
			t.Errorf("chart match not marked:\n%s", r.body)
		}
	})
	t.Run("repositories by stars", func(t *testing.T) {
		r := suggest(user, "home-ops")
		got := texts(r, `[data-testid="suggest-repo"]`)
		want := []string{"owner10/home-ops", "owner9/home-ops", "owner8/home-ops", "owner7/home-ops", "owner6/home-ops"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("got %v, want %v (11 blocked, 12 deleted)", got, want)
		}
		if h := hrefs(r, `[data-testid="suggest-repo"]`); len(h) == 0 || h[0] != "/repositories/owner10/home-ops" {
			t.Errorf("repo links: got %v", h)
		}
		// A superuser also finds the blocked one.
		if got := texts(suggest(admin, "home-ops"), `[data-testid="suggest-repo"]`); len(got) == 0 || got[0] != "owner11/home-ops" {
			t.Errorf("superuser: got %v, want the blocked owner11 first", got)
		}
	})
	t.Run("charts and images", func(t *testing.T) {
		r := suggest(user, "cert")
		if got := texts(r, `[data-testid="suggest-chart"]`); len(got) != 1 || got[0] != "cert-manager" {
			t.Errorf("charts: got %v", got)
		}
		if h := hrefs(r, `[data-testid="suggest-chart"]`); len(h) != 1 || h[0] != "/charts/cert-manager" {
			t.Errorf("chart link: got %v", h)
		}
		if !strings.Contains(r.body, "10 repos") {
			t.Errorf("cert-manager: want 10 live repos in\n%s", r.body)
		}
		r = suggest(user, "nginx")
		if h := hrefs(r, `[data-testid="suggest-image"]`); len(h) != 1 || h[0] != "/images/docker.io/library/nginx" {
			t.Errorf("image link: got %v", h)
		}
		if got := texts(suggest(user, "quay"), `[data-testid="suggest-image"]`); len(got) != 0 {
			t.Errorf("image of a deleted repository: got %v", got)
		}
	})
	t.Run("prefixes", func(t *testing.T) {
		r := suggest(user, "image app")
		if len(texts(r, `[data-testid="suggest-chart"]`)) != 0 || len(texts(r, `[data-testid="suggest-image"]`)) != 5 {
			t.Errorf("image prefix: want images only\n%s", r.body)
		}
		r = suggest(user, "helm app")
		if len(texts(r, `[data-testid="suggest-image"]`)) != 0 || len(texts(r, `[data-testid="suggest-chart"]`)) != 5 {
			t.Errorf("helm prefix: want charts only\n%s", r.body)
		}
		r = suggest(user, "chart nginx")
		if r.doc(t).Find(`[data-testid="suggest-empty"]`).Length() != 1 || status(r) != "No suggestions." {
			t.Errorf("chart prefix: want nothing\n%s", r.body)
		}
		r = suggest(user, "repo owner3")
		if got := texts(r, `[data-testid="suggest-repo"]`); len(got) != 1 || got[0] != "owner3/home-ops" {
			t.Errorf("repo prefix: got %v", got)
		}
	})
	t.Run("empty query", func(t *testing.T) {
		for _, q := range []string{"", "   "} {
			r := suggest(user, q)
			d := r.doc(t)
			if d.Find("a").Length() != 0 || d.Find("p").Length() != 0 || status(r) != "" {
				t.Errorf("%q: want an empty partial, got\n%s", q, r.body)
			}
		}
	})
	t.Run("hostile names", func(t *testing.T) {
		r := suggest(user, "app-<script>")
		got := texts(r, `[data-testid="suggest-chart"]`)
		if len(got) != 1 || got[0] != "app-"+hostileText {
			t.Errorf("hostile chart: got %v", got)
		}
		if h := hrefs(r, `[data-testid="suggest-chart"]`); len(h) != 1 || h[0] != "/charts/"+url.PathEscape("app-"+hostileText) {
			t.Errorf("hostile chart link: got %v", h)
		}
		if got := texts(r, `[data-testid="suggest-image"]`); len(got) != 1 || got[0] != "ghcr.io/evil/app-"+hostileText {
			t.Errorf("hostile image: got %v", got)
		}
		if !strings.Contains(r.body, "&lt;script&gt;") {
			t.Errorf("want the name escaped in\n%s", r.body)
		}
		// LIKE wildcards are plain characters.
		if got := texts(suggest(user, "%"), `[data-testid="suggest-chart"]`); len(got) != 0 {
			t.Errorf("%%: got %v", got)
		}
	})
}

func TestSearchPage(t *testing.T) {
	e := newEnv(t).withUsers()
	seedSearch(e)
	user := e.client().mustLogin(userEmail)
	admin := e.client().mustLogin(adminEmail)

	r := user.get("/search?q=app")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "<html") {
		t.Fatalf("full page: got %d\n%s", r.StatusCode, r.body)
	}
	d := r.doc(t)
	if v := d.Find(`[data-testid="search-form"] input[name="q"]`).AttrOr("value", ""); v != "app" {
		t.Errorf("search box value: got %q", v)
	}
	if d.Find(`[data-testid="search-hint"] code`).Length() < 4 {
		t.Errorf("prefix hint missing")
	}
	if n := d.Find(`[data-testid="result-chart"]`).Length(); n != 10 {
		t.Errorf("charts: got %d rows, want the cap of 10", n)
	}
	if got := strings.Join(strings.Fields(d.Find(`[data-testid="search-charts-count"]`).Text()), " "); got != "10 of 11" {
		t.Errorf("charts count: got %q, want 10 of 11 (app-1 to app-10 and the hostile one)", got)
	}
	for sel, want := range map[string]string{
		`[data-testid="see-all-charts"]`: "/charts?q=app",
		`[data-testid="see-all-images"]`: "/images?q=app",
	} {
		if got := d.Find(sel).AttrOr("href", ""); got != want {
			t.Errorf("%s: got %q, want %q", sel, got, want)
		}
	}
	if d.Find(`[data-testid="section-repos"]`).Length() != 1 || d.Find(`[data-testid="see-all-repos"]`).Length() != 0 {
		t.Errorf("repositories section: want it present and empty (no word starts with app)")
	}
	if strings.Contains(r.body, "<script>alert") {
		t.Errorf("unescaped hostile text")
	}

	// Repositories: total counted, link to the list with the same query.
	d = user.get("/search?q=" + url.QueryEscape("home ops")).doc(t)
	if got := strings.Join(strings.Fields(d.Find(`[data-testid="search-repos-count"]`).Text()), " "); got != "10" {
		t.Errorf("repos count: got %q, want 10 (blocked and deleted left out)", got)
	}
	if got := d.Find(`[data-testid="see-all-repos"]`).AttrOr("href", ""); got != "/repositories?q=home+ops" {
		t.Errorf("see all repos: got %q", got)
	}
	d = admin.get("/search?q=" + url.QueryEscape("repo home")).doc(t)
	if d.Find(`[data-testid="result-repo"] .badge`).Length() != 1 || d.Find(`[data-testid="section-charts"]`).Length() != 0 {
		t.Errorf("superuser repo search: want the blocked badge and no chart section")
	}
	if got := d.Find(`[data-testid="search-everywhere"]`).AttrOr("href", ""); got != "/search?q=home" {
		t.Errorf("search everywhere: got %q", got)
	}

	// htmx from the page's own form swaps the results only.
	r = user.get("/search?q=nginx", "HX-Request", "true", "HX-Target", "search-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="search-results"`) || !strings.Contains(r.body, `data-testid="result-image"`) {
		t.Errorf("htmx results partial: got\n%s", r.body)
	}

	// Empty and hopeless searches say why there is nothing.
	if d := user.get("/search").doc(t); d.Find(`[data-testid="search-empty"]`).Length() != 1 {
		t.Errorf("empty query: want the prompt")
	}
	if d := user.get("/search?q=zzzz-nothing").doc(t); d.Find(`[data-testid="search-nothing"]`).Length() != 1 {
		t.Errorf("no match: want the notice")
	}
}

// A deleted or blocked repository, and the charts and images only it uses, leave search and
// its suggestions with the very next request: nothing serves what it found a moment ago.
func TestSearchForgetsDeletedAndBlockedAtOnce(t *testing.T) {
	e := newEnv(t, withToken, public).withUsers()
	repo := e.withSyncRepo()
	admin := e.client().mustLogin(adminEmail)
	admin.htmxPost("/repositories/owner1/home-ops/sync")
	admin.pollSync(t, "/repositories/owner1/home-ops")
	anon := e.client()
	found := func(path, sel string) int {
		t.Helper()
		r := anon.get(path)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, r.StatusCode)
		}
		return r.doc(t).Find(sel).Length()
	}
	check := func(when string, want int) {
		t.Helper()
		for _, tc := range []struct{ path, sel string }{
			{"/search?q=home-ops", `[data-testid="search-results"] a[href="/repositories/owner1/home-ops"]`},
			{"/search/suggest?q=home", `[data-testid="suggest-repo"]`},
			{"/search/suggest?q=postgres", `[data-testid="suggest-chart"]`},
			{"/search/suggest?q=example/web", `[data-testid="suggest-image"]`},
		} {
			if n := found(tc.path, tc.sel); n != want {
				t.Errorf("%s: %s: %d hits, want %d", when, tc.path, n, want)
			}
		}
	}
	check("synced", 1)
	ctx := context.Background()
	if err := e.store.ApplyRepoAction(ctx, repo.ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	check("blocked", 0)
	if err := e.store.ApplyRepoAction(ctx, repo.ID, store.ActionUnblock); err != nil {
		t.Fatal(err)
	}
	check("unblocked", 1)
	if err := e.store.ApplyRepoAction(ctx, repo.ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	check("deleted", 0)
}

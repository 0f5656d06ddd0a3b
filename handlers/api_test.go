package handlers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

// The API's field subsets the tests read.
type (
	tRepo struct {
		FullName string `json:"full_name"`
		Stars    int    `json:"stars"`
		Status   string `json:"status"`
		Counts   struct {
			Objects, Charts, Images, Deprecations, Errors int
		} `json:"counts"`
	}
	tChart struct {
		Name     string `json:"name"`
		Repos    int    `json:"repos"`
		Releases int    `json:"releases"`
	}
	tChartDetail struct {
		tChart
		Versions []struct {
			Version string `json:"version"`
			Repos   int    `json:"repos"`
		} `json:"versions"`
		Repositories listOf[struct {
			FullName string `json:"full_name"`
			Version  string `json:"version"`
			File     string `json:"file"`
		}] `json:"repositories"`
	}
	tImage struct {
		Name    string `json:"name"`
		Repos   int    `json:"repos"`
		Usages  int    `json:"usages"`
		Tags    int    `json:"tags"`
		Pinning struct {
			Tag, Digest, Latest int
		} `json:"pinning"`
	}
	tImageDetail struct {
		tImage
		TopTags []struct {
			Tag   string `json:"tag"`
			Repos int    `json:"repos"`
		} `json:"top_tags"`
		Repositories listOf[struct {
			FullName string `json:"full_name"`
		}] `json:"repositories"`
	}
	tDep struct {
		APIVersion string `json:"api_version"`
		Kind       string `json:"kind"`
		Repos      int    `json:"repos"`
		Objects    int    `json:"objects"`
	}
	tEco struct {
		LatestDay *string `json:"latest_day"`
		Series    []struct {
			Day                               string
			Repos                             int64
			ScannedRepos                      int64 `json:"scanned_repos"`
			Resources                         int64
			Created, Modified, Moved, Deleted int64
		} `json:"series"`
		Breakdown map[string][]struct {
			Key     string
			Repos   int64
			Objects int64
		} `json:"breakdown"`
	}
)

// getJSON calls the API with the token and decodes a 200 answer into v.
func getJSON(t *testing.T, c *client, path, token string, v any) {
	t.Helper()
	r := c.api("GET", path, token)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%.600s", path, r.StatusCode, r.body)
	}
	decode(t, r, v)
}

// TestAPIValuesMatchPages: for the same fixtures, every number the API gives is the one the
// corresponding page shows.
func TestAPIValuesMatchPages(t *testing.T) {
	repos := commFixture()
	ce := newAPIEnv(t, repos)
	c := ce.client().mustLogin(userEmail)
	tok := ce.token(userEmail)

	t.Run("repositories", func(t *testing.T) {
		for _, q := range []string{"", "?sort=name", "?q=comm2", "?language=Go&sort=forks", "?status=success"} {
			var api listOf[tRepo]
			getJSON(t, c, "/api/v1/repositories"+q, tok, &api)
			d := c.page(t, "/repositories"+q)
			if n := num(d.Find(`[data-testid="repo-total"]`)); n != api.Count {
				t.Errorf("%s: page total %d, API count %d", q, n, api.Count)
			}
			var page, got []string
			d.Find(`[data-testid="repo-row"]`).Each(func(_ int, s *goquery.Selection) {
				page = append(page, strings.TrimSpace(s.Find("td a").First().Text()))
			})
			for _, r := range api.Data {
				got = append(got, r.FullName)
			}
			if !slices.Equal(page, got) {
				t.Errorf("%s: page lists %v, API %v", q, page, got)
			}
		}
		var all listOf[tRepo]
		getJSON(t, c, "/api/v1/repositories", tok, &all)
		if all.Count != len(repos) || len(all.Data) != len(repos) || all.Data[0].FullName != "comm1/home-ops" {
			t.Fatalf("repositories: %d of %d, first %+v; want all %d by stars", len(all.Data), all.Count, all.Data[0], len(repos))
		}
	})

	t.Run("repository", func(t *testing.T) {
		for _, r := range repos {
			var api struct{ Data tRepo }
			getJSON(t, c, "/api/v1/repositories/"+r.owner+"/home-ops", tok, &api)
			d := c.page(t, "/repositories/"+r.owner+"/home-ops")
			for id, n := range map[string]int{"count-charts": api.Data.Counts.Charts, "count-images": api.Data.Counts.Images,
				"count-deprecations": api.Data.Counts.Deprecations, "count-objects": api.Data.Counts.Objects} {
				if g := num(d.Find(`[data-testid="` + id + `"]`)); g != n {
					t.Errorf("%s: page %s %d, API %d", r.owner, id, g, n)
				}
			}
			if api.Data.Counts.Charts != len(r.releases) || api.Data.Stars != r.stars {
				t.Errorf("%s: API charts %d stars %d, fixture %d and %d", r.owner, api.Data.Counts.Charts, api.Data.Stars, len(r.releases), r.stars)
			}
			// The sub-lists hold as many rows as the page's tables.
			for sub, id := range map[string]string{"charts": "chart-row", "images": "image-row", "deprecations": "deprecation-row"} {
				var l listOf[map[string]any]
				getJSON(t, c, "/api/v1/repositories/"+r.owner+"/home-ops/"+sub, tok, &l)
				if n := d.Find(`[data-testid="` + id + `"]`).Length(); n != l.Count || len(l.Data) != n {
					t.Errorf("%s %s: page %d rows, API %d of %d", r.owner, sub, n, len(l.Data), l.Count)
				}
			}
		}
	})

	want := expect(repos)
	t.Run("charts", func(t *testing.T) {
		var api listOf[tChart]
		getJSON(t, c, "/api/v1/charts", tok, &api)
		d := c.page(t, "/charts")
		if n := num(d.Find(`[data-testid="chart-total"]`)); n != api.Count || api.Count != len(want.charts) {
			t.Errorf("charts: page total %d, API %d, fixture %d", n, api.Count, len(want.charts))
		}
		for _, ch := range api.Data {
			w := want.charts[ch.Name]
			if ch.Repos != w.repos || ch.Releases != w.releases {
				t.Errorf("chart %s: API %d repos %d releases, want %d and %d", ch.Name, ch.Repos, ch.Releases, w.repos, w.releases)
			}
			var det struct{ Data tChartDetail }
			getJSON(t, c, "/api/v1/charts/"+url.PathEscape(ch.Name), tok, &det)
			p := c.page(t, "/charts/"+url.PathEscape(ch.Name))
			if n := num(p.Find(`[data-testid="stat-repos"]`)); n != det.Data.Repos {
				t.Errorf("chart %s: page %d repositories, API %d", ch.Name, n, det.Data.Repos)
			}
			if n := num(p.Find(`[data-testid="stat-releases"]`)); n != det.Data.Releases {
				t.Errorf("chart %s: page %d releases, API %d", ch.Name, n, det.Data.Releases)
			}
			pageVersions, apiVersions := map[string]int{}, map[string]int{}
			p.Find(`[data-testid="version-row"]`).Each(func(_ int, row *goquery.Selection) {
				pageVersions[strings.TrimSpace(row.Find(`[data-testid="version"]`).Text())] = num(row.Find(`[data-testid="version-repos"]`))
			})
			for _, v := range det.Data.Versions {
				apiVersions[v.Version] = v.Repos
			}
			if !maps.Equal(pageVersions, apiVersions) || !maps.Equal(apiVersions, w.versions) {
				t.Errorf("chart %s versions: page %v, API %v, fixture %v", ch.Name, pageVersions, apiVersions, w.versions)
			}
			if n := num(p.Find(`[data-testid="chart-repo-total"]`)); n != det.Data.Repositories.Count || len(det.Data.Repositories.Data) != n {
				t.Errorf("chart %s: page lists %d repositories, API %d of %d", ch.Name, n, len(det.Data.Repositories.Data), det.Data.Repositories.Count)
			}
			for _, r := range det.Data.Repositories.Data {
				if r.Version == "" || !strings.HasSuffix(r.File, "helmrelease.yaml") {
					t.Errorf("chart %s: repository %+v lacks version or file", ch.Name, r)
				}
			}
		}
	})

	t.Run("images", func(t *testing.T) {
		var api listOf[tImage]
		getJSON(t, c, "/api/v1/images", tok, &api)
		d := c.page(t, "/images")
		if n := num(d.Find(`[data-testid="image-total"]`)); n != api.Count || api.Count != len(want.images) {
			t.Errorf("images: page total %d, API %d, fixture %d", n, api.Count, len(want.images))
		}
		for _, m := range api.Data {
			w := want.images[m.Name]
			if m.Repos != w.repos || m.Usages != w.usages || m.Tags != w.distinctTags() ||
				m.Pinning.Tag != w.tagOnly || m.Pinning.Digest != w.digest || m.Pinning.Latest != w.latest {
				t.Errorf("image %s: API %+v, fixture %+v", m.Name, m, w)
			}
			var det struct{ Data tImageDetail }
			getJSON(t, c, "/api/v1/images/"+m.Name, tok, &det)
			p := c.page(t, "/images/"+m.Name)
			for id, n := range map[string]int{"card-repos": det.Data.Repos, "card-usages": det.Data.Usages, "card-tags": det.Data.Tags} {
				if g := num(p.Find(`[data-testid="` + id + `"] .stat-value`)); g != n {
					t.Errorf("image %s: page %s %d, API %d", m.Name, id, g, n)
				}
			}
			pageTags, apiTags := map[string]int{}, map[string]int{}
			p.Find(`[data-testid="tag-row"]`).Each(func(_ int, row *goquery.Selection) {
				tag := strings.TrimSpace(row.Find(`[data-testid="tag-link"]`).Text())
				if tag == "(no tag: latest)" {
					tag = ""
				}
				pageTags[tag] = num(row.Find(`[data-testid="tag-repos"]`))
			})
			for _, tg := range det.Data.TopTags {
				apiTags[tg.Tag] = tg.Repos
			}
			if !maps.Equal(pageTags, apiTags) || !maps.Equal(apiTags, w.tags) {
				t.Errorf("image %s tags: page %v, API %v, fixture %v", m.Name, pageTags, apiTags, w.tags)
			}
			if n := num(p.Find(`[data-testid="usage-total"]`)); n != det.Data.Repositories.Count || n != len(det.Data.Repositories.Data) {
				t.Errorf("image %s: page %d usages, API %d of %d", m.Name, n, len(det.Data.Repositories.Data), det.Data.Repositories.Count)
			}
		}
	})

	t.Run("deprecations", func(t *testing.T) {
		var api listOf[tDep]
		getJSON(t, c, "/api/v1/deprecations", tok, &api)
		d := c.page(t, "/deprecations")
		if n := num(d.Find(`[data-testid="dep-total"]`)); n != api.Count {
			t.Errorf("deprecations: page total %d, API %d", n, api.Count)
		}
		page, got := map[string]commDep{}, map[string]commDep{}
		d.Find(`[data-testid="dep-row"]`).Each(func(_ int, row *goquery.Selection) {
			page[squash(row.Find(`[data-testid="dep-link"]`).Text())] = commDep{
				repos: num(row.Find(`[data-testid="dep-repos"]`)), objects: num(row.Find(`[data-testid="dep-objects"]`))}
		})
		for _, x := range api.Data {
			got[x.APIVersion+" "+x.Kind] = commDep{repos: x.Repos, objects: x.Objects}
		}
		if !maps.Equal(page, got) || !maps.Equal(got, want.deps) {
			t.Errorf("deprecations: page %v, API %v, fixture %v", page, got, want.deps)
		}
	})

	t.Run("ecosystem", func(t *testing.T) {
		for _, days := range []int{7, 30} {
			var api struct{ Data tEco }
			q := fmt.Sprintf("?days=%d", days)
			getJSON(t, c, "/api/v1/ecosystem"+q, tok, &api)
			e := api.Data
			if len(e.Series) == 0 || e.LatestDay == nil {
				t.Fatalf("ecosystem%s: no series after aggregate: %+v", q, e)
			}
			d := c.page(t, "/ecosystem"+q)
			latest := e.Series[len(e.Series)-1]
			if s := strings.TrimSpace(d.Find(`[data-testid="eco-latest-day"]`).Text()); !strings.Contains(s, *e.LatestDay) && !strings.Contains(*e.LatestDay, s) {
				t.Errorf("ecosystem%s: page latest day %q, API %q", q, s, *e.LatestDay)
			}
			var created int64
			for _, s := range e.Series {
				created += s.Created
			}
			for id, n := range map[string]int64{"eco-repos": latest.Repos, "eco-scanned": latest.ScannedRepos,
				"eco-resources": latest.Resources, "eco-created": created} {
				if g := num(d.Find(`[data-testid="` + id + `"]`)); int64(g) != n {
					t.Errorf("ecosystem%s: page %s %d, API %d", q, id, g, n)
				}
			}
			if latest.Repos != int64(len(repos)) {
				t.Errorf("ecosystem: %d repositories on the latest day, want %d", latest.Repos, len(repos))
			}
			for _, dim := range []string{"language", "kind"} {
				page := map[string]int{}
				d.Find(`[data-testid="eco-` + dim + `-row"]`).Each(func(_ int, row *goquery.Selection) {
					page[strings.TrimSpace(row.Find(`[data-testid="eco-key"]`).Text())] = num(row.Find(`[data-testid="eco-key-repos"]`))
				})
				got := map[string]int{}
				for _, r := range e.Breakdown[dim] {
					got[r.Key] = int(r.Repos)
				}
				if len(got) == 0 || !maps.Equal(page, got) {
					t.Errorf("ecosystem %s breakdown: page %v, API %v", dim, page, got)
				}
			}
		}
	})
}

// TestAPIPagingAndFilters: the envelope pages as documented, and each list's filters narrow it.
func TestAPIPagingAndFilters(t *testing.T) {
	repos := commFixture()
	ce := newAPIEnv(t, repos)
	c := ce.client()
	tok := ce.token(userEmail)

	var all listOf[tRepo]
	getJSON(t, c, "/api/v1/repositories?sort=name", tok, &all)
	if all.Page != 1 || all.PerPage != 50 || all.Count != 6 {
		t.Fatalf("defaults: page %d per_page %d count %d; want 1, 50, 6", all.Page, all.PerPage, all.Count)
	}
	var names []string
	for p := 1; p <= 3; p++ {
		var l listOf[tRepo]
		getJSON(t, c, fmt.Sprintf("/api/v1/repositories?sort=name&per_page=2&page=%d", p), tok, &l)
		if l.Count != 6 || l.Page != p || l.PerPage != 2 || len(l.Data) != 2 {
			t.Fatalf("page %d: %d items, count %d, page %d, per_page %d", p, len(l.Data), l.Count, l.Page, l.PerPage)
		}
		for _, r := range l.Data {
			names = append(names, r.FullName)
		}
	}
	var allNames []string
	for _, r := range all.Data {
		allNames = append(allNames, r.FullName)
	}
	if !slices.Equal(names, allNames) {
		t.Errorf("pages of 2: %v, want %v", names, allNames)
	}
	var past listOf[tRepo]
	getJSON(t, c, "/api/v1/repositories?page=9", tok, &past)
	if past.Count != 6 || past.Data == nil || len(past.Data) != 0 {
		t.Errorf("past the end: %+v; want no items, count 6", past)
	}
	if r := c.api("GET", "/api/v1/repositories?page=9", tok); !strings.Contains(r.body, `"data":[]`) {
		t.Errorf("past the end: data is not an empty array: %s", r.body)
	}
	var big listOf[tRepo]
	getJSON(t, c, "/api/v1/repositories?per_page=500", tok, &big)
	if len(big.Data) != 6 || big.PerPage != 500 {
		t.Errorf("per_page=500: %d items, per_page %d", len(big.Data), big.PerPage)
	}
	for _, q := range []string{"per_page=501", "per_page=0", "page=0", "page=x", "sort=size", "status=sleeping", "archived=maybe"} {
		r := c.api("GET", "/api/v1/repositories?"+q, tok)
		if r.StatusCode != http.StatusBadRequest || errCode(t, r) != "bad_request" {
			t.Errorf("%s: status %d %s; want 400 bad_request", q, r.StatusCode, r.body)
		}
	}
	// A sub-list the store returns whole pages the same way.
	var res1, res2 listOf[struct{ Kind, Name string }]
	getJSON(t, c, "/api/v1/repositories/comm1/home-ops/resources?per_page=1", tok, &res1)
	getJSON(t, c, "/api/v1/repositories/comm1/home-ops/resources?per_page=1&page=2", tok, &res2)
	if len(res1.Data) != 1 || len(res2.Data) != 1 || res1.Data[0] == res2.Data[0] || res1.Count < 2 {
		t.Errorf("resource pages: %+v then %+v", res1, res2)
	}

	filters := []struct {
		path string
		want int
	}{
		{"/api/v1/repositories?q=comm3", 1},
		{"/api/v1/repositories?language=Go", 6},
		{"/api/v1/repositories?language=Rust", 0},
		{"/api/v1/repositories?archived=yes", 0},
		{"/api/v1/charts?q=cert", 1},
		{"/api/v1/images?registry=docker.io", 2},
		{"/api/v1/images?pinning=digest", 1},
		{"/api/v1/images?q=sonarr", 1},
		{"/api/v1/deprecations?project=flux", 1},
		{"/api/v1/deprecations?project=kubernetes&status=removed", 1},
		{"/api/v1/repositories/comm1/home-ops/resources?kind=HelmRelease", 3},
		{"/api/v1/repositories/comm1/home-ops/resources?kind=Deployment&namespace=db", 1},
		{"/api/v1/repositories/comm1/home-ops/resources?namespace=nowhere", 0},
		{"/api/v1/repositories/comm1/home-ops/events?type=deleted", 0},
		{"/api/v1/repositories/comm1/home-ops/events?since=2999-01-01", 0},
		{"/api/v1/repositories/comm1/home-ops/metrics?since=2999-01-01T00:00:00Z", 0},
		{"/api/v1/repositories/comm1/home-ops/metrics", 1},
		{"/api/v1/charts/app-template?per_page=2", 5},
		{"/api/v1/images/docker.io/library/redis?tag=7.2", 3},
	}
	for _, f := range filters {
		var l struct {
			listOf[map[string]any]
			Data any
		}
		r := c.api("GET", f.path, tok)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d %s", f.path, r.StatusCode, r.body)
			continue
		}
		// Detail routes page their repositories inside data.
		if strings.Contains(f.path, "/charts/") || strings.Contains(f.path, "/images/") {
			var d struct {
				Data struct{ Repositories listOf[map[string]any] }
			}
			decode(t, r, &d)
			if d.Data.Repositories.Count != f.want {
				t.Errorf("%s: %d repositories, want %d", f.path, d.Data.Repositories.Count, f.want)
			}
			continue
		}
		decode(t, r, &l.listOf)
		if l.Count != f.want {
			t.Errorf("%s: count %d, want %d", f.path, l.Count, f.want)
		}
	}
	var events listOf[struct {
		Type        string  `json:"type"`
		CommittedAt *string `json:"committed_at"`
	}]
	getJSON(t, c, "/api/v1/repositories/comm1/home-ops/events?since=2000-01-01", tok, &events)
	var evAll listOf[map[string]any]
	getJSON(t, c, "/api/v1/repositories/comm1/home-ops/events", tok, &evAll)
	if events.Count == 0 || events.Count != evAll.Count {
		t.Errorf("events since 2000: %d, all: %d", events.Count, evAll.Count)
	}

	var content listOf[struct {
		Kind    string         `json:"kind"`
		Content map[string]any `json:"content"`
	}]
	getJSON(t, c, "/api/v1/repositories/comm1/home-ops/resources?kind=HelmRelease&content=1", tok, &content)
	for _, r := range content.Data {
		if r.Content["kind"] != "HelmRelease" {
			t.Errorf("content=1: object %v, want the HelmRelease", r.Content)
		}
	}
	if r := c.api("GET", "/api/v1/repositories/comm1/home-ops/resources", tok); strings.Contains(r.body, `"content"`) {
		t.Error("resources without content=1 carry content")
	}
}

// TestAPIErrorsAndVisibility: unknown objects are 404 not_found in the error envelope; a
// deleted repository is hidden from everyone but superusers, as on the pages.
func TestAPIErrorsAndVisibility(t *testing.T) {
	ce := newAPIEnv(t, commFixture()[:2])
	c := ce.client()
	user, admin := ce.token(userEmail), ce.token(adminEmail)
	for _, p := range []string{"/api/v1/repositories/nobody/nothing", "/api/v1/repositories/nobody/nothing/charts",
		"/api/v1/charts/nothing", "/api/v1/images/docker.io/nothing", "/api/v1/nothing"} {
		r := c.api("GET", p, user)
		if r.StatusCode != http.StatusNotFound || errCode(t, r) != "not_found" {
			t.Errorf("%s: %d %s; want 404 not_found", p, r.StatusCode, r.body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: content type %q", p, ct)
		}
	}
	ctx := context.Background()
	r, err := ce.store.GetRepositoryByName(ctx, "comm2", "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := ce.store.ApplyRepoAction(ctx, r.ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", "/charts", "/resources", "/events", "/metrics"} {
		p := "/api/v1/repositories/comm2/home-ops" + sub
		if res := c.api("GET", p, user); res.StatusCode != http.StatusNotFound {
			t.Errorf("deleted %s for a user: %d, want 404", p, res.StatusCode)
		}
		if res := c.api("GET", p, admin); res.StatusCode != http.StatusOK {
			t.Errorf("deleted %s for a superuser: %d, want 200", p, res.StatusCode)
		}
	}
	var l listOf[tRepo]
	getJSON(t, c, "/api/v1/repositories", user, &l)
	if l.Count != 1 {
		t.Errorf("list without the deleted repository: %d, want 1", l.Count)
	}
	var one struct{ Data tRepo }
	getJSON(t, c, "/api/v1/repositories/comm2/home-ops", admin, &one)
	if one.Data.Status != "deleted" {
		t.Errorf("status of the deleted repository: %q", one.Data.Status)
	}
}

// TestAPIAuth: who may read and write, on a login-required and on a public site.
func TestAPIAuth(t *testing.T) {
	ce := newAPIEnv(t, commFixture()[:1])
	ctx := context.Background()
	anon := ce.client()
	session := ce.client().mustLogin(userEmail)
	tok := ce.token(userEmail)
	revoked, rt, err := ce.store.CreateToken(ctx, ce.user.ID, "to revoke")
	if err != nil {
		t.Fatal(err)
	}
	if err := ce.store.RevokeToken(ctx, ce.user.ID, rt.ID); err != nil {
		t.Fatal(err)
	}
	const list = "/api/v1/repositories"
	if r := anon.api("GET", list, ""); r.StatusCode != http.StatusUnauthorized || errCode(t, r) != "unauthorized" {
		t.Errorf("anonymous: %d %s; want 401", r.StatusCode, r.body)
	}
	if r := anon.api("GET", list, tok); r.StatusCode != http.StatusOK {
		t.Errorf("token: %d", r.StatusCode)
	}
	if r := anon.api("GET", list, revoked); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", r.StatusCode)
	}
	if r := session.api("GET", list, ""); r.StatusCode != http.StatusOK {
		t.Errorf("session: %d", r.StatusCode)
	}
	if r := anon.api("GET", "/api/v1/openapi.json", ""); r.StatusCode != http.StatusOK {
		t.Errorf("openapi.json anonymous: %d, want 200", r.StatusCode)
	}
	if r := anon.api("GET", "/api/v1/jobs", tok); r.StatusCode != http.StatusForbidden || errCode(t, r) != "forbidden" {
		t.Errorf("jobs for a plain user: %d %s", r.StatusCode, r.body)
	}
	if r := anon.api("GET", "/api/v1/jobs", ce.token(adminEmail)); r.StatusCode != http.StatusOK {
		t.Errorf("jobs for a superuser: %d", r.StatusCode)
	}

	// Writing: a session needs the CSRF token; a token does not.
	ce.github.SetDelay(300 * 1e6)
	const sync = "/api/v1/repositories/comm1/home-ops/sync"
	if r := session.api("POST", sync, ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("session without CSRF: %d %s; want 403", r.StatusCode, r.body)
	}
	if r := anon.api("POST", sync, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous sync: %d, want 401", r.StatusCode)
	}
	// The head is scanned: a plain user's token is heard, and told there is nothing new.
	if r := anon.api("POST", sync, tok); r.StatusCode != http.StatusConflict || errCode(t, r) != "up_to_date" {
		t.Fatalf("token sync of a scanned head: %d %s; want 409 up_to_date", r.StatusCode, r.body)
	}
	r := anon.api("POST", sync+"?rescan=true", ce.token(adminEmail))
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("superuser token rescan: %d %s; want 202", r.StatusCode, r.body)
	}
	var q struct {
		Data struct {
			StatusURL string `json:"status_url"`
		}
	}
	decode(t, r, &q)
	if q.Data.StatusURL != "/api/v1/repositories/comm1/home-ops" || r.Header.Get("Location") != q.Data.StatusURL {
		t.Errorf("status url %q, Location %q", q.Data.StatusURL, r.Header.Get("Location"))
	}
	if r := session.api("POST", sync, "", "X-CSRF-Token", session.csrfToken()); r.StatusCode != http.StatusConflict || errCode(t, r) != "already_syncing" {
		t.Errorf("session with CSRF while queued: %d %s; want 409 already_syncing", r.StatusCode, r.body)
	}
	var status struct {
		Data struct {
			Sync struct{ Queued bool } `json:"sync"`
		}
	}
	getJSON(t, anon, "/api/v1/repositories/comm1/home-ops", tok, &status)
	if !status.Data.Sync.Queued {
		t.Error("status URL does not show the queued sync")
	}

	t.Run("public", func(t *testing.T) {
		pe := newAPIEnv(t, commFixture()[:1], func(c *handlers.Config) { c.Public = true })
		anon := pe.client()
		for _, p := range []string{list, "/api/v1/charts", "/api/v1/repositories/comm1/home-ops"} {
			if r := anon.api("GET", p, ""); r.StatusCode != http.StatusOK {
				t.Errorf("public %s anonymous: %d, want 200", p, r.StatusCode)
			}
		}
		if r := anon.api("POST", sync, ""); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("public anonymous sync: %d, want 401", r.StatusCode)
		}
		if r := anon.api("GET", "/api/v1/jobs", ""); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("public anonymous jobs: %d, want 401", r.StatusCode)
		}
		if r := anon.get("/api"); r.StatusCode != http.StatusOK {
			t.Errorf("public API page: %d", r.StatusCode)
		}
	})
}

// TestAPIETagAndGzip: ETags are strong hashes of the uncompressed body, and bodies from 1 KiB
// are gzipped for clients that accept it.
func TestAPIETagAndGzip(t *testing.T) {
	ce := newAPIEnv(t, commFixture())
	c := ce.client()
	tok := ce.token(userEmail)
	const p = "/api/v1/repositories"
	// identity: Go's client would otherwise ask for gzip itself and hide that it got it.
	plain := c.api("GET", p, tok, "Accept-Encoding", "identity")
	tag := plain.Header.Get("ETag")
	if plain.StatusCode != 200 || !strings.HasPrefix(tag, `"`) || plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain: %d, ETag %q, encoding %q", plain.StatusCode, tag, plain.Header.Get("Content-Encoding"))
	}
	if cc := plain.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	zipped := c.api("GET", p, tok, "Accept-Encoding", "gzip")
	if zipped.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip requested: encoding %q, Vary %q", zipped.Header.Get("Content-Encoding"), zipped.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped.body))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !bytes.Equal(body, []byte(plain.body)) || zipped.Header.Get("ETag") != tag {
		t.Errorf("gzipped body differs or ETag %q != %q", zipped.Header.Get("ETag"), tag)
	}
	for _, inm := range []string{tag, `"other", ` + tag, "W/" + tag, "*"} {
		r := c.api("GET", p, tok, "If-None-Match", inm, "Accept-Encoding", "gzip")
		if r.StatusCode != http.StatusNotModified || r.body != "" || r.Header.Get("ETag") != tag {
			t.Errorf("If-None-Match %s: %d, body %d bytes, ETag %q", inm, r.StatusCode, len(r.body), r.Header.Get("ETag"))
		}
	}
	if r := c.api("GET", p, tok, "If-None-Match", `"stale"`, "Accept-Encoding", "identity"); r.StatusCode != http.StatusOK || r.body != plain.body {
		t.Errorf("stale If-None-Match: %d", r.StatusCode)
	}
	if r := c.api("GET", p+"?q=comm2", tok); r.Header.Get("ETag") == tag {
		t.Error("a different body has the same ETag")
	}
	// Small answers stay uncompressed.
	small := c.api("GET", "/api/v1/repositories/comm1/home-ops/errors", tok, "Accept-Encoding", "gzip")
	// And the routes without the answer cache gzip too, through Echo's middleware.
	if r := c.api("GET", "/api/v1/repositories/comm1/home-ops/resources", tok, "Accept-Encoding", "gzip"); r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("ETag") == "" {
		t.Errorf("resources: encoding %q, ETag %q", r.Header.Get("Content-Encoding"), r.Header.Get("ETag"))
	}
	if small.StatusCode != 200 || len(small.body) >= 1024 || small.Header.Get("Content-Encoding") != "" {
		t.Errorf("small answer: %d, %d bytes, encoding %q", small.StatusCode, len(small.body), small.Header.Get("Content-Encoding"))
	}
	// Errors carry no ETag.
	if r := c.api("GET", "/api/v1/repositories/x/y", tok); r.Header.Get("ETag") != "" {
		t.Error("a 404 has an ETag")
	}
}

// TestAPIPage: the human-readable page lists every operation of the document with an example
// and is linked from every page's footer.
func TestAPIPage(t *testing.T) {
	e := newEnv(t).withUsers()
	anon := e.client()
	if r := anon.get("/api"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("anonymous on a login-required site: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	user := e.client().mustLogin(userEmail)
	d := user.page(t, "/api")
	doc := loadOpenAPI(t)
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	routes := d.Find(`[data-testid="api-route"]`)
	if routes.Length() != ops {
		t.Errorf("page shows %d routes, the document has %d operations", routes.Length(), ops)
	}
	titles := routes.Find(`[data-testid="api-route-title"]`).Text()
	for _, want := range []string{"GET /api/v1/repositories/{owner}/{name}/resources", "POST /api/v1/repositories/{owner}/{name}/sync", "GET /api/v1/jobs"} {
		if !strings.Contains(titles, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	curls := d.Find(`[data-testid="api-curl"]`).Text()
	if !strings.Contains(curls, `-H "Authorization: Bearer $KUBESTATS_TOKEN"`) || !strings.Contains(curls, "curl -X POST") {
		t.Errorf("examples: %.300s", curls)
	}
	if d.Find(`[data-testid="api-param"]`).Length() == 0 {
		t.Error("no parameters shown")
	}
	if href, _ := d.Find(`[data-testid="openapi-link"]`).Attr("href"); href != "/api/v1/openapi.json" {
		t.Errorf("document link %q", href)
	}
	if href, _ := user.page(t, "/").Find(`[data-testid="footer-api"]`).Attr("href"); href != "/api" {
		t.Errorf("footer API link %q", href)
	}
}

// TestAPICachedAnswersConcurrent: many clients at once on a cached route, some asking for gzip,
// all get the same complete answer (run with -race).
func TestAPICachedAnswersConcurrent(t *testing.T) {
	ce := newAPIEnv(t, commFixture()[:3])
	tok := ce.token(userEmail)
	want := ce.client().api("GET", "/api/v1/repositories", tok)
	// A change of the data (one that leaves the list alone) ends the cached answer: the
	// clients below race to rebuild it.
	r, err := ce.store.GetRepositoryByName(context.Background(), "comm1", "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := ce.store.ApplyRepoAction(context.Background(), r.ID, store.ActionApprove); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				req, _ := http.NewRequest("GET", ce.srv.URL+"/api/v1/repositories", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				gz := (i+j)%2 == 0
				req.Header.Set("Accept-Encoding", "identity")
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				var body io.Reader = res.Body
				if (res.Header.Get("Content-Encoding") == "gzip") != gz {
					errs <- fmt.Sprintf("asked for gzip %v, got encoding %q", gz, res.Header.Get("Content-Encoding"))
					return
				}
				if gz {
					if body, err = gzip.NewReader(res.Body); err != nil {
						errs <- err.Error()
						return
					}
				}
				b, _ := io.ReadAll(body)
				res.Body.Close()
				if res.StatusCode != 200 || string(b) != want.body || res.Header.Get("ETag") != want.Header.Get("ETag") {
					errs <- fmt.Sprintf("status %d, %d bytes, ETag %q", res.StatusCode, len(b), res.Header.Get("ETag"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

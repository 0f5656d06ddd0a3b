package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
)

// The community fixture: repositories described as data. The files published in the fake GitHub are
// rendered from this description, and the expected numbers of every view are counted from it too,
// never through scan/ or store/.

type commRelease struct {
	name, ns, chart, version string
	image                    string // full image reference set in the release's values; "" for none
	beta                     bool   // written as helm.toolkit.fluxcd.io/v2beta1 (deprecated)
}

type commWorkload struct {
	name, ns string
	image    string // full reference, as written in the Deployment
}

type commRepo struct {
	owner    string
	stars    int
	releases []commRelease
	work     []commWorkload
	pdb      bool // a policy/v1beta1 PodDisruptionBudget (removed in Kubernetes 1.25)
}

const (
	sonarr401       = "ghcr.io/home-operations/sonarr:4.0.1"
	sonarr401Digest = "ghcr.io/home-operations/sonarr:4.0.1@sha256:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sonarr402       = "ghcr.io/home-operations/sonarr:4.0.2"
	radarr500       = "ghcr.io/home-operations/radarr:5.0.0"
	plex141         = "ghcr.io/home-operations/plex:1.41.0"
	redis72         = "docker.io/library/redis:7.2"
	redis74         = "docker.io/library/redis:7.4"
	busyboxLatest   = "docker.io/library/busybox"
)

// commFixture is six repositories with overlapping apps: app-template (OCI, chartRef) at three
// versions, one repository running it at two; cert-manager and grafana from classic HelmRepositories;
// images by tag, by tag and digest, and unpinned; deprecated HelmRelease v2beta1 and PDB v1beta1.
func commFixture() []commRepo {
	return []commRepo{
		{owner: "comm1", stars: 60, releases: []commRelease{
			{name: "sonarr", ns: "media", chart: "app-template", version: "4.4.0", image: sonarr401},
			{name: "radarr", ns: "media", chart: "app-template", version: "4.4.0", image: radarr500},
			{name: "cert-manager", ns: "cert-manager", chart: "cert-manager", version: "v1.16.2"},
		}, work: []commWorkload{{name: "redis", ns: "db", image: redis72}}},
		{owner: "comm2", stars: 50, releases: []commRelease{
			{name: "sonarr", ns: "media", chart: "app-template", version: "4.4.0", image: sonarr401Digest},
			{name: "cert-manager", ns: "cert-manager", chart: "cert-manager", version: "v1.15.0"},
		}, work: []commWorkload{{name: "tools", ns: "default", image: busyboxLatest}}},
		{owner: "comm3", stars: 40, releases: []commRelease{
			{name: "radarr", ns: "media", chart: "app-template", version: "4.3.0", image: radarr500},
			{name: "grafana", ns: "observability", chart: "grafana", version: "8.0.0"},
		}, work: []commWorkload{{name: "redis", ns: "db", image: redis74}}, pdb: true},
		{owner: "comm4", stars: 30, releases: []commRelease{
			{name: "sonarr", ns: "media", chart: "app-template", version: "3.7.0", image: sonarr402},
			{name: "cert-manager", ns: "cert-manager", chart: "cert-manager", version: "v1.16.2"},
		}},
		{owner: "comm5", stars: 20, releases: []commRelease{
			{name: "cert-manager", ns: "cert-manager", chart: "cert-manager", version: "v1.16.2"},
			{name: "grafana", ns: "observability", chart: "grafana", version: "7.0.0", beta: true},
		}, work: []commWorkload{{name: "cache", ns: "db", image: redis72}, {name: "queue", ns: "db", image: redis72}}, pdb: true},
		{owner: "comm6", stars: 10, releases: []commRelease{
			{name: "plex", ns: "media", chart: "app-template", version: "4.4.0", image: plex141},
			{name: "jellyfin", ns: "media", chart: "app-template", version: "4.3.0"},
		}},
	}
}

// splitRef splits a full reference as written into name, tag and digest.
func splitRef(ref string) (name, tag, digest string) {
	rest, digest, _ := strings.Cut(ref, "@")
	name = rest
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		name, tag = rest[:i], rest[i+1:]
	}
	return name, tag, digest
}

const commSources = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: jetstack
  namespace: flux-system
spec:
  url: https://charts.jetstack.io
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: grafana
  namespace: flux-system
spec:
  url: https://grafana.github.io/helm-charts
`

// files renders the repository's tree.
func (r commRepo) files() map[string]string {
	files := map[string]string{"README.md": "# " + r.owner + "\n", "kubernetes/flux/repositories.yaml": commSources}
	for _, rel := range r.releases {
		dir := "kubernetes/apps/" + rel.ns + "/" + rel.name + "/app/"
		api := "helm.toolkit.fluxcd.io/v2"
		if rel.beta {
			api = "helm.toolkit.fluxcd.io/v2beta1"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: %s\nkind: HelmRelease\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  interval: 1h\n", api, rel.name, rel.ns)
		if rel.chart == "app-template" {
			fmt.Fprintf(&b, "  chartRef:\n    kind: OCIRepository\n    name: %s\n", rel.name)
			files[dir+"ocirepository.yaml"] = fmt.Sprintf("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  interval: 15m\n  url: oci://ghcr.io/bjw-s-labs/helm/app-template\n  ref:\n    tag: %s\n", rel.name, rel.ns, rel.version)
		} else {
			source := map[string]string{"cert-manager": "jetstack", "grafana": "grafana"}[rel.chart]
			fmt.Fprintf(&b, "  chart:\n    spec:\n      chart: %s\n      version: %s\n      sourceRef:\n        kind: HelmRepository\n        name: %s\n        namespace: flux-system\n", rel.chart, rel.version, source)
		}
		if rel.image != "" {
			name, tag, digest := splitRef(rel.image)
			if digest != "" {
				tag += "@" + digest
			}
			fmt.Fprintf(&b, "  values:\n    controllers:\n      %s:\n        containers:\n          app:\n            image:\n              repository: %s\n              tag: %q\n", rel.name, name, tag)
		}
		files[dir+"helmrelease.yaml"] = b.String()
	}
	for _, w := range r.work {
		files["kubernetes/apps/"+w.ns+"/"+w.name+"/deployment.yaml"] = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: %s\n", w.name, w.ns, w.image)
	}
	if r.pdb {
		files["kubernetes/apps/default/pdb.yaml"] = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n  namespace: default\nspec:\n  minAvailable: 1\n"
	}
	return files
}

// images lists every image reference of the repository, values and pods.
func (r commRepo) images() []string {
	var out []string
	for _, rel := range r.releases {
		if rel.image != "" {
			out = append(out, rel.image)
		}
	}
	for _, w := range r.work {
		out = append(out, w.image)
	}
	return out
}

// commChart is what the charts views should say about one chart.
type commChart struct {
	repos, releases int
	versions        map[string]int // version → repositories
}

// commImage is what the images views should say about one image (registry/repository).
type commImage struct {
	repos, usages, tagOnly, digest, latest int
	tags                                   map[string]int // tag → repositories ("" = untagged, latest)
}

// distinctTags is the "Tags" figure: distinct tags, an untagged reference having none.
func (m commImage) distinctTags() int {
	n := len(m.tags)
	if _, ok := m.tags[""]; ok {
		n--
	}
	return n
}

type commDep struct{ repos, objects int }

type commExpect struct {
	charts map[string]commChart
	images map[string]commImage
	deps   map[string]commDep // "apiVersion Kind"
}

// expect counts the fixture, leaving out the hidden (blocked) owners.
func expect(repos []commRepo, hidden ...string) commExpect {
	type set = map[string]bool
	chartRepos, chartVersions, imageRepos, imageTags := map[string]set{}, map[string]map[string]set{}, map[string]set{}, map[string]map[string]set{}
	ex := commExpect{charts: map[string]commChart{}, images: map[string]commImage{}, deps: map[string]commDep{}}
	depRepos := map[string]set{}
	add := func(m map[string]set, k, v string) {
		if m[k] == nil {
			m[k] = set{}
		}
		m[k][v] = true
	}
	for _, r := range repos {
		if slices.Contains(hidden, r.owner) {
			continue
		}
		for _, rel := range r.releases {
			add(chartRepos, rel.chart, r.owner)
			if chartVersions[rel.chart] == nil {
				chartVersions[rel.chart] = map[string]set{}
			}
			add(chartVersions[rel.chart], rel.version, r.owner)
			c := ex.charts[rel.chart]
			c.releases++
			ex.charts[rel.chart] = c
			if rel.beta {
				add(depRepos, "helm.toolkit.fluxcd.io/v2beta1 HelmRelease", r.owner)
				d := ex.deps["helm.toolkit.fluxcd.io/v2beta1 HelmRelease"]
				d.objects++
				ex.deps["helm.toolkit.fluxcd.io/v2beta1 HelmRelease"] = d
			}
		}
		if r.pdb {
			add(depRepos, "policy/v1beta1 PodDisruptionBudget", r.owner)
			d := ex.deps["policy/v1beta1 PodDisruptionBudget"]
			d.objects++
			ex.deps["policy/v1beta1 PodDisruptionBudget"] = d
		}
		for _, ref := range r.images() {
			name, tag, digest := splitRef(ref)
			add(imageRepos, name, r.owner)
			if imageTags[name] == nil {
				imageTags[name] = map[string]set{}
			}
			add(imageTags[name], tag, r.owner)
			m := ex.images[name]
			m.usages++
			switch {
			case digest != "":
				m.digest++
			case tag != "":
				m.tagOnly++
			default:
				m.latest++
			}
			ex.images[name] = m
		}
	}
	for name, c := range ex.charts {
		c.repos, c.versions = len(chartRepos[name]), map[string]int{}
		for v, s := range chartVersions[name] {
			c.versions[v] = len(s)
		}
		ex.charts[name] = c
	}
	for name, m := range ex.images {
		m.repos, m.tags = len(imageRepos[name]), map[string]int{}
		for tag, s := range imageTags[name] {
			m.tags[tag] = len(s)
		}
		ex.images[name] = m
	}
	for k, d := range ex.deps {
		d.repos = len(depRepos[k])
		ex.deps[k] = d
	}
	return ex
}

// commEnv is the app over a database filled by real syncs from the fake GitHub.
type commEnv struct {
	*env
	runner *jobs.Runner
	clock  *atomic.Int64 // offset of the app's clock, to expire the chart caches
	ids    map[string]string
}

func newCommEnv(t *testing.T, repos []commRepo) *commEnv {
	t.Helper()
	clock := &atomic.Int64{}
	e := newEnv(t, withToken, func(c *handlers.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }
	}).withUsers()
	gh := githubql.New(githubql.Options{Token: e.github.Token(), GraphQLURL: e.github.GraphQLURL(), APIURL: e.github.APIURL()})
	runner := jobs.New(e.store, gh, jobs.Config{Topics: []string{"k8s-at-home"}, MaxRepoSizeMB: 100, SyncConcurrency: 3},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(runner.Close)
	ce := &commEnv{env: e, runner: runner, clock: clock, ids: map[string]string{}}
	pushed := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	for i, r := range repos {
		gr := githubtest.Repo{DatabaseID: int64(7000 + i), Owner: r.owner, Name: "home-ops", Topics: []string{"k8s-at-home"},
			DefaultBranch: "main", HeadOID: fmt.Sprintf("%040x", 0xc0ffee00+i), CreatedAt: pushed.Add(-time.Hour), PushedAt: pushed,
			Stars: r.stars, DiskUsageKB: 100, Files: r.files()}
		e.github.AddRepos(gr)
		ce.ids[r.owner] = ghID(e.github, r.owner)
	}
	ce.run("discover", "refresh")
	if c := ce.run("sync"); c["synced"] != len(repos) || c["failed"] != 0 {
		t.Fatalf("sync: %v, want %d synced", c, len(repos))
	}
	return ce
}

func ghID(s *githubtest.Server, owner string) string {
	for _, r := range s.Repos() {
		if r.Owner == owner {
			return r.ID
		}
	}
	return ""
}

func (ce *commEnv) run(names ...string) jobs.Counts {
	ce.t.Helper()
	var c jobs.Counts
	for _, n := range names {
		var err error
		if c, err = ce.runner.Run(context.Background(), n, "test"); err != nil {
			ce.t.Fatalf("run %s: %v (%v)", n, err, c)
		}
	}
	return c
}

// later moves the app's clock past the chart caches' lifetime.
func (ce *commEnv) later() { ce.clock.Add(int64(5 * time.Minute)) }

var numRE = regexp.MustCompile(`-?\d+`)

// num reads the first integer of the selection's text; -1 when there is none.
func num(s *goquery.Selection) int {
	m := numRE.FindString(s.Text())
	if m == "" {
		return -1
	}
	n, _ := strconv.Atoi(m)
	return n
}

// inParens reads "67% (2)" as 2.
func inParens(s *goquery.Selection) int {
	t := s.Text()
	if i := strings.LastIndex(t, "("); i >= 0 {
		t = t[i:]
	}
	m := numRE.FindString(t)
	n, _ := strconv.Atoi(m)
	return n
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func (c *client) page(t *testing.T, path string) *goquery.Document {
	t.Helper()
	r := c.get(path)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%.1500s", path, r.StatusCode, r.body)
	}
	return r.doc(t)
}

// checkCharts compares /charts and every chart's page with want.
func checkCharts(t *testing.T, c *client, want map[string]commChart) {
	t.Helper()
	d := c.page(t, "/charts")
	if n := num(d.Find(`[data-testid="chart-total"]`)); n != len(want) {
		t.Errorf("/charts total %d, want %d", n, len(want))
	}
	got := map[string]commChart{}
	var order []int
	d.Find(`[data-testid="chart-row"]`).Each(func(_ int, row *goquery.Selection) {
		name := strings.TrimSpace(row.Find(`[data-testid="chart-link"]`).Text())
		got[name] = commChart{repos: num(row.Find(`[data-testid="chart-repos"]`)), releases: num(row.Find(`[data-testid="chart-releases"]`))}
		order = append(order, got[name].repos)
	})
	if !slices.IsSortedFunc(order, func(a, b int) int { return b - a }) {
		t.Errorf("/charts is not sorted by repositories: %v", order)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g.repos != w.repos || g.releases != w.releases {
			t.Errorf("/charts %s: repos %d releases %d, want %d and %d (listed %v)", name, g.repos, g.releases, w.repos, w.releases, ok)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("/charts lists %s, which no visible repository uses", name)
		}
	}
	for name, w := range want {
		d := c.page(t, "/charts/"+url.PathEscape(name))
		if s := strings.TrimSpace(d.Find(`[data-testid="chart-name"]`).Text()); s != name {
			t.Errorf("/charts/%s heading %q", name, s)
		}
		if n := num(d.Find(`[data-testid="stat-repos"]`)); n != w.repos {
			t.Errorf("/charts/%s: %d repositories, want %d", name, n, w.repos)
		}
		if n := num(d.Find(`[data-testid="stat-releases"]`)); n != w.releases {
			t.Errorf("/charts/%s: %d releases, want %d", name, n, w.releases)
		}
		versions := map[string]int{}
		d.Find(`[data-testid="version-row"]`).Each(func(_ int, row *goquery.Selection) {
			versions[strings.TrimSpace(row.Find(`[data-testid="version"]`).Text())] = num(row.Find(`[data-testid="version-repos"]`))
		})
		if !maps.Equal(versions, w.versions) {
			t.Errorf("/charts/%s versions (repositories per version) %v, want %v", name, versions, w.versions)
		}
		if n := num(d.Find(`[data-testid="chart-repo-total"]`)); n != w.repos {
			t.Errorf("/charts/%s repository list total %d, want %d", name, n, w.repos)
		}
		if n := d.Find(`[data-testid="chart-repo-row"]`).Length(); n != w.repos {
			t.Errorf("/charts/%s lists %d repositories, want %d", name, n, w.repos)
		}
	}
}

// checkImages compares /images and every image's page with want.
func checkImages(t *testing.T, c *client, want map[string]commImage) {
	t.Helper()
	d := c.page(t, "/images")
	if n := num(d.Find(`[data-testid="image-total"]`)); n != len(want) {
		t.Errorf("/images total %d, want %d", n, len(want))
	}
	got := map[string]commImage{}
	d.Find(`[data-testid="image-row"]`).Each(func(_ int, row *goquery.Selection) {
		name := strings.TrimSpace(row.Find(`[data-testid="image-link"]`).Text())
		got[name] = commImage{
			repos: num(row.Find(`[data-testid="image-repos"]`)), usages: num(row.Find(`[data-testid="image-usages"]`)),
			tagOnly: inParens(row.Find(`[data-testid="pin-tag"]`)), digest: inParens(row.Find(`[data-testid="pin-digest"]`)),
			latest: inParens(row.Find(`[data-testid="pin-latest"]`)), tags: map[string]int{"": num(row.Find(`[data-testid="image-tags"]`))},
		}
	})
	for name, w := range want {
		g, ok := got[name]
		if !ok || g.repos != w.repos || g.usages != w.usages || g.tags[""] != w.distinctTags() ||
			g.tagOnly != w.tagOnly || g.digest != w.digest || g.latest != w.latest {
			t.Errorf("/images %s: repos %d usages %d tags %d pins tag/digest/latest %d/%d/%d; want %d %d %d %d/%d/%d (listed %v)",
				name, g.repos, g.usages, g.tags[""], g.tagOnly, g.digest, g.latest,
				w.repos, w.usages, w.distinctTags(), w.tagOnly, w.digest, w.latest, ok)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("/images lists %s, which no visible repository uses", name)
		}
	}
	for name, w := range want {
		registry, repository, _ := strings.Cut(name, "/")
		p := "/images/" + registry + "/" + repository
		d := c.page(t, p)
		if s := squash(d.Find(`[data-testid="image-name"]`).Text()); s != name {
			t.Errorf("%s heading %q", p, s)
		}
		for id, n := range map[string]int{"card-repos": w.repos, "card-usages": w.usages, "card-tags": w.distinctTags()} {
			if g := num(d.Find(`[data-testid="` + id + `"] .stat-value`)); g != n {
				t.Errorf("%s %s = %d, want %d", p, id, g, n)
			}
		}
		tags := map[string]int{}
		d.Find(`[data-testid="tag-row"]`).Each(func(_ int, row *goquery.Selection) {
			tag := strings.TrimSpace(row.Find(`[data-testid="tag-link"]`).Text())
			if tag == "(no tag: latest)" {
				tag = ""
			}
			tags[tag] = num(row.Find(`[data-testid="tag-repos"]`))
		})
		if !maps.Equal(tags, w.tags) {
			t.Errorf("%s tags (repositories per tag) %v, want %v", p, tags, w.tags)
		}
		if n := num(d.Find(`[data-testid="usage-total"]`)); n != w.usages {
			t.Errorf("%s usage total %d, want %d", p, n, w.usages)
		}
		if n := d.Find(`[data-testid="usage-row"]`).Length(); n != w.usages {
			t.Errorf("%s lists %d usages, want %d", p, n, w.usages)
		}
	}
}

// checkDeprecations compares /deprecations and each API's drill-down with want.
func checkDeprecations(t *testing.T, c *client, want map[string]commDep) {
	t.Helper()
	d := c.page(t, "/deprecations")
	if n := num(d.Find(`[data-testid="dep-total"]`)); n != len(want) {
		t.Errorf("/deprecations total %d, want %d", n, len(want))
	}
	got := map[string]commDep{}
	d.Find(`[data-testid="dep-row"]`).Each(func(_ int, row *goquery.Selection) {
		got[squash(row.Find(`[data-testid="dep-link"]`).Text())] = commDep{
			repos: num(row.Find(`[data-testid="dep-repos"]`)), objects: num(row.Find(`[data-testid="dep-objects"]`))}
	})
	if !maps.Equal(got, want) {
		t.Errorf("/deprecations %v, want %v", got, want)
	}
	for k, w := range want {
		api, kind, _ := strings.Cut(k, " ")
		p := "/deprecations?" + url.Values{"api": {api}, "kind": {kind}}.Encode()
		d := c.page(t, p)
		if s, want := squash(d.Find(`[data-testid="dep-api-counts"]`).Text()), fmt.Sprintf("%d repositories, %d objects", w.repos, w.objects); s != want {
			t.Errorf("%s counts %q, want %q", p, s, want)
		}
		if n := d.Find(`[data-testid="dep-repo-row"]`).Length(); n != w.repos {
			t.Errorf("%s lists %d repositories, want %d", p, n, w.repos)
		}
	}
}

// checkRepo compares a repository page's scan counts and tables with the fixture.
func checkRepo(t *testing.T, c *client, r commRepo) {
	t.Helper()
	p := "/repositories/" + r.owner + "/home-ops"
	d := c.page(t, p)
	deps := 0
	for _, rel := range r.releases {
		if rel.beta {
			deps++
		}
	}
	if r.pdb {
		deps++
	}
	for id, n := range map[string]int{"count-charts": len(r.releases), "count-images": len(r.images()), "count-deprecations": deps} {
		if g := num(d.Find(`[data-testid="` + id + `"]`)); g != n {
			t.Errorf("%s %s = %d, want %d", p, id, g, n)
		}
	}
	for id, n := range map[string]int{"chart-row": len(r.releases), "image-row": len(r.images()), "deprecation-row": deps} {
		if g := d.Find(`[data-testid="` + id + `"]`).Length(); g != n {
			t.Errorf("%s has %d %s, want %d", p, g, id, n)
		}
	}
	charts := map[string]int{}
	for _, rel := range r.releases {
		charts[rel.chart+" "+rel.version]++
	}
	gotCharts := map[string]int{}
	d.Find(`[data-testid="chart-row"]`).Each(func(_ int, row *goquery.Selection) {
		cells := row.Find("td")
		gotCharts[strings.TrimSpace(cells.Eq(0).Find("strong").Text())+" "+strings.TrimSpace(cells.Eq(1).Text())]++
	})
	if !maps.Equal(gotCharts, charts) {
		t.Errorf("%s charts %v, want %v", p, gotCharts, charts)
	}
}

// TestCommunityViewsMatchFixtures: on a database filled by real syncs through the fake GitHub,
// the charts, images, deprecations and repository views show the numbers counted from the
// fixture's own description; a re-sync moves a version, blocking a repository removes its usages.
func TestCommunityViewsMatchFixtures(t *testing.T) {
	repos := commFixture()
	ce := newCommEnv(t, repos)
	user := ce.client().mustLogin(userEmail)

	want := expect(repos)
	// The fixture itself is what the test claims it is: guard the counts against edits.
	if at := want.charts["app-template"]; at.repos != 5 || at.releases != 7 || !maps.Equal(at.versions, map[string]int{"4.4.0": 3, "4.3.0": 2, "3.7.0": 1}) {
		t.Fatalf("fixture: app-template %+v", at)
	}
	checkCharts(t, user, want.charts)
	checkImages(t, user, want.images)
	checkDeprecations(t, user, want.deps)
	for _, r := range repos {
		checkRepo(t, user, r)
	}
	if t.Failed() {
		return
	}

	// comm4 upgrades app-template from 3.7.0 to 4.4.0: a new commit, refreshed and synced.
	t.Run("resync moves the version", func(t *testing.T) {
		repos[3].releases[0].version = "4.4.0"
		ce.github.UpdateRepo(ce.ids["comm4"], func(r *githubtest.Repo) {
			r.Files = repos[3].files()
			r.HeadOID = fmt.Sprintf("%040x", 0xbeef)
			r.PushedAt = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			r.HeadCommittedAt = r.PushedAt
		})
		ce.run("refresh")
		if c := ce.run("sync"); c["synced"] != 1 {
			t.Fatalf("second sync: %v, want 1 synced", c)
		}
		ce.later()
		want := expect(repos)
		if v := want.charts["app-template"].versions; !maps.Equal(v, map[string]int{"4.4.0": 4, "4.3.0": 2}) {
			t.Fatalf("fixture after upgrade: %v", v)
		}
		checkCharts(t, user, want.charts)
		checkRepo(t, user, repos[3])
	})

	// A superuser blocks comm1: its last scan stays stored but counts nowhere.
	t.Run("blocked repository counts nowhere", func(t *testing.T) {
		admin := ce.client().mustLogin(adminEmail)
		if r := admin.post("/repositories/comm1/home-ops/block", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("block: status %d\n%.500s", r.StatusCode, r.body)
		}
		ce.later()
		want := expect(repos, "comm1")
		if at := want.charts["app-template"]; at.repos != 4 || at.releases != 5 {
			t.Fatalf("fixture after block: %+v", at)
		}
		checkCharts(t, user, want.charts)
		checkImages(t, user, want.images)
		checkDeprecations(t, user, want.deps)
	})
}

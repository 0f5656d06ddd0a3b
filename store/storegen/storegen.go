// Package storegen fills a database with a year of synthetic community data for load tests
// and benchmarks: repositories with their metrics history, scanned resources, chart and image
// usages, deprecations and resource events. It is test tooling, never product data.
//
// Everything goes through the real store methods (UpsertDiscovered, ApplyRefresh, BeginSync,
// ApplyScan), driven by a clock the generator moves day by day, so the rows are exactly what
// the app would have written. The output is deterministic for a seed.
package storegen

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// Options size the generated data. Zero values pick the production-scale defaults.
type Options struct {
	Repos            int       // repositories (5,000)
	ResourcesPerRepo int       // average objects per repository (100); each repo has 30%–170% of it
	Days             int       // days of history before Now (365)
	MetricsEvery     int       // a metrics refresh of every repo each this many days (1: daily)
	PushesPerRepo    int       // average later pushes per repository over the history (8)
	Seed             int64     // same seed, same database
	Now              time.Time // end of the history; the clock starts Days before it
	// Progress, when set, is called after each simulated day with the day number and Days.
	Progress func(day, days int)
}

func (o Options) withDefaults() Options {
	if o.Repos <= 0 {
		o.Repos = 5000
	}
	if o.ResourcesPerRepo <= 0 {
		o.ResourcesPerRepo = 100
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	if o.MetricsEvery <= 0 {
		o.MetricsEvery = 1
	}
	if o.PushesPerRepo <= 0 {
		o.PushesPerRepo = 8
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	o.Now = o.Now.UTC()
	return o
}

// Start is when the history begins: the time the store's clock must show when Fill starts.
func (o Options) Start() time.Time {
	o = o.withDefaults()
	return o.Now.AddDate(0, 0, -o.Days)
}

// Stats counts what Fill wrote. Resources, usages and deprecations are the final state;
// events, metric rows and scans count every write over the history.
type Stats struct {
	Repos        int
	Resources    int
	ChartUsages  int
	ImageUsages  int
	Deprecations int
	Events       int
	MetricRows   int
	Scans        int // applied scans: one initial per repo plus the later pushes
	Duration     time.Duration
}

func (s Stats) String() string {
	return fmt.Sprintf("repos=%d resources=%d charts=%d images=%d deprecations=%d events=%d metrics=%d scans=%d in %s",
		s.Repos, s.Resources, s.ChartUsages, s.ImageUsages, s.Deprecations, s.Events, s.MetricRows, s.Scans,
		s.Duration.Round(time.Millisecond))
}

// Clock is the time source the store was opened with; Fill moves it forward through the history.
// *storetest.Clock is one.
type Clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// Open opens (creating) a store at path whose clock stands at opts.Start(), ready for Fill.
func Open(ctx context.Context, path, schema string, opts Options) (*store.Store, *storetest.Clock, error) {
	clock := storetest.NewClock(opts.Start())
	p := storetest.FastPasswords
	s, err := store.Open(ctx, store.Options{Path: path, Schema: schema, Now: clock.Now, PasswordParams: &p})
	if err != nil {
		return nil, nil, err
	}
	return s, clock, nil
}

// Fill writes the history into s, which must be empty and opened with clock (see Open). The
// clock must stand at or before opts.Start(); Fill leaves it at opts.Now.
func Fill(ctx context.Context, s *store.Store, clock Clock, opts Options) (Stats, error) {
	opts = opts.withDefaults()
	began := time.Now()
	start := opts.Start()
	now := clock.Now()
	if now.After(start) {
		return Stats{}, fmt.Errorf("storegen: clock at %s is after the history's start %s", now, start)
	}
	clock.Advance(start.Sub(now))
	g := newGen(opts)
	var st Stats
	st.Repos = len(g.repos)

	// Day 0: discovery in search-page-sized batches, then the first scan of every repo.
	for b := 0; b < len(g.repos); b += 100 {
		batch := make([]store.RepoData, 0, 100)
		for _, r := range g.repos[b:min(b+100, len(g.repos))] {
			batch = append(batch, g.repoData(r, 0))
		}
		res, err := s.UpsertDiscovered(ctx, "k8s-at-home", batch, 0)
		if err != nil {
			return st, err
		}
		if res.Created != len(batch) {
			return st, errors.New("storegen: the store is not empty")
		}
		st.MetricRows += res.Snapshots
	}
	for _, r := range g.repos {
		got, err := s.GetRepositoryByName(ctx, r.data.Owner, r.data.Name)
		if err != nil {
			return st, err
		}
		r.id = got.ID
		n, err := g.sync(ctx, s, r, *r.data.HeadCommittedAt)
		if err != nil {
			return st, err
		}
		st.Events += n
		st.Scans++
	}

	// The year: a metrics refresh every MetricsEvery days (of every repo), and the day's pushes,
	// each seen by a refresh (new head) and then synced.
	pushes := g.pushDays()
	for day := 1; day <= opts.Days; day++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		clock.Advance(24 * time.Hour)
		dayStart := start.AddDate(0, 0, day)
		today := pushes[day]
		for _, r := range today {
			at := dayStart.Add(-time.Duration(1+g.rng.IntN(20*60)) * time.Minute)
			r.push(g, at)
		}
		var refresh []*repo
		if day%opts.MetricsEvery == 0 {
			refresh = g.repos
		} else {
			refresh = today
		}
		for b := 0; b < len(refresh); b += 500 {
			batch := make([]store.RepoData, 0, 500)
			for _, r := range refresh[b:min(b+500, len(refresh))] {
				batch = append(batch, g.repoData(r, day))
			}
			res, err := s.ApplyRefresh(ctx, batch, nil, 0)
			if err != nil {
				return st, err
			}
			st.MetricRows += res.Snapshots
		}
		for _, r := range today {
			n, err := g.sync(ctx, s, r, *r.data.HeadCommittedAt)
			if err != nil {
				return st, err
			}
			st.Events += n
			st.Scans++
		}
		if opts.Progress != nil {
			opts.Progress(day, opts.Days)
		}
	}
	for _, r := range g.repos {
		res := r.result(g)
		st.Resources += len(res.Objects)
		st.ChartUsages += len(res.Charts)
		st.ImageUsages += len(res.Images)
		st.Deprecations += len(res.Deprecations)
	}
	st.Duration = time.Since(began)
	return st, nil
}

// sync applies the repository's current tree as its head commit, like a sync pass would.
func (g *gen) sync(ctx context.Context, s *store.Store, r *repo, committed time.Time) (int, error) {
	t, err := s.BeginSync(ctx, r.id)
	if err != nil {
		return 0, err
	}
	res := r.result(g)
	applied, err := s.ApplyScan(ctx, r.id, store.ScanCommit{OID: t.HeadOID, CommittedAt: &committed,
		Duration: time.Duration(50+len(res.Objects)) * time.Millisecond, Result: res})
	if err != nil {
		return 0, err
	}
	r.stored = true
	return applied.Events(), nil
}

// ---- the model ----

type gen struct {
	opts   Options
	rng    *rand.Rand
	charts *rand.Zipf
	images *rand.Zipf
	repos  []*repo
}

type repo struct {
	idx    int
	id     int64
	data   store.RepoData
	argo   bool
	objs   []*object
	pushes int
	stored bool // the initial scan is in: later objects carry only new bodies
	// metrics: value at day 0 and growth over the history
	stars0, starsGain, forks0, forksGain, disk0 int
}

type object struct {
	file, apiVersion, group, kind, ns, name string
	rev                                     int
	shared                                  bool  // body identical across repos (Namespace, common HelmRepository)
	chart                                   int   // catalog index for HelmRelease/Application; -1 otherwise
	images                                  []int // catalog indexes of images it holds
	deprecated                              *deprecation
	sent                                    string // hash of the body the store has; "" when none yet
}

func newGen(opts Options) *gen {
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x6b75626573746174))
	g := &gen{opts: opts, rng: rng,
		charts: rand.NewZipf(rng, 1.25, 1, uint64(len(chartCatalog)-1)),
		images: rand.NewZipf(rng, 1.1, 4, uint64(len(imageCatalog)-1)),
	}
	start := opts.Start()
	for i := range opts.Repos {
		g.repos = append(g.repos, g.newRepo(i, start))
	}
	return g
}

var (
	ownerParts  = []string{"onedr0p", "bjw-s", "billimek", "xunholy", "toboshii", "jr0dd", "auricom", "budimanjojo", "szinn", "carpenike", "ahinko", "joryirving", "buroa", "haraldkoch", "mirceanton", "angelnu", "truxnell", "kashalls", "bo0tzz", "gavinmcfall"}
	repoNames   = []string{"home-ops", "home-ops", "home-ops", "k8s-gitops", "homelab", "home-cluster", "kubernetes", "cluster", "flux-cluster", "k3s-gitops", "homelab-gitops", "infra"}
	descParts   = []string{"My home Kubernetes cluster managed by Flux and Renovate", "Wife approved HomeOps driven by Kubernetes and GitOps", "Homelab running on Talos Linux with Flux", "GitOps repository for my k3s home cluster", "Home infrastructure as code with Argo CD", "Self-hosted services on Kubernetes"}
	languages   = []string{"Shell", "Shell", "HCL", "Go", "Python", "Nix", "Jinja", "Makefile", ""}
	topicSets   = [][]string{{"k8s-at-home", "flux", "gitops", "kubernetes"}, {"k8s-at-home", "kubesearch", "talos", "renovate"}, {"k8s-at-home", "argocd", "homelab"}, {"k8s-at-home", "home-automation", "flux", "homelab", "sops"}, {"k8s-at-home"}}
	licenses    = []string{"MIT", "Apache-2.0", "WTFPL", "", "GPL-3.0", "Unlicense"}
	namespaces  = []string{"default", "media", "home", "home-automation", "observability", "monitoring", "network", "networking", "database", "security", "storage", "kube-system", "cert-manager", "flux-system", "downloads", "tools", "games", "ai"}
	fillerKinds = []struct{ apiVersion, group, kind, file string }{
		{"v1", "", "ConfigMap", "configmap.yaml"},
		{"v1", "", "Secret", "secret.sops.yaml"},
		{"v1", "", "Service", "service.yaml"},
		{"v1", "", "PersistentVolumeClaim", "pvc.yaml"},
		{"external-secrets.io/v1", "external-secrets.io", "ExternalSecret", "externalsecret.yaml"},
		{"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io", "HTTPRoute", "httproute.yaml"},
		{"networking.k8s.io/v1", "networking.k8s.io", "Ingress", "ingress.yaml"},
		{"monitoring.coreos.com/v1", "monitoring.coreos.com", "ServiceMonitor", "servicemonitor.yaml"},
		{"monitoring.coreos.com/v1", "monitoring.coreos.com", "PrometheusRule", "prometheusrule.yaml"},
		{"cert-manager.io/v1", "cert-manager.io", "Certificate", "certificate.yaml"},
		{"volsync.backube/v1alpha1", "volsync.backube", "ReplicationSource", "replicationsource.yaml"},
		{"postgresql.cnpg.io/v1", "postgresql.cnpg.io", "Cluster", "cluster.yaml"},
		{"batch/v1", "batch", "CronJob", "cronjob.yaml"},
		{"rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io", "ClusterRoleBinding", "rbac.yaml"},
	}
)

type deprecation struct {
	apiVersion, fixed, kind, project, deprecatedIn, removedIn string
}

// deprecations are real entries of scan's table, with the kinds they apply to.
var deprecations = []deprecation{
	{"helm.toolkit.fluxcd.io/v2beta1", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux", "2.2", "2.7"},
	{"helm.toolkit.fluxcd.io/v2beta2", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux", "2.3", "2.8"},
	{"batch/v1beta1", "batch/v1", "CronJob", "kubernetes", "1.21", "1.25"},
	{"networking.k8s.io/v1beta1", "networking.k8s.io/v1", "Ingress", "kubernetes", "1.19", "1.22"},
}

func (g *gen) newRepo(i int, start time.Time) *repo {
	rng := g.rng
	owner := ownerParts[i%len(ownerParts)]
	if i >= len(ownerParts) {
		owner = fmt.Sprintf("%s-%d", owner, i/len(ownerParts))
	}
	name := repoNames[rng.IntN(len(repoNames))]
	created := start.AddDate(-1-rng.IntN(5), -rng.IntN(12), -rng.IntN(28))
	head := start.Add(-time.Duration(1+rng.IntN(30*24)) * time.Hour)
	// Stars follow a long tail: most repos have a handful, a few have thousands.
	stars := int(float64(rng.IntN(40)) / (0.02 + rng.Float64()*rng.Float64()))
	r := &repo{idx: i, argo: rng.IntN(10) == 0,
		stars0: stars, starsGain: stars/3 + rng.IntN(30), forks0: stars / 8, forksGain: stars/20 + rng.IntN(5),
		disk0: 200 + rng.IntN(20000)}
	r.data = store.RepoData{
		GitHubID: fmt.Sprintf("R_gen%07d", i), DatabaseID: int64(100000 + i), Owner: owner, Name: name,
		Description:   descParts[rng.IntN(len(descParts))],
		URL:           "https://github.com/" + owner + "/" + name,
		Language:      languages[rng.IntN(len(languages))],
		Topics:        topicSets[rng.IntN(len(topicSets))],
		License:       licenses[rng.IntN(len(licenses))],
		DefaultBranch: "main",
		IsArchived:    rng.IntN(50) == 0,
		IsFork:        rng.IntN(20) == 0,
		CreatedAt:     &created, PushedAt: &head, UpdatedAt: &head,
		HeadOID: oid(i, 0), HeadCommittedAt: &head,
	}
	g.buildTree(r)
	return r
}

func oid(repo, push int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("commit %d %d", repo, push)))
	return hex.EncodeToString(sum[:20])
}

// repoData is what GitHub says about the repo on the given day.
func (g *gen) repoData(r *repo, day int) store.RepoData {
	d := r.data
	f := float64(day) / float64(g.opts.Days)
	d.Stars = r.stars0 + int(f*float64(r.starsGain))
	d.Forks = r.forks0 + int(f*float64(r.forksGain))
	d.Watchers = 1 + d.Stars/25
	d.OpenIssues = (r.idx*7 + day/5) % 6
	d.DiskUsageKB = r.disk0 + 40*r.pushes
	return d
}

// pushDays spreads every repo's later pushes over the history: active repos push often.
func (g *gen) pushDays() [][]*repo {
	days := make([][]*repo, g.opts.Days+1)
	for _, r := range g.repos {
		n := int(float64(g.opts.PushesPerRepo) * 2 * g.rng.Float64() * g.rng.Float64() * 2)
		for range n {
			d := 1 + g.rng.IntN(g.opts.Days)
			if !slices.Contains(days[d], r) {
				days[d] = append(days[d], r)
			}
		}
	}
	return days
}

// buildTree makes a repo's first tree: namespaces, the Flux (or Argo) bootstrap, its apps with
// their releases and workloads, and filler objects up to its size.
func (g *gen) buildTree(r *repo) {
	rng := g.rng
	want := max(12, int(float64(g.opts.ResourcesPerRepo)*(0.3+1.4*rng.Float64())))
	nCharts := max(1, int(float64(want)*0.06+rng.Float64()))
	nImages := max(1, int(float64(want)*0.12+rng.Float64()))
	nsCount := 3 + rng.IntN(6)
	nss := slices.Clone(namespaces)
	rng.Shuffle(len(nss), func(i, j int) { nss[i], nss[j] = nss[j], nss[i] })
	nss = nss[:nsCount]
	for _, ns := range nss {
		r.add(&object{file: "kubernetes/apps/" + ns + "/namespace.yaml", apiVersion: "v1", kind: "Namespace", name: ns, shared: true, chart: -1})
	}
	if r.argo {
		r.add(&object{file: "argocd/bootstrap/root.yaml", apiVersion: "argoproj.io/v1alpha1", group: "argoproj.io", kind: "Application", ns: "argocd", name: "root", chart: -1})
	} else {
		r.add(&object{file: "kubernetes/flux/config/flux.yaml", apiVersion: "source.toolkit.fluxcd.io/v1", group: "source.toolkit.fluxcd.io", kind: "GitRepository", ns: "flux-system", name: "flux-system", chart: -1})
		r.add(&object{file: "kubernetes/flux/config/cluster.yaml", apiVersion: "kustomize.toolkit.fluxcd.io/v1", group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization", ns: "flux-system", name: "cluster-apps", chart: -1})
	}
	dep := -1
	if rng.IntN(12) == 0 {
		dep = rng.IntN(len(deprecations))
	}
	sources := map[string]bool{}
	for c := 0; c < nCharts; c++ {
		ch := int(g.charts.Uint64())
		ns := nss[rng.IntN(len(nss))]
		var imgs []int
		if chartCatalog[ch].name == "app-template" && nImages > 0 {
			imgs = append(imgs, int(g.images.Uint64()))
			nImages--
		}
		app := r.addApp(g, ch, ns, imgs)
		if d := dep; d >= 0 && deprecations[d].kind == "HelmRelease" && !r.argo && rng.IntN(2) == 0 {
			app.deprecated = &deprecations[d]
			app.apiVersion = deprecations[d].apiVersion
		}
		src := chartCatalog[ch].source
		if !r.argo && !sources[src] {
			sources[src] = true
			kind := "HelmRepository"
			if strings.HasPrefix(chartCatalog[ch].url, "oci://") && src != "bitnami" {
				kind = "OCIRepository"
			}
			r.add(&object{file: "kubernetes/flux/repositories/" + src + ".yaml", apiVersion: "source.toolkit.fluxcd.io/v1",
				group: "source.toolkit.fluxcd.io", kind: kind, ns: "flux-system", name: src, shared: true, chart: -1})
		}
	}
	for nImages > 0 {
		n := min(nImages, 1+rng.IntN(2))
		nImages -= n
		var imgs []int
		for range n {
			imgs = append(imgs, int(g.images.Uint64()))
		}
		ns := nss[rng.IntN(len(nss))]
		kind := []string{"Deployment", "Deployment", "StatefulSet", "DaemonSet"}[rng.IntN(4)]
		name := r.uniqueName(imageCatalog[imgs[0]].app)
		r.add(&object{file: "kubernetes/apps/" + ns + "/" + name + "/app/" + strings.ToLower(kind) + ".yaml", apiVersion: "apps/v1",
			group: "apps", kind: kind, ns: ns, name: name, images: imgs, chart: -1})
	}
	for len(r.objs) < want {
		r.addFiller(g, nss[rng.IntN(len(nss))], dep)
	}
}

func (r *repo) add(o *object) { r.objs = append(r.objs, o) }

// uniqueName returns base, or base-N when the repo already has an object of that name.
func (r *repo) uniqueName(base string) string {
	name := base
	for n := 2; ; n++ {
		if !slices.ContainsFunc(r.objs, func(o *object) bool { return o.name == name }) {
			return name
		}
		name = base + "-" + strconv.Itoa(n)
	}
}

// addApp adds a release of chart ch (and for Flux its Kustomization) and returns the release.
func (r *repo) addApp(g *gen, ch int, ns string, imgs []int) *object {
	c := chartCatalog[ch]
	base := c.name
	if c.name == "app-template" {
		base = selfHosted[g.rng.IntN(len(selfHosted))]
	}
	name := r.uniqueName(base)
	if r.argo {
		o := &object{file: "argocd/apps/" + ns + "/" + name + ".yaml", apiVersion: "argoproj.io/v1alpha1", group: "argoproj.io",
			kind: "Application", ns: "argocd", name: name, chart: ch, images: imgs}
		r.add(o)
		return o
	}
	dir := "kubernetes/apps/" + ns + "/" + name
	o := &object{file: dir + "/app/helmrelease.yaml", apiVersion: "helm.toolkit.fluxcd.io/v2", group: "helm.toolkit.fluxcd.io",
		kind: "HelmRelease", ns: ns, name: name, chart: ch, images: imgs}
	r.add(o)
	r.add(&object{file: dir + "/ks.yaml", apiVersion: "kustomize.toolkit.fluxcd.io/v1", group: "kustomize.toolkit.fluxcd.io",
		kind: "Kustomization", ns: "flux-system", name: name, chart: -1})
	return o
}

func (r *repo) addFiller(g *gen, ns string, dep int) {
	f := fillerKinds[g.rng.IntN(len(fillerKinds))]
	name := r.uniqueName(selfHosted[g.rng.IntN(len(selfHosted))])
	if f.kind == "ClusterRoleBinding" {
		ns = ""
	}
	o := &object{file: "kubernetes/apps/" + cmp.Or(ns, "cluster") + "/" + name + "/app/" + f.file, apiVersion: f.apiVersion,
		group: f.group, kind: f.kind, ns: ns, name: name, chart: -1}
	if dep >= 0 && deprecations[dep].kind == f.kind && g.rng.IntN(2) == 0 {
		o.deprecated = &deprecations[dep]
		o.apiVersion = deprecations[dep].apiVersion
	}
	r.add(o)
}

// push changes a few objects like a commit would (mostly Renovate bumps, now and then an app
// added, removed or moved) and makes it the repo's new head.
func (r *repo) push(g *gen, at time.Time) {
	rng := g.rng
	r.pushes++
	for range 1 + rng.IntN(5) {
		switch p := rng.IntN(100); {
		case p < 70 || len(r.objs) < 15: // modify: a version bump
			o := r.objs[rng.IntN(len(r.objs))]
			o.rev++
			if o.deprecated != nil && rng.IntN(3) == 0 {
				o.apiVersion, o.deprecated = o.deprecated.fixed, nil
			}
		case p < 82: // create
			ns := r.objs[rng.IntN(len(r.objs))].ns
			if ns == "" || ns == "flux-system" || ns == "argocd" {
				ns = "default"
			}
			if rng.IntN(3) == 0 {
				ch := int(g.charts.Uint64())
				var imgs []int
				if chartCatalog[ch].name == "app-template" {
					imgs = []int{int(g.images.Uint64())}
				}
				r.addApp(g, ch, ns, imgs)
			} else {
				r.addFiller(g, ns, -1)
			}
		case p < 90: // delete something that is not bootstrap
			i := rng.IntN(len(r.objs))
			if k := r.objs[i].kind; k != "Namespace" && k != "GitRepository" && r.objs[i].name != "cluster-apps" && r.objs[i].name != "root" {
				r.objs = slices.Delete(r.objs, i, i+1)
			}
		default: // move: the same object to a reorganised directory
			o := r.objs[rng.IntN(len(r.objs))]
			if strings.HasPrefix(o.file, "kubernetes/apps/") {
				o.file = "kubernetes/main/apps/" + strings.TrimPrefix(o.file, "kubernetes/apps/")
			} else {
				o.file = "clusters/main/" + o.file
			}
		}
	}
	r.data.HeadOID = oid(r.idx, r.pushes)
	r.data.HeadCommittedAt = &at
	r.data.PushedAt = &at
	r.data.UpdatedAt = &at
}

// result is the repo's tree as a scan would report it. Bodies the store already has are left
// out (as a sync's streaming would), so only new or changed objects carry Content.
func (r *repo) result(g *gen) *scan.Result {
	res := &scan.Result{Files: len(r.objs), Documents: len(r.objs)}
	for _, o := range r.objs {
		body := o.body(r)
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		so := scan.Object{File: o.file, Line: 1, APIVersion: o.apiVersion, Group: o.group, Kind: o.kind,
			Namespace: o.ns, Name: o.name, Hash: h}
		if h != o.sent || !r.stored {
			so.Content = body
			o.sent = h
		}
		res.Bytes += int64(len(body)) + 40
		res.Objects = append(res.Objects, so)
		if o.chart >= 0 {
			res.Charts = append(res.Charts, o.chartUsage(r))
		}
		for k, img := range o.images {
			res.Images = append(res.Images, o.imageUsage(r, k, img))
		}
		if d := o.deprecated; d != nil {
			replacement := d.fixed
			res.Deprecations = append(res.Deprecations, scan.Deprecation{File: o.file, APIVersion: d.apiVersion, Kind: o.kind,
				Name: o.name, Namespace: o.ns, Project: d.project, DeprecatedIn: d.deprecatedIn, RemovedIn: d.removedIn, Replacement: replacement})
		}
	}
	return res
}

// body is the object's canonical JSON (sorted keys, no spaces), about 300–700 bytes.
func (o *object) body(r *repo) []byte {
	var b []byte
	b = fmt.Appendf(b, `{"apiVersion":%q,"kind":%q,"metadata":{"labels":{"app.kubernetes.io/name":%q},"name":%q`, o.apiVersion, o.kind, o.name, o.name)
	if o.ns != "" {
		b = fmt.Appendf(b, `,"namespace":%q`, o.ns)
	}
	b = append(b, `},"spec":{`...)
	if o.shared {
		b = fmt.Appendf(b, `"interval":"1h","url":"https://charts.example.org/%s"}}`, o.name)
		return b
	}
	switch {
	case o.chart >= 0:
		c := chartCatalog[o.chart]
		b = fmt.Appendf(b, `"chart":{"spec":{"chart":%q,"sourceRef":{"kind":"HelmRepository","name":%q,"namespace":"flux-system"},"version":%q}},`,
			c.name, c.source, o.version(r))
		b = fmt.Appendf(b, `"install":{"remediation":{"retries":3}},"interval":"30m","upgrade":{"cleanupOnFail":true,"remediation":{"retries":3,"strategy":"rollback"}},"values":%s}}`,
			o.values(r))
	case len(o.images) > 0:
		b = append(b, `"replicas":1,"selector":{"matchLabels":{"app":"`...)
		b = append(b, o.name...)
		b = append(b, `"}},"template":{"spec":{"containers":[`...)
		for k, img := range o.images {
			if k > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"image":%q,"name":"c%d","resources":{"limits":{"memory":"512Mi"},"requests":{"cpu":"10m"}}}`, o.imageRef(r, k, img).Image, k)
		}
		b = append(b, `]}}}}`...)
	default:
		b = fmt.Appendf(b, `"data":{"owner":"%s","revision":%d,"settings":"%s"}}}`, r.data.Owner, o.rev,
			strings.Repeat("x", 80+(len(o.name)*37+o.rev*11)%300))
	}
	return b
}

func (o *object) version(r *repo) string {
	c := chartCatalog[o.chart]
	minor := (r.idx*3+o.rev)%12 + o.rev
	return fmt.Sprintf("%d.%d.%d", c.major+(r.idx%5)/4, minor, (r.idx+o.rev*7)%5)
}

func (o *object) values(r *repo) string {
	c := chartCatalog[o.chart]
	switch {
	case c.name == "app-template":
		img := o.imageRef(r, 0, o.images[0])
		return fmt.Sprintf(`{"controllers":{%q:{"containers":{"app":{"env":{"TZ":"Europe/Amsterdam"},"image":{"repository":%q,"tag":%q}}}}},"persistence":{"config":{"existingClaim":%q}},"service":{"app":{"ports":{"http":{"port":%d}}}}}`,
			o.name, img.Registry+"/"+img.Repository, img.Tag, o.name, 8000+r.idx%1000)
	case r.idx%3 == 0:
		return `{"replicaCount":1}`
	default:
		return fmt.Sprintf(`{"fullnameOverride":%q,"replicaCount":%d,"resources":{"requests":{"cpu":"10m","memory":"64Mi"}}}`, o.name, 1+o.rev%2)
	}
}

func (o *object) chartUsage(r *repo) scan.Chart {
	c := chartCatalog[o.chart]
	u := scan.Chart{File: o.file, Kind: o.kind, Name: o.name, Namespace: o.ns, Chart: c.name, Version: o.version(r),
		Values: []byte(o.values(r)), ChartURL: strings.TrimSuffix(c.url, "/") + "/" + c.name, SourceURL: c.url}
	if r.argo {
		u.Tool, u.SourceKind = "argo", "helm"
		if strings.HasPrefix(c.url, "oci://") {
			u.SourceKind = "oci"
		}
		return u
	}
	u.Tool, u.SourceKind, u.SourceName, u.SourceNamespace = "flux", "HelmRepository", c.source, "flux-system"
	if strings.HasPrefix(c.url, "oci://") && c.source != "bitnami" {
		u.SourceKind = "OCIRepository"
	}
	if r.idx%40 == 0 {
		u.ValuesFrom = []string{o.name + "-values"}
	}
	return u
}

func (o *object) imageUsage(r *repo, k, img int) scan.Image {
	m := o.imageRef(r, k, img)
	m.File, m.Kind, m.Name, m.Namespace = o.file, o.kind, o.name, o.ns
	m.Source = "pod"
	if o.chart >= 0 {
		m.Source = "values"
	}
	return m
}

// imageRef is the reference an object holds: the tag moves with its revision; about a third
// pin a digest, a few use latest or a digest alone.
func (o *object) imageRef(r *repo, k, img int) scan.Image {
	c := imageCatalog[img]
	m := scan.Image{Registry: c.registry, Repository: c.repository}
	v := (r.idx + k + o.rev) % 40
	switch mix := (r.idx*13 + img) % 20; {
	case mix == 0:
		m.Tag = "latest"
	case mix < 8:
		m.Tag = fmt.Sprintf("%d.%d.%d", c.major, v/4, v%4)
		m.Digest = digest(img, v)
	case mix == 8:
		m.Digest = digest(img, v)
	default:
		m.Tag = fmt.Sprintf("%d.%d.%d", c.major, v/4, v%4)
	}
	m.Image = m.Registry + "/" + m.Repository
	if m.Tag != "" {
		m.Image += ":" + m.Tag
	}
	if m.Digest != "" {
		m.Image += "@" + m.Digest
	}
	return m
}

func digest(img, v int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("image %d %d", img, v)))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ---- catalogs ----

type chartInfo struct {
	name, source, url string
	major             int
}

type imageInfo struct {
	registry, repository, app string
	major                     int
}

// chartCatalog has the real heavy hitters first (the Zipf draw favours low indexes), then
// plausible long-tail charts up to about 300.
var chartCatalog = func() []chartInfo {
	top := []chartInfo{
		{"app-template", "bjw-s", "oci://ghcr.io/bjw-s/helm", 4},
		{"cert-manager", "jetstack", "https://charts.jetstack.io", 1},
		{"ingress-nginx", "ingress-nginx", "https://kubernetes.github.io/ingress-nginx", 4},
		{"kube-prometheus-stack", "prometheus-community", "oci://ghcr.io/prometheus-community/charts", 70},
		{"external-secrets", "external-secrets", "https://charts.external-secrets.io", 0},
		{"cilium", "cilium", "https://helm.cilium.io", 1},
		{"longhorn", "longhorn", "https://charts.longhorn.io", 1},
		{"rook-ceph", "rook-ceph", "https://charts.rook.io/release", 1},
		{"rook-ceph-cluster", "rook-ceph", "https://charts.rook.io/release", 1},
		{"grafana", "grafana", "https://grafana.github.io/helm-charts", 9},
		{"external-dns", "external-dns", "https://kubernetes-sigs.github.io/external-dns", 1},
		{"reloader", "stakater", "https://stakater.github.io/stakater-charts", 2},
		{"metallb", "metallb", "https://metallb.github.io/metallb", 0},
		{"loki", "grafana", "https://grafana.github.io/helm-charts", 6},
		{"traefik", "traefik", "https://traefik.github.io/charts", 35},
		{"cloudnative-pg", "cloudnative-pg", "https://cloudnative-pg.github.io/charts", 0},
		{"volsync", "backube", "https://backube.github.io/helm-charts", 0},
		{"snapshot-controller", "piraeus", "https://piraeus.io/helm-charts", 4},
		{"k8s-gateway", "k8s-gateway", "https://ori-edge.github.io/k8s_gateway", 2},
		{"coredns", "coredns", "https://coredns.github.io/helm", 1},
		{"spegel", "spegel", "oci://ghcr.io/spegel-org/helm-charts", 0},
		{"metrics-server", "metrics-server", "https://kubernetes-sigs.github.io/metrics-server", 3},
		{"node-feature-discovery", "nfd", "https://kubernetes-sigs.github.io/node-feature-discovery/charts", 0},
		{"intel-device-plugins-operator", "intel", "https://intel.github.io/helm-charts", 0},
		{"democratic-csi", "democratic-csi", "https://democratic-csi.github.io/charts", 0},
		{"csi-driver-nfs", "csi-driver-nfs", "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts", 4},
		{"victoria-metrics-k8s-stack", "victoria-metrics", "https://victoriametrics.github.io/helm-charts", 0},
		{"authentik", "authentik", "https://charts.goauthentik.io", 2025},
		{"vector", "vector", "https://helm.vector.dev", 0},
		{"thanos", "bitnami", "oci://registry-1.docker.io/bitnamicharts", 15},
		{"redis", "bitnami", "oci://registry-1.docker.io/bitnamicharts", 20},
		{"postgresql", "bitnami", "oci://registry-1.docker.io/bitnamicharts", 16},
		{"kyverno", "kyverno", "https://kyverno.github.io/kyverno", 3},
		{"velero", "vmware-tanzu", "https://vmware-tanzu.github.io/helm-charts", 8},
		{"descheduler", "descheduler", "https://kubernetes-sigs.github.io/descheduler", 0},
		{"kubernetes-dashboard", "kubernetes-dashboard", "https://kubernetes.github.io/dashboard", 7},
		{"weave-gitops", "weave-gitops", "oci://ghcr.io/weaveworks/charts", 4},
		{"flux-operator", "controlplaneio", "oci://ghcr.io/controlplaneio-fluxcd/charts", 0},
		{"flux-instance", "controlplaneio", "oci://ghcr.io/controlplaneio-fluxcd/charts", 0},
		{"gha-runner-scale-set", "actions", "oci://ghcr.io/actions/actions-runner-controller-charts", 0},
		{"gha-runner-scale-set-controller", "actions", "oci://ghcr.io/actions/actions-runner-controller-charts", 0},
		{"mariadb-operator", "mariadb-operator", "https://helm.mariadb.com/mariadb-operator", 0},
		{"emqx-operator", "emqx", "https://repos.emqx.io/charts", 2},
		{"dragonfly-operator", "dragonfly", "oci://ghcr.io/dragonflydb/dragonfly-operator/helm", 1},
		{"tigera-operator", "projectcalico", "https://docs.tigera.io/calico/charts", 3},
		{"kube-state-metrics", "prometheus-community", "oci://ghcr.io/prometheus-community/charts", 5},
		{"prometheus-blackbox-exporter", "prometheus-community", "oci://ghcr.io/prometheus-community/charts", 9},
		{"prometheus-smartctl-exporter", "prometheus-community", "oci://ghcr.io/prometheus-community/charts", 0},
		{"unpoller", "unpoller", "https://unpoller.github.io/helm-chart", 2},
		{"headlamp", "headlamp", "https://kubernetes-sigs.github.io/headlamp", 0},
		{"nextcloud", "nextcloud", "https://nextcloud.github.io/helm", 6},
		{"gitea", "gitea", "https://dl.gitea.com/charts", 10},
		{"home-assistant", "pajikos", "http://pajikos.github.io/home-assistant-helm-chart", 0},
		{"openebs", "openebs", "https://openebs.github.io/openebs", 4},
		{"vpa", "fairwinds", "https://charts.fairwinds.com/stable", 4},
		{"goldilocks", "fairwinds", "https://charts.fairwinds.com/stable", 9},
		{"echo-server", "ealenn", "https://ealenn.github.io/charts", 0},
		{"cloudflared", "cloudflare", "https://cloudflare.github.io/helm-charts", 0},
		{"tf-controller", "tf-controller", "https://flux-iac.github.io/tofu-controller", 0},
		{"kube-vip", "kube-vip", "https://kube-vip.github.io/helm-charts", 0},
	}
	words := []string{"alpha", "beacon", "cobalt", "delta", "ember", "falcon", "glacier", "harbor", "iris", "juniper", "kestrel", "lumen", "magnet", "nimbus", "orbit"}
	suffix := []string{"operator", "exporter", "controller", "server", "agent", "proxy", "ui", "api", "db", "cache", "stack", "bridge", "gateway", "sync", "backup", "scheduler", "webhook", "dashboard"}
	out := top
	for i := 0; len(out) < 300; i++ {
		name := words[i%len(words)] + "-" + suffix[(i/len(words))%len(suffix)]
		src := words[i%len(words)] + "-charts"
		url := "https://" + src + ".github.io/helm"
		if i%4 == 0 {
			url = "oci://ghcr.io/" + words[i%len(words)] + "/charts"
		}
		out = append(out, chartInfo{name, src, url, i % 6})
	}
	return out
}()

// selfHosted are app names for app-template releases and workloads.
var selfHosted = []string{"plex", "jellyfin", "sonarr", "radarr", "prowlarr", "lidarr", "readarr", "bazarr", "overseerr", "tautulli",
	"qbittorrent", "sabnzbd", "home-assistant", "zigbee2mqtt", "mosquitto", "esphome", "node-red", "frigate", "paperless", "immich",
	"vaultwarden", "nextcloud", "gitea", "forgejo", "miniflux", "freshrss", "homepage", "gatus", "uptime-kuma", "grafana", "unifi",
	"pihole", "adguard", "blocky", "echo-server", "smtp-relay", "authelia", "authentik", "lldap", "dex", "cloudflared", "tailscale",
	"wireguard", "syncthing", "filebrowser", "minio", "redis", "dragonfly", "postgres", "mariadb", "actual", "mealie", "tandoor",
	"linkding", "wallabag", "calibre-web", "kavita", "komga", "audiobookshelf", "navidrome", "jellyseerr", "recyclarr", "unpackerr",
	"autobrr", "thelounge", "atuin", "code-server", "excalidraw", "it-tools", "stirling-pdf", "searxng", "ollama", "open-webui",
	"scrypted", "teslamate", "owntracks", "zwave-js-ui", "music-assistant", "go2rtc", "double-take", "photoprism", "nocodb",
	"n8n", "changedetection", "webhook", "kopia", "restic", "pgadmin", "weave-gitops", "headlamp", "kubernetes-schemas", "flaresolverr"}

// imageCatalog has common images first, then long-tail ones up to about 2,000.
var imageCatalog = func() []imageInfo {
	top := []imageInfo{
		{"ghcr.io", "home-operations/sonarr", "sonarr", 4},
		{"ghcr.io", "home-operations/radarr", "radarr", 5},
		{"docker.io", "library/postgres", "postgres", 16},
		{"docker.io", "library/redis", "redis", 7},
		{"ghcr.io", "home-operations/prowlarr", "prowlarr", 1},
		{"ghcr.io", "home-assistant/home-assistant", "home-assistant", 2025},
		{"ghcr.io", "home-operations/plex", "plex", 1},
		{"docker.io", "library/busybox", "busybox", 1},
		{"ghcr.io", "onedr0p/qbittorrent", "qbittorrent", 5},
		{"docker.io", "eclipse-mosquitto", "mosquitto", 2},
		{"ghcr.io", "gethomepage/homepage", "homepage", 1},
		{"docker.io", "vaultwarden/server", "vaultwarden", 1},
		{"ghcr.io", "koenkk/zigbee2mqtt", "zigbee2mqtt", 2},
		{"ghcr.io", "jellyfin/jellyfin", "jellyfin", 10},
		{"docker.io", "library/nginx", "nginx", 1},
		{"ghcr.io", "cloudnative-pg/postgresql", "postgres", 16},
		{"docker.io", "cloudflare/cloudflared", "cloudflared", 2025},
		{"ghcr.io", "twin/gatus", "gatus", 5},
		{"docker.io", "louislam/uptime-kuma", "uptime-kuma", 1},
		{"ghcr.io", "immich-app/immich-server", "immich", 1},
		{"ghcr.io", "paperless-ngx/paperless-ngx", "paperless", 2},
		{"docker.io", "library/alpine", "alpine", 3},
		{"quay.io", "prometheus/node-exporter", "node-exporter", 1},
		{"ghcr.io", "esphome/esphome", "esphome", 2025},
		{"docker.io", "nodered/node-red", "node-red", 4},
		{"ghcr.io", "blakeblackshear/frigate", "frigate", 0},
		{"docker.io", "library/mariadb", "mariadb", 11},
		{"ghcr.io", "dragonflydb/dragonfly", "dragonfly", 1},
		{"docker.io", "miniflux/miniflux", "miniflux", 2},
		{"ghcr.io", "mealie-recipes/mealie", "mealie", 2},
	}
	regs := []struct{ reg, prefix string }{{"ghcr.io", "selfhosted"}, {"docker.io", "community"}, {"quay.io", "oss"}, {"lscr.io", "linuxserver"}, {"registry.k8s.io", "sig"}}
	out := top
	for i := 0; len(out) < 2000; i++ {
		r := regs[i%len(regs)]
		app := selfHosted[i%len(selfHosted)]
		out = append(out, imageInfo{r.reg, fmt.Sprintf("%s%d/%s", r.prefix, i/len(selfHosted), app), app, i % 9})
	}
	return out
}()

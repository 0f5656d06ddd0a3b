package scan

import "testing"

func helmRepo(name, ns, url string) string {
	s := `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: ` + name
	if ns != "" {
		s += `, namespace: ` + ns
	}
	return s + `}
spec: {url: "` + url + `"}`
}

func release(name, ns, chartSpec string) string {
	s := `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ` + name
	if ns != "" {
		s += `, namespace: ` + ns
	}
	return s + `}
spec:
  ` + chartSpec
}

func TestResolve(t *testing.T) {
	const certManager = `chart: {spec: {chart: cert-manager, version: v1.17.1, sourceRef: {kind: HelmRepository, name: jetstack, namespace: flux-system}}}`
	const bitnamiNoNS = `chart: {spec: {chart: redis, version: 20.x, sourceRef: {kind: HelmRepository, name: bitnami}}}`
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ociRepo := func(ref string) tObj {
		return tObj{file: "flux/repos/app-template.yaml", yaml: `
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: app-template, namespace: flux-system}
spec:
  url: oci://ghcr.io/bjw-s-labs/helm/app-template
  ref: ` + ref}
	}
	ociRelease := tObj{file: "apps/media/sonarr.yaml", yaml: release("sonarr", "media",
		`chartRef: {kind: OCIRepository, name: app-template, namespace: flux-system}`)}

	tests := []struct {
		name string
		objs []tObj
		want Chart // compared on the resolution fields only
	}{
		{
			name: "one source in the referenced namespace",
			objs: []tObj{
				{file: "flux/repos/jetstack.yaml", yaml: helmRepo("jetstack", "flux-system", "https://charts.jetstack.io/")},
				{file: "apps/cert-manager/hr.yaml", yaml: release("cert-manager", "cert-manager", certManager)},
			},
			want: Chart{Chart: "cert-manager", Version: "v1.17.1", SourceKind: "HelmRepository", SourceName: "jetstack",
				SourceNamespace: "flux-system", SourceURL: "https://charts.jetstack.io/",
				ChartURL: "https://charts.jetstack.io/cert-manager"},
		},
		{
			name: "sourceRef namespace defaults to the release's",
			objs: []tObj{
				{file: "flux/repos/bitnami.yaml", yaml: helmRepo("bitnami", "flux-system", "https://charts.bitnami.com/bitnami")},
				{file: "zzz/db/repo.yaml", yaml: helmRepo("bitnami", "db", "https://mirror.example.com/bitnami")},
				{file: "apps/db/redis.yaml", yaml: release("redis", "db", bitnamiNoNS)},
			},
			want: Chart{Chart: "redis", Version: "20.x", SourceKind: "HelmRepository", SourceName: "bitnami",
				SourceNamespace: "db", SourceURL: "https://mirror.example.com/bitnami",
				ChartURL: "https://mirror.example.com/bitnami/redis"},
		},
		{
			name: "namespace inferred after add is the one used",
			objs: []tObj{
				{file: "apps/db/repo.yaml", ns: "db", yaml: helmRepo("bitnami", "", "https://charts.bitnami.com/bitnami")},
				{file: "apps/db/redis.yaml", ns: "db", yaml: release("redis", "", bitnamiNoNS)},
				{file: "apps/db/aaa-repo.yaml", ns: "other", yaml: helmRepo("bitnami", "", "https://other.example.com")},
			},
			want: Chart{Chart: "redis", Version: "20.x", SourceKind: "HelmRepository", SourceName: "bitnami",
				SourceNamespace: "db", SourceURL: "https://charts.bitnami.com/bitnami",
				ChartURL: "https://charts.bitnami.com/bitnami/redis"},
		},
		{
			name: "two clusters, same-named repositories with different URLs: nearest, ambiguous",
			objs: []tObj{
				{file: "clusters/a/flux/repos/bitnami.yaml", yaml: helmRepo("bitnami", "flux-system", "https://a.example.com/charts")},
				{file: "clusters/b/flux/repos/bitnami.yaml", yaml: helmRepo("bitnami", "flux-system", "https://b.example.com/charts")},
				{file: "clusters/b/apps/redis/hr.yaml", yaml: release("redis", "db",
					`chart: {spec: {chart: redis, sourceRef: {kind: HelmRepository, name: bitnami, namespace: flux-system}}}`)},
			},
			want: Chart{Chart: "redis", SourceKind: "HelmRepository", SourceName: "bitnami", SourceNamespace: "flux-system",
				SourceURL: "https://b.example.com/charts", ChartURL: "https://b.example.com/charts/redis", Ambiguous: true},
		},
		{
			name: "two clusters, same URL: not ambiguous",
			objs: []tObj{
				{file: "clusters/a/flux/repos/bitnami.yaml", yaml: helmRepo("bitnami", "flux-system", "https://charts.bitnami.com/bitnami/")},
				{file: "clusters/b/flux/repos/bitnami.yaml", yaml: helmRepo("bitnami", "flux-system", "https://charts.bitnami.com/bitnami")},
				{file: "clusters/a/apps/redis/hr.yaml", yaml: release("redis", "db",
					`chart: {spec: {chart: redis, sourceRef: {kind: HelmRepository, name: bitnami, namespace: flux-system}}}`)},
			},
			want: Chart{Chart: "redis", SourceKind: "HelmRepository", SourceName: "bitnami", SourceNamespace: "flux-system",
				SourceURL: "https://charts.bitnami.com/bitnami/", ChartURL: "https://charts.bitnami.com/bitnami/redis"},
		},
		{
			name: "only candidate is in another namespace (inference missed): used, not ambiguous",
			objs: []tObj{
				{file: "repos/jetstack.yaml", yaml: helmRepo("jetstack", "", "https://charts.jetstack.io")},
				{file: "apps/cert-manager/hr.yaml", yaml: release("cert-manager", "cert-manager", certManager)},
			},
			want: Chart{Chart: "cert-manager", Version: "v1.17.1", SourceKind: "HelmRepository", SourceName: "jetstack",
				SourceNamespace: "flux-system", SourceURL: "https://charts.jetstack.io",
				ChartURL: "https://charts.jetstack.io/cert-manager"},
		},
		{
			name: "candidates elsewhere only, different URLs: nearest by path, ambiguous",
			objs: []tObj{
				{file: "infra/repos/jetstack.yaml", yaml: helmRepo("jetstack", "x", "https://far.example.com")},
				{file: "apps/repos/jetstack.yaml", yaml: helmRepo("jetstack", "y", "https://near.example.com")},
				{file: "apps/cert-manager/hr.yaml", yaml: release("cert-manager", "cert-manager", certManager)},
			},
			want: Chart{Chart: "cert-manager", Version: "v1.17.1", SourceKind: "HelmRepository", SourceName: "jetstack",
				SourceNamespace: "flux-system", SourceURL: "https://near.example.com",
				ChartURL: "https://near.example.com/cert-manager", Ambiguous: true},
		},
		{
			name: "no candidate: the release's facts, no URLs",
			objs: []tObj{
				{file: "apps/cert-manager/hr.yaml", yaml: release("cert-manager", "cert-manager", certManager)},
			},
			want: Chart{Chart: "cert-manager", Version: "v1.17.1", SourceKind: "HelmRepository", SourceName: "jetstack",
				SourceNamespace: "flux-system"},
		},
		{
			name: "HelmRepository of type oci",
			objs: []tObj{
				{file: "repos.yaml", yaml: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: bjw-s, namespace: flux-system}
spec: {type: oci, url: "oci://ghcr.io/bjw-s/helm"}`},
				{file: "hr.yaml", yaml: release("app", "flux-system",
					`chart: {spec: {chart: app-template, version: 3.7.3, sourceRef: {kind: HelmRepository, name: bjw-s}}}`)},
			},
			want: Chart{Chart: "app-template", Version: "3.7.3", SourceKind: "HelmRepository", SourceName: "bjw-s",
				SourceNamespace: "flux-system", SourceURL: "oci://ghcr.io/bjw-s/helm",
				ChartURL: "oci://ghcr.io/bjw-s/helm/app-template"},
		},
		{
			name: "chartRef OCIRepository tag",
			objs: []tObj{ociRepo(`{tag: 3.7.3}`), ociRelease},
			want: Chart{Chart: "app-template", Version: "3.7.3", SourceKind: "OCIRepository", SourceName: "app-template",
				SourceNamespace: "flux-system", SourceURL: "oci://ghcr.io/bjw-s-labs/helm/app-template",
				ChartURL: "oci://ghcr.io/bjw-s-labs/helm/app-template"},
		},
		{
			name: "chartRef OCIRepository semver",
			objs: []tObj{ociRepo(`{semver: ">=3.0.0", semverFilter: ".*-rc.*"}`), ociRelease},
			want: Chart{Chart: "app-template", Version: ">=3.0.0", SourceKind: "OCIRepository", SourceName: "app-template",
				SourceNamespace: "flux-system", SourceURL: "oci://ghcr.io/bjw-s-labs/helm/app-template",
				ChartURL: "oci://ghcr.io/bjw-s-labs/helm/app-template"},
		},
		{
			name: "chartRef OCIRepository digest",
			objs: []tObj{ociRepo(`{digest: "` + digest + `"}`), ociRelease},
			want: Chart{Chart: "app-template", Version: digest, SourceKind: "OCIRepository", SourceName: "app-template",
				SourceNamespace: "flux-system", SourceURL: "oci://ghcr.io/bjw-s-labs/helm/app-template",
				ChartURL: "oci://ghcr.io/bjw-s-labs/helm/app-template"},
		},
		{
			name: "chartRef OCIRepository with tag and digest: the tag",
			objs: []tObj{ociRepo(`{tag: 3.7.3, digest: "` + digest + `"}`), ociRelease},
			want: Chart{Chart: "app-template", Version: "3.7.3", SourceKind: "OCIRepository", SourceName: "app-template",
				SourceNamespace: "flux-system", SourceURL: "oci://ghcr.io/bjw-s-labs/helm/app-template",
				ChartURL: "oci://ghcr.io/bjw-s-labs/helm/app-template"},
		},
		{
			name: "chartRef OCIRepository in two clusters with different tags: ambiguous",
			objs: []tObj{
				ociRepo(`{tag: 3.7.3}`),
				{file: "clusters/other/flux/app-template.yaml", yaml: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app-template, namespace: flux-system}
spec: {url: "oci://ghcr.io/bjw-s-labs/helm/app-template", ref: {tag: 4.0.0}}`},
				ociRelease,
			},
			want: Chart{Chart: "app-template", Version: "3.7.3", SourceKind: "OCIRepository", SourceName: "app-template",
				SourceNamespace: "flux-system", SourceURL: "oci://ghcr.io/bjw-s-labs/helm/app-template",
				ChartURL: "oci://ghcr.io/bjw-s-labs/helm/app-template", Ambiguous: true},
		},
		{
			name: "chartRef OCIRepository missing",
			objs: []tObj{ociRelease},
			want: Chart{SourceKind: "OCIRepository", SourceName: "app-template", SourceNamespace: "flux-system"},
		},
		{
			name: "chartRef HelmChart followed to its HelmRepository",
			objs: []tObj{
				{file: "flux/podinfo.yaml", yaml: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: podinfo, namespace: apps}
spec:
  chart: podinfo
  version: 6.x
  sourceRef: {kind: HelmRepository, name: podinfo}`},
				{file: "flux/repo.yaml", yaml: helmRepo("podinfo", "apps", "https://stefanprodan.github.io/podinfo")},
				{file: "flux/repo-elsewhere.yaml", yaml: helmRepo("podinfo", "flux-system", "https://wrong.example.com")},
				{file: "apps/podinfo.yaml", yaml: release("podinfo", "apps", `chartRef: {kind: HelmChart, name: podinfo}`)},
			},
			want: Chart{Chart: "podinfo", Version: "6.x", SourceKind: "HelmRepository", SourceName: "podinfo",
				SourceNamespace: "apps", SourceURL: "https://stefanprodan.github.io/podinfo",
				ChartURL: "https://stefanprodan.github.io/podinfo/podinfo"},
		},
		{
			name: "chartRef HelmChart whose source is missing",
			objs: []tObj{
				{file: "flux/podinfo.yaml", yaml: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: podinfo, namespace: apps}
spec: {chart: podinfo, version: 6.x, sourceRef: {kind: HelmRepository, name: podinfo}}`},
				{file: "apps/podinfo.yaml", yaml: release("podinfo", "apps", `chartRef: {kind: HelmChart, name: podinfo}`)},
			},
			want: Chart{Chart: "podinfo", Version: "6.x", SourceKind: "HelmRepository", SourceName: "podinfo",
				SourceNamespace: "apps"},
		},
		{
			name: "chartRef HelmChart missing",
			objs: []tObj{
				{file: "apps/podinfo.yaml", yaml: release("podinfo", "apps", `chartRef: {kind: HelmChart, name: podinfo, namespace: flux-system}`)},
			},
			want: Chart{SourceKind: "HelmChart", SourceName: "podinfo", SourceNamespace: "flux-system"},
		},
		{
			name: "GitRepository chart path",
			objs: []tObj{
				{file: "flux/git.yaml", yaml: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: home, namespace: flux-system}
spec: {url: "https://github.com/me/home", ref: {branch: main}}`},
				{file: "apps/my-app.yaml", yaml: release("my-app", "default",
					`chart: {spec: {chart: ./charts/my-app, sourceRef: {kind: GitRepository, name: home, namespace: flux-system}}}`)},
			},
			want: Chart{Chart: "my-app", SourceKind: "GitRepository", SourceName: "home", SourceNamespace: "flux-system",
				SourceURL: "https://github.com/me/home", ChartURL: "https://github.com/me/home#charts/my-app"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runFacts(t, tt.objs...)
			if len(res.Charts) != 1 {
				t.Fatalf("got %d charts, want 1: %s", len(res.Charts), mustJSON(t, res.Charts))
			}
			got := res.Charts[0]
			var rel Object
			for _, o := range res.Objects {
				if o.Kind == "HelmRelease" {
					rel = o
				}
			}
			tt.want.File, tt.want.Kind, tt.want.Name, tt.want.Namespace, tt.want.Tool = rel.File, "HelmRelease", rel.Name, rel.Namespace, ToolFlux
			checkCharts(t, []Chart{got}, []Chart{tt.want})
		})
	}
}

func TestNearestSource(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		sources []string
		want    string
	}{
		{"longest common directory", "clusters/b/apps/x/hr.yaml", []string{"clusters/a/repos.yaml", "clusters/b/flux/repos.yaml", "repos.yaml"}, "clusters/b/flux/repos.yaml"},
		{"then shallowest", "clusters/b/apps/hr.yaml", []string{"clusters/b/x/y/deep.yaml", "clusters/b/z/shallow.yaml"}, "clusters/b/z/shallow.yaml"},
		{"then file name", "apps/hr.yaml", []string{"repos/b.yaml", "repos/a.yaml"}, "repos/a.yaml"},
		{"root files", "hr.yaml", []string{"sub/repo.yaml", "repo.yaml"}, "repo.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := factState{sources: map[sourceKey][]*fluxSource{}}
			res := &Result{}
			k := sourceKey{"HelmRepository", "r"}
			for i, file := range tt.sources {
				res.Objects = append(res.Objects, Object{File: file, Namespace: "elsewhere"})
				f.sources[k] = append(f.sources[k], &fluxSource{objRef: objRef{idx: i, file: file}, kind: k.kind, url: file})
			}
			got, amb := f.pick(res, k.kind, k.name, "ns", tt.from)
			if got == nil || got.file != tt.want || !amb {
				t.Errorf("got %+v ambiguous=%v, want %s ambiguous", got, amb, tt.want)
			}
		})
	}
}

package scan

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// tObj is one object fed to factState.add in tests. ns, when set, is the namespace inference gives the
// object after add (before finish), as Result() does.
type tObj struct {
	file string
	ns   string
	yaml string
}

// runFacts parses each object with the scanner's decoder and redaction, feeds it to a factState as AddFile
// does, applies the inferred namespaces, and finishes.
func runFacts(t *testing.T, objs ...tObj) *Result {
	t.Helper()
	var f factState
	res := &Result{}
	docs := map[string]int{}
	for i, to := range objs {
		v, err := decodeDocument([]byte(strings.TrimSpace(to.yaml)+"\n"), DefaultLimits())
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		m, ok := redactValues(v).(map[string]any)
		if !ok {
			t.Fatalf("object %d: not a mapping", i)
		}
		res.Objects = append(res.Objects, testObject(to.file, docs[to.file], m))
		docs[to.file]++
		f.add(&res.Objects[i], i, m)
	}
	for i, to := range objs {
		if to.ns != "" && res.Objects[i].Namespace == "" {
			res.Objects[i].Namespace = to.ns
		}
	}
	f.finish(res)
	return res
}

func testObject(file string, doc int, m map[string]any) Object {
	o := Object{File: file, Doc: doc, APIVersion: str(m, "apiVersion"), Kind: str(m, "kind")}
	o.Group, _, _ = strings.Cut(o.APIVersion, "/")
	if !strings.Contains(o.APIVersion, "/") {
		o.Group = ""
	}
	meta := mapAt(m, "metadata")
	o.Name, o.Namespace = str(meta, "name"), str(meta, "namespace")
	return o
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkCharts(t *testing.T, got, want []Chart) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(stripValues(got), stripValues(want)) {
		t.Errorf("charts:\ngot  %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
	}
}

func stripValues(cs []Chart) []Chart {
	out := make([]Chart, len(cs))
	for i, c := range cs {
		c.Values = nil
		out[i] = c
	}
	return out
}

func TestFluxHelmRelease(t *testing.T) {
	res := runFacts(t, tObj{file: "apps/media/sonarr/helmrelease.yaml", yaml: `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: sonarr, namespace: media}
spec:
  chart:
    spec:
      chart: app-template
      version: ">=3.0.0 <4.0.0"
      sourceRef: {kind: HelmRepository, name: bjw-s, namespace: flux-system}
  valuesFrom:
    - {kind: ConfigMap, name: sonarr-values}
    - {kind: Secret, name: sonarr-secret, valuesKey: values.yaml}
  values:
    env: {TZ: Europe/Paris, API_TOKEN: hunter2}
    replicas: 2
`})
	checkCharts(t, res.Charts, []Chart{{
		File: "apps/media/sonarr/helmrelease.yaml", Kind: "HelmRelease", Name: "sonarr", Namespace: "media",
		Tool: ToolFlux, Chart: "app-template", Version: ">=3.0.0 <4.0.0",
		SourceKind: "HelmRepository", SourceName: "bjw-s", SourceNamespace: "flux-system",
		ValuesFrom: []string{"sonarr-values", "sonarr-secret"},
	}})
	if len(res.Charts) != 1 {
		t.Fatalf("got %d charts, want 1", len(res.Charts))
	}
	vals := string(res.Charts[0].Values)
	if !strings.Contains(vals, `"replicas":2`) || strings.Contains(vals, "hunter2") || !strings.Contains(vals, Redacted) {
		t.Errorf("got values %s, want replicas kept and API_TOKEN redacted", vals)
	}
}

func TestFluxHelmReleaseValuesLimits(t *testing.T) {
	big := strings.Repeat("x", maxValuesBytes)
	tests := []struct {
		name       string
		values     any
		wantValues bool
	}{
		{"none", nil, false},
		{"empty map", map[string]any{}, false},
		{"small", map[string]any{"a": json.Number("1")}, true},
		{"too big", map[string]any{"blob": big, "image": "nginx:1.27"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := map[string]any{"chart": map[string]any{"spec": map[string]any{
				"chart": "x", "sourceRef": map[string]any{"kind": "HelmRepository", "name": "r"},
			}}}
			if tt.values != nil {
				spec["values"] = tt.values
			}
			obj := map[string]any{"apiVersion": "helm.toolkit.fluxcd.io/v2beta2", "kind": "HelmRelease",
				"metadata": map[string]any{"name": "x"}, "spec": spec}
			res := &Result{Objects: []Object{testObject("hr.yaml", 0, obj)}}
			var f factState
			f.add(&res.Objects[0], 0, obj)
			f.finish(res)
			if len(res.Charts) != 1 {
				t.Fatalf("got %d charts, want 1 (the chart is recorded whatever its values)", len(res.Charts))
			}
			if got := res.Charts[0].Values != nil; got != tt.wantValues {
				t.Errorf("got values %v, want %v", got, tt.wantValues)
			}
			if tt.name == "too big" && len(res.Images) != 1 {
				t.Errorf("got %d images, want 1: images still come from values too big to keep", len(res.Images))
			}
		})
	}
}

func TestFluxNotACharts(t *testing.T) {
	res := runFacts(t,
		tObj{file: "a.yaml", yaml: `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: broken}
spec: {values: {image: {repository: nginx, tag: "1.27"}}}`},
		tObj{file: "b.yaml", yaml: `
apiVersion: example.com/v1
kind: HelmRelease
metadata: {name: other-group}
spec: {chart: {spec: {chart: x, sourceRef: {kind: HelmRepository, name: r}}}}`},
	)
	checkCharts(t, res.Charts, nil)
	if len(res.Images) != 1 || res.Images[0].Image != "docker.io/library/nginx:1.27" {
		t.Errorf("got images %s, want the values image of the release without a chart", mustJSON(t, res.Images))
	}
}

func TestArgo(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Chart
	}{
		{
			name: "single helm source",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: cert-manager, namespace: argocd}
spec:
  source: {repoURL: https://charts.jetstack.io/, chart: cert-manager, targetRevision: v1.17.1}`,
			want: []Chart{{Chart: "cert-manager", Version: "v1.17.1", SourceKind: "helm",
				SourceURL: "https://charts.jetstack.io/", ChartURL: "https://charts.jetstack.io/cert-manager"}},
		},
		{
			name: "oci registry without scheme",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: redis, namespace: argocd}
spec:
  source: {repoURL: registry-1.docker.io/bitnamicharts, chart: redis, targetRevision: 20.1.0}`,
			want: []Chart{{Chart: "redis", Version: "20.1.0", SourceKind: "oci",
				SourceURL: "registry-1.docker.io/bitnamicharts", ChartURL: "oci://registry-1.docker.io/bitnamicharts/redis"}},
		},
		{
			name: "oci scheme and numeric revision",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: x, namespace: argocd}
spec:
  source: {repoURL: "oci://ghcr.io/org/charts/", chart: x, targetRevision: 1.5}`,
			want: []Chart{{Chart: "x", Version: "1.5", SourceKind: "oci",
				SourceURL: "oci://ghcr.io/org/charts/", ChartURL: "oci://ghcr.io/org/charts/x"}},
		},
		{
			name: "oci artifact with helm block",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: x, namespace: argocd}
spec:
  source: {repoURL: "oci://ghcr.io/org/charts/podinfo", path: ".", targetRevision: 6.7.0, helm: {releaseName: podinfo}}`,
			want: []Chart{{Chart: "podinfo", Version: "6.7.0", SourceKind: "oci",
				SourceURL: "oci://ghcr.io/org/charts/podinfo", ChartURL: "oci://ghcr.io/org/charts/podinfo"}},
		},
		{
			name: "multi-source: chart, values ref, plain git path, git chart with helm",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: stack, namespace: argocd}
spec:
  source: {repoURL: https://ignored.example.com, chart: ignored}
  sources:
    - repoURL: https://prometheus-community.github.io/helm-charts
      chart: kube-prometheus-stack
      targetRevision: 69.8.2
      helm: {valueFiles: [$values/monitoring/values.yaml]}
    - {repoURL: "https://github.com/me/home.git", targetRevision: main, ref: values}
    - {repoURL: "https://github.com/me/home.git", targetRevision: main, path: manifests/extra}
    - repoURL: https://github.com/me/home.git
      targetRevision: HEAD
      path: ./charts/my-app/
      helm: {parameters: [{name: replicas, value: "2"}]}`,
			want: []Chart{
				{Chart: "kube-prometheus-stack", Version: "69.8.2", SourceKind: "helm",
					SourceURL: "https://prometheus-community.github.io/helm-charts",
					ChartURL:  "https://prometheus-community.github.io/helm-charts/kube-prometheus-stack"},
				{Chart: "my-app", Version: "HEAD", SourceKind: "git", SourceURL: "https://github.com/me/home.git",
					ChartURL: "https://github.com/me/home.git#charts/my-app"},
			},
		},
		{
			name: "git path without helm is not a chart",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: x, namespace: argocd}
spec:
  source: {repoURL: "https://github.com/me/home.git", path: apps/x, targetRevision: main}`,
		},
		{
			name: "applicationset keeps templates as written",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps, namespace: argocd}
spec:
  generators: [{git: {repoURL: "https://github.com/me/home.git", directories: [{path: "apps/*"}]}}]
  template:
    metadata: {name: "{{ .path.basename }}"}
    spec:
      sources:
        - {repoURL: "{{.repoURL}}", chart: "{{.chart}}", targetRevision: "{{.version}}"}
        - repoURL: https://github.com/me/home.git
          path: "{{ .path.path }}"
          targetRevision: main
          helm: {valueFiles: [values.yaml]}`,
			want: []Chart{
				{Chart: "{{.chart}}", Version: "{{.version}}", SourceURL: "{{.repoURL}}"},
				{Chart: "{{ .path.path }}", Version: "main", SourceKind: "git",
					SourceURL: "https://github.com/me/home.git", ChartURL: "https://github.com/me/home.git#{{ .path.path }}"},
			},
		},
		{
			name: "not an application",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default, namespace: argocd}
spec: {sourceRepos: ["*"]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runFacts(t, tObj{file: "argo/app.yaml", yaml: tt.yaml})
			var want []Chart
			for _, c := range tt.want {
				c.File, c.Tool = "argo/app.yaml", ToolArgo
				c.Kind, c.Name, c.Namespace = res.Objects[0].Kind, res.Objects[0].Name, res.Objects[0].Namespace
				want = append(want, c)
			}
			checkCharts(t, res.Charts, want)
		})
	}
}

func TestArgoValues(t *testing.T) {
	tests := []struct {
		name       string
		helm       string
		wantValues string // "" means nil
		wantImages []string
	}{
		{
			name: "valuesObject",
			helm: `
        valuesObject:
          image: {repository: ghcr.io/org/app, tag: v1}
          auth: {password: hunter2}`,
			wantValues: `{"auth":{"password":"[redacted]"},"image":{"repository":"ghcr.io/org/app","tag":"v1"}}`,
			wantImages: []string{"ghcr.io/org/app:v1"},
		},
		{
			name: "values string",
			helm: `
        values: |
          image:
            repository: bitnami/redis
            registry: docker.io
            tag: 7.2
          auth:
            password: hunter2
          sops: ENC[AES256_GCM,data:abc,type:str]`,
			wantValues: `{"auth":{"password":"[redacted]"},"image":{"registry":"docker.io","repository":"bitnami/redis","tag":7.2},"sops":"[redacted]"}`,
			wantImages: []string{"docker.io/bitnami/redis:7.2"},
		},
		{
			name: "both: valuesObject wins",
			helm: `
        values: |
          a: {b: 1, c: 2}
          image: nginx:1.26
        valuesObject:
          a: {b: 3}
          sidecar: {image: busybox}`,
			wantValues: `{"a":{"b":3,"c":2},"image":"nginx:1.26","sidecar":{"image":"busybox"}}`,
			wantImages: []string{"docker.io/library/busybox", "docker.io/library/nginx:1.26"},
		},
		{
			name: "values written as a map",
			helm: `
        values: {image: "nginx:1.27"}`,
			wantValues: `{"image":"nginx:1.27"}`,
			wantImages: []string{"docker.io/library/nginx:1.27"},
		},
		{
			name: "unparsable values string",
			helm: `
        values: "a: [unclosed"`,
		},
		{
			name: "values string that is not a map",
			helm: `
        values: just text`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runFacts(t, tObj{file: "app.yaml", yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: app, namespace: argocd}
spec:
  source:
    repoURL: https://charts.example.com
    chart: app
    targetRevision: 1.0.0
    helm:` + tt.helm})
			if len(res.Charts) != 1 {
				t.Fatalf("got %d charts, want 1", len(res.Charts))
			}
			if got := string(res.Charts[0].Values); got != tt.wantValues {
				t.Errorf("got values %s, want %s", got, tt.wantValues)
			}
			var got []string
			for _, im := range res.Images {
				if im.Source != ImageFromValues || im.Kind != "Application" || im.Name != "app" || im.Namespace != "argocd" {
					t.Errorf("got image %+v, want one from the application's values", im)
				}
				got = append(got, im.Image)
			}
			if !reflect.DeepEqual(got, tt.wantImages) {
				t.Errorf("got images %q, want %q", got, tt.wantImages)
			}
		})
	}
}

func TestFactsOrderAndNamespaces(t *testing.T) {
	hr := func(name string) string {
		return `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ` + name + `}
spec:
  chart: {spec: {chart: ` + name + `, sourceRef: {kind: HelmRepository, name: repo}}}
  values: {image: {repository: ghcr.io/org/` + name + `, tag: "1"}}`
	}
	res := runFacts(t,
		tObj{file: "b/hr.yaml", ns: "inferred-b", yaml: hr("zeta")},
		tObj{file: "b/hr.yaml", ns: "inferred-b", yaml: hr("alpha")},
		tObj{file: "a/hr.yaml", ns: "inferred-a", yaml: hr("mid")},
	)
	var got []string
	for _, c := range res.Charts {
		got = append(got, c.File+" "+c.Name+" "+c.Namespace+" "+c.SourceNamespace)
	}
	want := []string{"a/hr.yaml mid inferred-a inferred-a", "b/hr.yaml alpha inferred-b inferred-b", "b/hr.yaml zeta inferred-b inferred-b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got charts %q, want %q", got, want)
	}
	got = nil
	for _, im := range res.Images {
		got = append(got, im.File+" "+im.Image+" "+im.Namespace)
	}
	want = []string{"a/hr.yaml ghcr.io/org/mid:1 inferred-a", "b/hr.yaml ghcr.io/org/alpha:1 inferred-b", "b/hr.yaml ghcr.io/org/zeta:1 inferred-b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got images %q, want %q", got, want)
	}
}

func TestFactsFinishOnce(t *testing.T) {
	obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "nginx"}}}}
	res := &Result{Objects: []Object{testObject("p.yaml", 0, obj)}}
	var f factState
	f.add(&res.Objects[0], 0, obj)
	f.finish(res)
	f.finish(res) // Result() may be called twice: nothing is appended again
	if len(res.Images) != 1 {
		t.Errorf("got %d images, want 1", len(res.Images))
	}
}

// TestFactsEndToEnd runs real YAML through AddFile and Result: multi-document files, numbers, redaction,
// namespace inference and resolution together.
func TestFactsEndToEnd(t *testing.T) {
	files := []struct{ name, text string }{
		{"kubernetes/flux/repos/app-template.yaml", `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: app-template
  namespace: flux-system
spec:
  interval: 12h
  url: oci://ghcr.io/bjw-s-labs/helm/app-template
  ref:
    tag: 3.7.3
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: flux-system
spec:
  url: https://charts.bitnami.com/bitnami
`},
		{"kubernetes/apps/media/kustomization.yaml", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: media
resources: [sonarr/helmrelease.yaml, redis/helmrelease.yaml]
`},
		{"kubernetes/apps/media/sonarr/helmrelease.yaml", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: sonarr
spec:
  chartRef:
    kind: OCIRepository
    name: app-template
    namespace: flux-system
  values:
    controllers:
      sonarr:
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/sonarr
              tag: 4.0.14.2938@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            env:
              SONARR__AUTH__APIKEY: ENC[AES256_GCM,data:abc,type:str]
`},
		{"kubernetes/apps/media/redis/helmrelease.yaml", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: redis
spec:
  chart:
    spec:
      chart: redis
      version: 20.x
      sourceRef: {kind: HelmRepository, name: bitnami, namespace: flux-system}
  values:
    image: {registry: docker.io, repository: bitnami/redis, tag: 7.2}
    auth: {password: hunter2}
`},
		{"argo/apps.yaml", `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: cert-manager, namespace: argocd}
spec:
  source:
    repoURL: https://charts.jetstack.io
    chart: cert-manager
    targetRevision: v1.17.1
    helm:
      values: |
        image:
          repository: quay.io/jetstack/cert-manager-controller
          tag: v1.17.1
        token: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  template:
    spec:
      initContainers: [{name: init, image: busybox}]
      containers: [{name: web, image: "nginx:1.27"}]
`},
	}
	s := New(Options{})
	for _, f := range files {
		if err := s.AddFile(f.name, strings.NewReader(f.text)); err != nil {
			t.Fatalf("AddFile(%s): %v", f.name, err)
		}
	}
	res := s.Result()
	if len(res.Errors) > 0 {
		t.Fatalf("got errors %+v, want none", res.Errors)
	}

	var charts []string
	for _, c := range res.Charts {
		charts = append(charts, strings.Join([]string{c.File, c.Kind, c.Namespace + "/" + c.Name, c.Chart, c.Version, c.ChartURL}, " "))
		if strings.Contains(string(c.Values), "hunter2") || strings.Contains(string(c.Values), "ENC[") {
			t.Errorf("got values %s for %s, want secrets redacted", c.Values, c.Name)
		}
		if c.Values == nil {
			t.Errorf("got no values for %s, want its inline values", c.Name)
		}
	}
	wantCharts := []string{
		"argo/apps.yaml Application argocd/cert-manager cert-manager v1.17.1 https://charts.jetstack.io/cert-manager",
		"kubernetes/apps/media/redis/helmrelease.yaml HelmRelease media/redis redis 20.x https://charts.bitnami.com/bitnami/redis",
		"kubernetes/apps/media/sonarr/helmrelease.yaml HelmRelease media/sonarr app-template 3.7.3 oci://ghcr.io/bjw-s-labs/helm/app-template",
	}
	slices.Sort(charts)
	if !reflect.DeepEqual(charts, wantCharts) {
		t.Errorf("got charts\n%s\nwant\n%s", strings.Join(charts, "\n"), strings.Join(wantCharts, "\n"))
	}

	var images []string
	for _, im := range res.Images {
		images = append(images, strings.Join([]string{im.File, im.Namespace + "/" + im.Name, im.Source, im.Image}, " "))
	}
	wantImages := []string{
		"argo/apps.yaml default/web pod docker.io/library/busybox",
		"argo/apps.yaml default/web pod docker.io/library/nginx:1.27",
		"argo/apps.yaml argocd/cert-manager values quay.io/jetstack/cert-manager-controller:v1.17.1",
		"kubernetes/apps/media/redis/helmrelease.yaml media/redis values docker.io/bitnami/redis:7.2",
		"kubernetes/apps/media/sonarr/helmrelease.yaml media/sonarr values ghcr.io/home-operations/sonarr:4.0.14.2938@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	}
	slices.Sort(images) // the final order is Result's; compare the set
	slices.Sort(wantImages)
	if !reflect.DeepEqual(images, wantImages) {
		t.Errorf("got images\n%s\nwant\n%s", strings.Join(images, "\n"), strings.Join(wantImages, "\n"))
	}
}

// Values wait in memory until the tree is read: past the scan's budget they are dropped, charts stay.
func TestValuesBudgetBoundsMemory(t *testing.T) {
	var f factState
	f.valuesBudget = 100
	res := &Result{}
	for i := range 5 {
		obj := map[string]any{"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
			"metadata": map[string]any{"name": "r" + string(rune('a'+i))},
			"spec": map[string]any{"chart": map[string]any{"spec": map[string]any{"chart": "x",
				"sourceRef": map[string]any{"kind": "HelmRepository", "name": "r"}}},
				"values": map[string]any{"key": strings.Repeat("v", 30)}}}
		res.Objects = append(res.Objects, testObject("hr.yaml", i, obj))
		f.add(&res.Objects[i], i, obj)
	}
	f.finish(res)
	kept := 0
	for _, c := range res.Charts {
		if c.Values != nil {
			kept++
		}
	}
	if len(res.Charts) != 5 || kept != 2 {
		t.Fatalf("got %d charts with %d values kept, want 5 charts and the 2 values that fit 100 bytes", len(res.Charts), kept)
	}
}

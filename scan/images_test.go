package scan

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseImage(t *testing.T) {
	tests := []struct {
		in   string
		want imageRef
		ok   bool
	}{
		{"nginx", imageRef{"docker.io/library/nginx", "docker.io", "library/nginx", "", ""}, true},
		{"nginx:1.27", imageRef{"docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", ""}, true},
		{"bitnami/redis:7.2", imageRef{"docker.io/bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", ""}, true},
		{"registry.local:5000/team/app:v1", imageRef{"registry.local:5000/team/app:v1", "registry.local:5000", "team/app", "v1", ""}, true},
		{"ghcr.io/home-operations/sonarr:4.0.14@" + testDigest,
			imageRef{"ghcr.io/home-operations/sonarr:4.0.14@" + testDigest, "ghcr.io", "home-operations/sonarr", "4.0.14", testDigest}, true},
		{"quay.io/prometheus/node-exporter@" + testDigest,
			imageRef{"quay.io/prometheus/node-exporter@" + testDigest, "quay.io", "prometheus/node-exporter", "", testDigest}, true},
		// substitutions: the certain name is kept, the substituted tag or digest as written
		{"ghcr.io/org/app:${APP_VERSION}", imageRef{"ghcr.io/org/app:${APP_VERSION}", "ghcr.io", "org/app", "${APP_VERSION}", ""}, true},
		{"app:${TAG:=1.0}", imageRef{"docker.io/library/app:${TAG:=1.0}", "docker.io", "library/app", "${TAG:=1.0}", ""}, true},
		{"ghcr.io/org/app:{{ .tag }}@" + testDigest,
			imageRef{"ghcr.io/org/app:{{ .tag }}@" + testDigest, "ghcr.io", "org/app", "{{ .tag }}", testDigest}, true},
		{"${REGISTRY}/org/app:1.0", imageRef{}, false},
		{"{{ .Values.image.repository }}:{{ .Values.image.tag }}", imageRef{}, false},
		// never invented
		{"", imageRef{}, false},
		{Redacted, imageRef{}, false},
		{"Nginx:1.0", imageRef{}, false},
		{"nginx:bad tag", imageRef{}, false},
		{"nginx@sha256:short", imageRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseImage(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestImageFromParts(t *testing.T) {
	tests := []struct {
		name                      string
		registry, repo, tag, dgst string
		want                      string // Image; "" for none
		wantTag, wantDigest       string
	}{
		{"bitnami", "docker.io", "bitnami/redis", "7.2", "", "docker.io/bitnami/redis:7.2", "7.2", ""},
		{"registry with slash", "ghcr.io/", "org/app", "v1", "", "ghcr.io/org/app:v1", "v1", ""},
		{"tag with digest", "", "ghcr.io/home-operations/sonarr", "4.0.14@" + testDigest, "",
			"ghcr.io/home-operations/sonarr:4.0.14@" + testDigest, "4.0.14", testDigest},
		{"digest field", "docker.io", "bitnami/redis", "7.2", testDigest, "docker.io/bitnami/redis:7.2@" + testDigest, "7.2", testDigest},
		{"digest in tag field", "", "org/app", testDigest, "", "docker.io/org/app@" + testDigest, "", testDigest},
		{"no tag", "", "ghcr.io/org/app", "", "", "ghcr.io/org/app", "", ""},
		{"tag in repository", "", "ghcr.io/org/app:v2", "", "", "ghcr.io/org/app:v2", "v2", ""},
		{"substituted tag", "", "ghcr.io/org/app", "${VERSION}", "", "ghcr.io/org/app:${VERSION}", "${VERSION}", ""},
		{"substituted registry", "${REGISTRY}", "org/app", "1.0", "", "", "", ""},
		{"templated repository", "", "{{ .Values.repo }}", "1.0", "", "", "", ""},
		{"redacted tag", "", "org/app", Redacted, "", "", "", ""},
		{"empty repository", "docker.io", "", "1.0", "", "", "", ""},
		{"invalid tag", "", "org/app", "1.0+build", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := imageFromParts(tt.registry, tt.repo, tt.tag, tt.dgst)
			if tt.want == "" {
				if ok {
					t.Errorf("got %+v, want none", got)
				}
				return
			}
			if !ok || got.image != tt.want || got.tag != tt.wantTag || got.digest != tt.wantDigest {
				t.Errorf("got %+v, %v; want image %s tag %q digest %q", got, ok, tt.want, tt.wantTag, tt.wantDigest)
			}
		})
	}
}

// imagesOf runs one object through add/finish and returns "source image" per image found.
func imagesOf(t *testing.T, yaml string) []string {
	t.Helper()
	res := runFacts(t, tObj{file: "f.yaml", yaml: yaml})
	var got []string
	for _, im := range res.Images {
		o := res.Objects[0]
		if im.File != o.File || im.Kind != o.Kind || im.Name != o.Name || im.Namespace != o.Namespace {
			t.Errorf("got image %+v, want it tied to %s %s/%s", im, o.Kind, o.Namespace, o.Name)
		}
		got = append(got, im.Source+" "+im.Image)
	}
	return got
}

func TestPodImages(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "deployment containers and init containers, duplicates once",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  template:
    spec:
      initContainers: [{name: init, image: "busybox:1.36"}]
      containers:
        - {name: web, image: "nginx:1.27"}
        - {name: web2, image: "nginx:1.27"}
        - {name: bad, image: "Not A Reference"}
        - {name: secret, image: "ENC[AES256_GCM,data:abc]"}`,
			want: []string{"pod docker.io/library/busybox:1.36", "pod docker.io/library/nginx:1.27"},
		},
		{
			name: "pod with ephemeral containers",
			yaml: `
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: app, image: "ghcr.io/org/app:v1"}]
  ephemeralContainers: [{name: dbg, image: "nicolaka/netshoot"}]`,
			want: []string{"pod docker.io/nicolaka/netshoot", "pod ghcr.io/org/app:v1"},
		},
		{
			name: "cronjob",
			yaml: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: restic, image: "restic/restic:0.17.3@` + testDigest + `"}]`,
			want: []string{"pod docker.io/restic/restic:0.17.3@" + testDigest},
		},
		{
			name: "any object with a pod template (Argo Rollout)",
			yaml: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  template:
    spec:
      containers: [{name: app, image: "ghcr.io/org/app:${APP_VERSION}"}]`,
			want: []string{"pod ghcr.io/org/app:${APP_VERSION}"},
		},
		{
			name: "a Pod kind outside the core group has no pod spec",
			yaml: `
apiVersion: example.com/v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: app, image: nginx}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := imagesOf(t, tt.yaml); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValuesImages(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   []string
	}{
		{
			name: "app-template controllers at depth, tag with digest",
			values: `
controllers:
  sonarr:
    initContainers:
      init-db:
        image: {repository: ghcr.io/home-operations/postgres-init, tag: "17"}
    containers:
      app:
        image:
          repository: ghcr.io/home-operations/sonarr
          tag: 4.0.14.2938@` + testDigest,
			want: []string{"values ghcr.io/home-operations/postgres-init:17",
				"values ghcr.io/home-operations/sonarr:4.0.14.2938@" + testDigest},
		},
		{
			name: "bitnami registry, repository, numeric tag, digest",
			values: `
image: {registry: docker.io, repository: bitnami/redis, tag: 7.2, digest: "` + testDigest + `"}
metrics:
  image: {registry: docker.io, repository: bitnami/redis-exporter, tag: 1.67.0}`,
			want: []string{"values docker.io/bitnami/redis-exporter:1.67.0",
				"values docker.io/bitnami/redis:7.2@" + testDigest},
		},
		{
			name: "image strings and name-style maps",
			values: `
image: "quay.io/org/app:1.2"
sidecars:
  - name: proxy
    image: "envoyproxy/envoy:v1.32.0"
exporter:
  image: {name: prom/statsd-exporter, tag: v0.28.0}`,
			want: []string{"values docker.io/envoyproxy/envoy:v1.32.0", "values docker.io/prom/statsd-exporter:v0.28.0",
				"values quay.io/org/app:1.2"},
		},
		{
			name: "ingress-nginx: image field beside registry, tag, digest",
			values: `
controller:
  image: {registry: registry.k8s.io, image: ingress-nginx/controller, tag: v1.11.3}
  admissionWebhooks:
    patch:
      image:
        registry: registry.k8s.io
        image: ingress-nginx/kube-webhook-certgen
        tag: v1.4.4
        digest: "` + testDigest + `"`,
			want: []string{"values registry.k8s.io/ingress-nginx/controller:v1.11.3",
				"values registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.4@" + testDigest},
		},
		{
			name: "an image map that does not parse yields nothing, not its parts",
			values: `
image: {registry: "${REGISTRY}", image: org/app, tag: "1.0"}`,
		},
		{
			name: "substitutions",
			values: `
app:
  image: {repository: ghcr.io/org/app, tag: "${APP_VERSION}"}
other:
  image: {repository: "${REGISTRY}/org/other", tag: "1.0"}
tpl:
  image: "{{ .Values.global.image }}"`,
			want: []string{"values ghcr.io/org/app:${APP_VERSION}"},
		},
		{
			name: "not images",
			values: `
backup: {repository: my-restic-repo}
git: {repository: "https://github.com/me/home"}
defaults: {image: {tag: "1.0", pullPolicy: IfNotPresent}}
emptyImage: {image: ""}
nameOnly: {name: nginx}
secret: {image: {repository: "ENC[AES256_GCM,data:abc]", tag: "1"}}`,
		},
		{
			name: "repository under an image-like key without siblings",
			values: `
initImage: {repository: busybox}`,
			want: []string{"values docker.io/library/busybox"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: media}
spec:
  chart: {spec: {chart: app, sourceRef: {kind: HelmRepository, name: r}}}
  values:
` + indent(tt.values, "    ")
			if got := imagesOf(t, yaml); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestValuesImagesNumbers feeds hand-built values, as the decoder gives them: numbers are json.Number.
func TestValuesImagesNumbers(t *testing.T) {
	var got []string
	valuesImages(map[string]any{
		"image": map[string]any{"repository": "bitnami/postgresql", "tag": json.Number("16.4")},
		"list":  []any{map[string]any{"image": map[string]any{"name": "redis", "tag": json.Number("7")}}},
		"bool":  map[string]any{"image": true},
	}, func(r imageRef) { got = append(got, r.image) })
	want := map[string]bool{"docker.io/bitnami/postgresql:16.4": true, "docker.io/library/redis:7": true}
	if len(got) != len(want) || !want[got[0]] || !want[got[1]] {
		t.Errorf("got %q, want %v", got, want)
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

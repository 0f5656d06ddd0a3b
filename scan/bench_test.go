package scan

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The benchmark corpus: benchRepos home-ops style repositories, generated (deterministically) the way
// real ones look — Flux Kustomizations, app-template and classic HelmReleases with values, OCI and Helm
// repositories, kustomization.yaml files, SOPS secrets, Deployments with Services in one file,
// ConfigMaps with embedded config files.
const (
	benchRepos       = 24
	benchAppsPerRepo = 40
)

type benchFile struct {
	name string
	data []byte
}

type benchCorpus struct {
	files []benchFile
	docs  [][]byte // every non-empty document, for the bare-parser baseline
	bytes int64
}

var benchCorpusOnce = sync.OnceValue(func() *benchCorpus {
	c := &benchCorpus{}
	for r := range benchRepos {
		for _, f := range benchRepo(r) {
			c.files = append(c.files, f)
			c.bytes += int64(len(f.data))
			splitDocuments(f.data, func(d rawDoc) bool {
				c.docs = append(c.docs, d.data)
				return true
			})
		}
	}
	return c
})

func benchRepo(r int) []benchFile {
	var files []benchFile
	add := func(name, format string, args ...any) {
		files = append(files, benchFile{name: fmt.Sprintf("repo%d/%s", r, name), data: fmt.Appendf(nil, format, args...)})
	}
	namespaces := []string{"default", "media", "home", "network", "database", "observability", "security", "tools"}
	add("kubernetes/flux/cluster/ks.yaml", benchClusterKS)
	add("kubernetes/flux/meta/repos/helm.yaml", benchHelmRepos)
	for _, ns := range namespaces {
		add("kubernetes/apps/"+ns+"/kustomization.yaml", benchNSKustomization, ns)
		add("kubernetes/apps/"+ns+"/namespace.yaml", "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns)
	}
	for a := range benchAppsPerRepo {
		ns := namespaces[a%len(namespaces)]
		app := fmt.Sprintf("app%02d", a)
		dir := "kubernetes/apps/" + ns + "/" + app
		add(dir+"/ks.yaml", benchAppKS, app, dir, ns)
		add(dir+"/app/kustomization.yaml", benchAppKustomization)
		switch a % 4 {
		case 0, 1: // app-template through an OCIRepository
			add(dir+"/app/ocirepository.yaml", benchOCIRepo, app, 3+a%2, a%10)
			add(dir+"/app/helmrelease.yaml", benchAppTemplateHR, app, app, a, 1+a%3, app)
		case 2: // a classic chart with bigger values
			add(dir+"/app/helmrelease.yaml", benchClassicHR, app, a%5, a)
		case 3: // plain manifests
			add(dir+"/app/deployment.yaml", benchDeployment, app, app, app, a, app, app, app)
			add(dir+"/app/configmap.yaml", benchConfigMap, app, app, a)
		}
		if a%5 == 0 {
			add(dir+"/app/secret.sops.yaml", benchSOPSSecret, app)
		}
	}
	return files
}

const benchClusterKS = `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  interval: 30m
  path: ./kubernetes/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  postBuild:
    substituteFrom:
      - kind: ConfigMap
        name: cluster-settings
      - kind: Secret
        name: cluster-secrets
`

const benchHelmRepos = `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: flux-system
spec:
  type: oci
  interval: 24h
  url: oci://registry-1.docker.io/bitnamicharts
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: jetstack
  namespace: flux-system
spec:
  interval: 1h
  url: https://charts.jetstack.io
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: grafana
  namespace: flux-system
spec:
  interval: 1h
  url: https://grafana.github.io/helm-charts
`

const benchNSKustomization = `---
# yaml-language-server: $schema=https://json.schemastore.org/kustomization
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - ./namespace.yaml
`

const benchAppKS = `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: &app %s
  namespace: flux-system
spec:
  commonMetadata:
    labels:
      app.kubernetes.io/name: *app
  interval: 1h
  path: ./%s/app
  prune: true
  retryInterval: 2m
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: %s
  timeout: 5m
  wait: false
  postBuild:
    substitute:
      APP: *app
      VOLSYNC_CAPACITY: 5Gi
`

const benchAppKustomization = `---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./helmrelease.yaml
`

const benchOCIRepo = `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: %s
spec:
  interval: 15m
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
  ref:
    tag: %d.7.%d
  url: oci://ghcr.io/bjw-s-labs/helm/app-template
`

const benchAppTemplateHR = `---
# yaml-language-server: $schema=https://raw.githubusercontent.com/bjw-s-labs/helm-charts/main/charts/other/app-template/schemas/helmrelease-helm-v2.schema.json
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: &app %s
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: %s
  install:
    remediation:
      retries: -1
  upgrade:
    cleanupOnFail: true
    remediation:
      retries: 3
  values:
    controllers:
      main:
        annotations:
          reloader.stakater.com/auto: "true"
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/app-%d
              tag: 1.%d.0@sha256:5d41402abc4b2a76b9719d911017c592b2b0e4b0c5a3f7c1e2d8b6a4f9e3c1d7
            env:
              TZ: ${TIMEZONE}
              APP_PORT: &port 8080
              APP_DB_PASSWORD: ${DB_PASSWORD}
              APP_LOG_LEVEL: info
            probes:
              liveness: &probes
                enabled: true
                custom: true
                spec:
                  httpGet:
                    path: /healthz
                    port: *port
                  initialDelaySeconds: 0
                  periodSeconds: 10
                  timeoutSeconds: 1
                  failureThreshold: 3
              readiness: *probes
            securityContext:
              allowPrivilegeEscalation: false
              readOnlyRootFilesystem: true
              capabilities: { drop: ["ALL"] }
            resources:
              requests:
                cpu: 10m
              limits:
                memory: 512Mi
    defaultPodOptions:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        fsGroupChangePolicy: OnRootMismatch
    service:
      app:
        controller: main
        ports:
          http:
            port: *port
    ingress:
      app:
        className: internal
        hosts:
          - host: "{{ .Release.Name }}.${SECRET_DOMAIN}"
            paths:
              - path: /
                service:
                  identifier: app
                  port: http
    persistence:
      config:
        existingClaim: %s
      tmp:
        type: emptyDir
`

const benchClassicHR = `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
spec:
  interval: 1h
  chart:
    spec:
      chart: postgresql
      version: 16.%d.x
      sourceRef:
        kind: HelmRepository
        name: bitnami
        namespace: flux-system
  values:
    global:
      storageClass: ceph-block
    auth:
      username: app
      existingSecret: db-auth
      database: app%d
    architecture: replication
    primary:
      resources:
        requests: {cpu: 100m, memory: 256Mi}
        limits: {memory: 1Gi}
      persistence:
        size: 20Gi
      extendedConfiguration: |
        max_connections = 200
        shared_buffers = 256MB
        effective_cache_size = 768MB
      podAntiAffinityPreset: soft
    readReplicas:
      replicaCount: 2
      persistence:
        size: 20Gi
    metrics:
      enabled: true
      image:
        registry: docker.io
        repository: bitnami/postgres-exporter
        tag: 0.16.0-debian-12-r2
      serviceMonitor:
        enabled: true
        interval: 30s
      prometheusRule:
        enabled: true
        rules:
          - alert: PostgresDown
            expr: pg_up == 0
            for: 5m
            labels: {severity: critical}
            annotations:
              summary: PostgreSQL is down
`

const benchDeployment = `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  labels:
    app.kubernetes.io/name: %s
spec:
  replicas: 2
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: %s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app
    spec:
      initContainers:
        - name: init-db
          image: ghcr.io/home-operations/postgres-init:16.%d
          envFrom:
            - secretRef:
                name: %s-db
      containers:
        - name: app
          image: docker.io/library/nginx:1.27.3
          args: ["--port=8080", "--log-format=json"]
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: API_URL
              value: http://api.default.svc.cluster.local:8080
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet:
              path: /ready
              port: http
          resources:
            requests: {cpu: 50m, memory: 64Mi}
            limits: {memory: 256Mi}
          volumeMounts:
            - name: config
              mountPath: /etc/app
      volumes:
        - name: config
          configMap:
            name: %s-config
---
apiVersion: v1
kind: Service
metadata:
  name: %s
spec:
  selector:
    app.kubernetes.io/name: app
  ports:
    - name: http
      port: 80
      targetPort: http
`

const benchConfigMap = `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %s-config
  labels:
    app.kubernetes.io/name: %s
data:
  config.yaml: |
    server:
      port: 8080
      workers: %d
    database:
      host: postgres-rw.database.svc.cluster.local
      name: app
    logging:
      level: info
      format: json
  nginx.conf: |
    server {
      listen 8080;
      location / {
        proxy_pass http://127.0.0.1:3000;
      }
    }
`

const benchSOPSSecret = `apiVersion: v1
kind: Secret
metadata:
    name: %s-secret
stringData:
    DB_PASSWORD: ENC[AES256_GCM,data:kq1hG5sT8uY=,iv:Lm2Nn3Oo4Pp5Qq6Rr7Ss8Tt9Uu0Vv1Ww2Xx3Yy4Zz5=,tag:Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op==,type:str]
    API_KEY: ENC[AES256_GCM,data:Zk3m1pQ7dVw2hU9yR4tE0sA==,iv:Hh7Xw0mPq3Vn2Zk8Yt5Rs1Lb4Cd6Fg9Jj0Kk2Mm4Nn6=,tag:Bq1Rr2Ss3Tt4Uu5Vv6Ww7Xx==,type:str]
sops:
    age:
        - recipient: age1x4f4ydnu8rjqdmh3w6xyz0pvn9ghj3fjlq8dq3pjlkp2v9u9uq6s5u9a9w
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBLbG9yZW0gaXBzdW0gZG9s
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2024-11-02T10:11:12Z"
    mac: ENC[AES256_GCM,data:Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6Nm8=,iv:Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2Mm3Nn4=,tag:Oo5Pp6Qq7Rr8Ss9Tt0Uu1Vv==,type:str]
    encrypted_regex: ^(data|stringData)$
    version: 3.9.1
`

// scanCorpus scans every file of c the way a sync does: objects stream to a Content callback.
func scanCorpus(tb testing.TB, c *benchCorpus) *Result {
	s := New(Options{Content: func(string, []byte) error { return nil }})
	for _, f := range c.files {
		if err := s.AddFile(f.name, bytes.NewReader(f.data)); err != nil {
			tb.Fatal(err)
		}
	}
	return s.Result()
}

// unmarshalCorpus is the baseline: bare sigs.k8s.io/yaml.Unmarshal of the same documents.
func unmarshalCorpus(tb testing.TB, c *benchCorpus) {
	for _, d := range c.docs {
		var m map[string]any
		if err := yaml.Unmarshal(d, &m); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkScan reports the scanner's throughput (MB/s, docs/s) and "ratio": its throughput divided by
// that of bare yaml.Unmarshal over the same documents. The ratio is measured after the timed loop from
// alternating passes of each (after a GC, so neither pays for the other's garbage), keeping the fastest
// of each, so that load from other processes on the machine hits both alike. The scanner's extra work — splitting, checks, redaction, hashing, facts —
// should cost at most a fifth: ratio ≥ 0.8.
func BenchmarkScan(b *testing.B) {
	c := benchCorpusOnce()
	b.SetBytes(c.bytes)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		scanCorpus(b, c)
		n++
	}
	perOp := b.Elapsed() / time.Duration(n)
	b.ReportMetric(float64(len(c.docs))/perOp.Seconds(), "docs/s")

	b.StopTimer()
	base, scan := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 5 {
		runtime.GC()
		start := time.Now()
		unmarshalCorpus(b, c)
		base = min(base, time.Since(start))
		runtime.GC()
		start = time.Now()
		scanCorpus(b, c)
		scan = min(scan, time.Since(start))
	}
	b.ReportMetric(base.Seconds()/scan.Seconds(), "ratio")
}

func BenchmarkYAMLUnmarshal(b *testing.B) {
	c := benchCorpusOnce()
	b.SetBytes(c.bytes)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		unmarshalCorpus(b, c)
		n++
	}
	perOp := b.Elapsed() / time.Duration(n)
	b.ReportMetric(float64(len(c.docs))/perOp.Seconds(), "docs/s")
}

// TestBenchCorpus keeps the generator honest (and cheap: one small repository).
func TestBenchCorpus(t *testing.T) {
	files := benchRepo(0)
	s := New(Options{})
	docs := 0
	for _, f := range files {
		if err := s.AddFile(f.name, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
		splitDocuments(f.data, func(rawDoc) bool { docs++; return true })
	}
	res := s.Result()
	if len(res.Errors) != 0 {
		t.Fatalf("generated files do not parse: %v", errorsText(res.Errors))
	}
	if res.Documents != docs || len(res.Objects) != docs {
		t.Errorf("got %d documents and %d objects, want %d of each", res.Documents, len(res.Objects), docs)
	}
	if len(res.Charts) == 0 || len(res.Images) == 0 {
		t.Errorf("got %d charts and %d images, want some", len(res.Charts), len(res.Images))
	}
	for _, o := range res.Objects {
		if strings.HasPrefix(o.File, "repo0/kubernetes/apps/") && o.Namespace == "" && !clusterScoped[o.Kind] && o.Group != kustomizeGroup {
			t.Errorf("%s %s/%s: no namespace inferred", o.File, o.Kind, o.Name)
		}
	}
}

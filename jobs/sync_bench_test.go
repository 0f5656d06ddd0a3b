package jobs_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/jobs"
)

// gitopsTree is a realistic home-ops tree: apps with an app-template release through an
// OCIRepository, a classic chart, a Deployment, kustomizations, secrets and the Flux plumbing.
func gitopsTree(seed, apps int) map[string]string {
	files := map[string]string{
		"README.md":              "# home-ops\n",
		".github/renovate.json5": "{}\n",
		"kubernetes/flux/repositories/bitnami.yaml":  "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: bitnami\n  namespace: flux-system\nspec:\n  type: oci\n  url: oci://registry-1.docker.io/bitnamicharts\n",
		"kubernetes/flux/repositories/jetstack.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: jetstack\n  namespace: flux-system\nspec:\n  url: https://charts.jetstack.io\n",
	}
	for a := range apps {
		app := fmt.Sprintf("app%02d", a)
		ns := []string{"media", "default", "home", "observability", "network"}[(seed+a)%5]
		dir := "kubernetes/apps/" + ns + "/" + app
		files[dir+"/ks.yaml"] = fmt.Sprintf("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: %s\n  namespace: flux-system\nspec:\n  path: ./%s/app\n  targetNamespace: %s\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  interval: 30m\n", app, dir, ns)
		files[dir+"/app/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./helmrelease.yaml\n  - ./ocirepository.yaml\n"
		files[dir+"/app/ocirepository.yaml"] = fmt.Sprintf("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: %s\nspec:\n  interval: 15m\n  url: oci://ghcr.io/bjw-s-labs/helm/app-template\n  ref:\n    tag: 4.%d.0\n", app, (seed+a)%5)
		files[dir+"/app/helmrelease.yaml"] = fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %[1]s
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: %[1]s
  values:
    controllers:
      %[1]s:
        annotations:
          reloader.stakater.com/auto: "true"
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/%[1]s
              tag: 1.%[2]d.%[3]d@sha256:%064[2]x
            env:
              TZ: Europe/Berlin
              API_KEY: ${SECRET_API_KEY}
            resources:
              requests:
                cpu: 10m
              limits:
                memory: 512Mi
    service:
      app:
        controller: %[1]s
        ports:
          http:
            port: 80
    ingress:
      app:
        className: internal
        hosts:
          - host: "%[1]s.${SECRET_DOMAIN}"
            paths:
              - path: /
                service:
                  identifier: app
                  port: http
    persistence:
      config:
        existingClaim: %[1]s
`, app, seed%50, a)
		if a%4 == 0 {
			files[dir+"/app/secret.sops.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s-secret\nstringData:\n  token: ENC[AES256_GCM,data:%d,iv:x,tag:y,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:z,type:str]\n", app, seed)
		}
		if a%5 == 0 {
			files[dir+"/app/deployment.yaml"] = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s-worker\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: %s\n  template:\n    metadata:\n      labels:\n        app: %s\n    spec:\n      initContainers:\n        - name: init\n          image: busybox:1.37\n      containers:\n        - name: worker\n          image: docker.io/library/redis:7.%d\n", app, app, app, a%4)
		}
	}
	return files
}

func peakRSSMiB() float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkSync500 syncs 500 generated repositories (about 30 apps, 100 objects each) through
// the fake GitHub end to end: download, scan, store. It then runs a second pass with no push
// and reports how many archives that downloaded (it must be none).
func BenchmarkSync500(b *testing.B) {
	repos := generate(500, "k8s-at-home", 11)
	for i := range repos {
		repos[i].Files = gitopsTree(i, 30)
		repos[i].DiskUsageKB = 1000
	}
	for b.Loop() {
		b.StopTimer()
		p := newPipeline(b, jobs.Config{SyncConcurrency: 2}, repos...)
		p.run(b, jobs.JobDiscover)
		stop := make(chan struct{})
		peak := make(chan uint64)
		go samplePeak(stop, peak)
		b.StartTimer()
		counts, run := p.run(b, jobs.JobSync)
		b.StopTimer()
		close(stop)
		if counts["synced"] != len(repos) {
			b.Fatalf("synced %d of %d (failed %d)", counts["synced"], len(repos), counts["failed"])
		}
		before := p.gh.Stats().Tarball
		again, _ := p.run(b, jobs.JobSync)
		b.ReportMetric(float64(p.gh.Stats().Tarball-before), "second-pass-downloads")
		b.ReportMetric(float64(again["due"]), "second-pass-due")
		b.ReportMetric(float64(counts["objects"])/run.FinishedAt.Sub(run.StartedAt).Seconds(), "objects/s")
		b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkSyncHugeRepo syncs one repository whose archive holds 20 MB and 200 MB of YAML,
// generated while it streams. Peak heap must not grow with the archive: the sync streams.
func BenchmarkSyncHugeRepo(b *testing.B) {
	for _, mb := range []int{20, 200} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			repo := generate(1, "k8s-at-home", 12)[0]
			repo.DiskUsageKB = 1000
			repo.Files = nil
			body := strings.Repeat("      - name: item\n        value: \"a fairly ordinary configuration line\"\n", 100)
			const perFile = 10 << 10
			files := mb << 20 / perFile
			repo.Generate = func(w *githubtest.ArchiveWriter) error {
				for i := range files {
					doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%06d\n  namespace: ns-%03d\ndata:\n  list: |\n%s", i, i%100, body)
					doc = doc[:min(len(doc), perFile)]
					if err := w.WriteFile(fmt.Sprintf("kubernetes/generated/%03d/cm-%06d.yaml", i/1000, i), []byte(doc)); err != nil {
						return err
					}
				}
				return nil
			}
			for b.Loop() {
				b.StopTimer()
				p := newPipeline(b, jobs.Config{SyncConcurrency: 1}, repo)
				p.run(b, jobs.JobDiscover)
				stop := make(chan struct{})
				peak := make(chan uint64)
				go samplePeak(stop, peak)
				start := time.Now()
				b.StartTimer()
				counts, _ := p.run(b, jobs.JobSync)
				b.StopTimer()
				close(stop)
				if counts["synced"] != 1 || counts["objects"] != files {
					b.Fatalf("counts %v, want 1 synced with %d objects", counts, files)
				}
				b.ReportMetric(float64(mb)/time.Since(start).Seconds(), "MB/s")
				b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
				b.StartTimer()
			}
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// GenerateRepos makes n realistic repos tagged topic, created over the six years after start with
// more of them in later years (so a few thousand need created: splitting to stay under search's
// 1,000-result cap), deterministic for a seed. IDs are fixed by topic and seed; owners are unique.
func GenerateRepos(n int, topic string, start time.Time, seed int64) []Repo {
	rnd := rand.New(rand.NewPCG(uint64(seed), 0x6b38732d61742d68))
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%d", topic, seed)
	base := 100_000_000 + int64(h.Sum32()%1000)*1_000_000 // room for 1e6 repos per (topic, seed)
	tag := fmt.Sprintf("%x", h.Sum32()&0xffff)

	span := 6 * 365 * 24 * time.Hour
	created := make([]time.Time, n)
	for i := range created {
		// sqrt skews towards the end: growth over the years, like k8s-at-home.
		f := math.Sqrt(rnd.Float64())
		created[i] = start.Add(time.Duration(f * float64(span))).UTC().Truncate(time.Second)
	}
	slices.SortFunc(created, time.Time.Compare)
	end := start.Add(span + 30*24*time.Hour)

	names := []string{"home-ops", "k8s-gitops", "home-cluster", "homelab", "cluster", "k8s-home", "flux-cluster", "talos-cluster", "gitops", "infrastructure"}
	extras := []string{"kubernetes", "gitops", "flux", "fluxcd", "talos", "homelab", "home-automation", "renovate", "k3s", "argocd", "sops", "terraform"}
	langs := []string{"Shell", "Shell", "Go", "HCL", "Python", "Jinja", "Nix", "Smarty", ""}
	licenses := []string{"MIT", "MIT", "Apache-2.0", "WTFPL", "GPL-3.0", "Unlicense", "", "", "NOASSERTION"}
	charts := []string{"grafana", "prometheus", "cert-manager", "ingress-nginx", "home-assistant", "plex", "traefik", "loki", "cilium", "longhorn"}

	repos := make([]Repo, n)
	for i := range repos {
		owner := fmt.Sprintf("%s-%s-%04d", ownerWords[rnd.IntN(len(ownerWords))], tag, i)
		name := names[rnd.IntN(len(names))]
		topics := []string{topic}
		for _, e := range extras {
			if rnd.IntN(4) == 0 && len(topics) < 20 {
				topics = append(topics, e)
			}
		}
		pushed := created[i].Add(time.Duration(rnd.Float64() * float64(end.Sub(created[i])))).Truncate(time.Second)
		updated := pushed.Add(time.Duration(rnd.IntN(72*3600)) * time.Second)
		sum := sha1.Sum(fmt.Appendf(nil, "%s/%s@%d", owner, name, seed))
		chart := charts[rnd.IntN(len(charts))]
		stars := int(math.Floor(math.Pow(rnd.Float64(), 6) * 2000))
		r := Repo{
			ID:              msgpackID("R_", base+int64(i)),
			DatabaseID:      base + int64(i),
			Owner:           owner,
			Name:            name,
			Description:     fmt.Sprintf("My home Kubernetes cluster managed by GitOps :: %s edition", strings.ToUpper(chart[:1])+chart[1:]),
			Language:        langs[rnd.IntN(len(langs))],
			LicenseSPDX:     licenses[rnd.IntN(len(licenses))],
			Topics:          topics,
			DefaultBranch:   "main",
			HeadOID:         hex.EncodeToString(sum[:]),
			HeadCommittedAt: pushed,
			IsArchived:      rnd.IntN(20) == 0,
			IsFork:          rnd.IntN(25) == 0,
			CreatedAt:       created[i],
			PushedAt:        pushed,
			UpdatedAt:       updated,
			DiskUsageKB:     100 + rnd.IntN(20_000),
			Stars:           stars,
			Forks:           stars / (3 + rnd.IntN(5)),
			Watchers:        1 + stars/20,
			OpenIssues:      rnd.IntN(6),
			Files: map[string]string{
				"README.md": "# " + name + "\n\nMy home operations repository.\n",
				"kubernetes/apps/default/" + chart + "/app/helmrelease.yaml":   fmt.Sprintf(helmReleaseTmpl, chart, chart, 1+rnd.IntN(40), rnd.IntN(20)),
				"kubernetes/apps/default/" + chart + "/app/kustomization.yaml": "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./helmrelease.yaml\n",
			},
		}
		if rnd.IntN(10) == 0 {
			r.DefaultBranch = "master"
		}
		if rnd.IntN(8) == 0 {
			r.HomepageURL = "https://" + owner + ".github.io"
		}
		repos[i] = r
	}
	return repos
}

var ownerWords = []string{"onedr0p", "bjw-s", "billimek", "carpenike", "toboshii", "xunholy", "auricom", "h3mmy", "jr0dd", "szinn", "buroa", "joryirving", "mirceanton", "ahinko", "dcplaya"}

const helmReleaseTmpl = `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
spec:
  interval: 30m
  chart:
    spec:
      chart: %s
      version: %d.%d.0
      sourceRef:
        kind: HelmRepository
        name: charts
        namespace: flux-system
`

// GitOpsTree is a realistic home-ops tree, deterministic for a seed, for tests and benchmarks that sync
// many repositories: per app an app-template release through an OCIRepository, Flux and kustomize
// Kustomizations, now and then a SOPS secret and a Deployment, plus the Flux HelmRepositories.
// About 75 KB and 140 objects for 30 apps.
func GitOpsTree(seed, apps int) map[string]string {
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

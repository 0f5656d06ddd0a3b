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

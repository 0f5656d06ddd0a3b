package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kubestats/kubestats/store"
)

// BenchmarkDashboard is one logged-in page view over real HTTP: session lookup, three
// store queries, templ rendering, all middleware.
func BenchmarkDashboard(b *testing.B) {
	e := newEnv(b).withUsers()
	c := e.client().mustLogin(adminEmail)
	b.ResetTimer()
	for b.Loop() {
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			b.Fatalf("got %d", r.StatusCode)
		}
	}
}

// BenchmarkRepositories measures /repositories over real HTTP with 5,000 repositories:
// the latency of full-text search, filters and sorts, reported as p50 and p99.
func BenchmarkRepositories(b *testing.B) {
	e := newEnv(b).withUsers()
	langs := []string{"Shell", "Go", "HCL", "Python", "Nix"}
	topics := [][]string{{"k8s-at-home", "flux"}, {"kubesearch", "talos"}, {"k8s-at-home", "argocd", "homelab"}}
	for chunk := 0; chunk < 10; chunk++ {
		var batch []store.RepoData
		for i := chunk * 500; i < (chunk+1)*500; i++ {
			created := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
			batch = append(batch, store.RepoData{
				GitHubID: fmt.Sprintf("R_%d", i), Owner: fmt.Sprintf("user%d", i), Name: []string{"home-ops", "k8s-gitops", "homelab"}[i%3],
				Description: fmt.Sprintf("My home Kubernetes cluster %d managed by Flux and Renovate", i),
				Language:    langs[i%len(langs)], Topics: topics[i%len(topics)], CreatedAt: &created, PushedAt: &created,
				UpdatedAt: &created, Stars: (i * 7919) % 3000, Forks: i % 97,
			})
		}
		if _, err := e.store.UpsertDiscovered(context.Background(), "k8s-at-home", batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	c := e.client().mustLogin(adminEmail)
	for _, q := range []struct{ name, path string }{
		{"default", "/repositories"},
		{"search", "/repositories?q=home+flux"},
		{"search-prefix", "/repositories?q=user12"},
		{"filter-language-topic", "/repositories?language=Go&topic=kubesearch"},
		{"sort-pushed-page-20", "/repositories?sort=pushed&page=20"},
		{"sort-name-search", "/repositories?sort=name&q=talos"},
		{"htmx-partial", "/repositories?q=cluster&sort=forks"},
	} {
		b.Run(q.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if r := c.get(q.path, "HX-Request", "true", "HX-Target", "repo-results"); r.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", q.path, r.StatusCode)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
		})
	}
}

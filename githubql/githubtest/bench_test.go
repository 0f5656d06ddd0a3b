package githubtest

import "testing"

// BenchmarkSearchPage measures one full search page (100 repos with the client's fields) out of 2,500.
func BenchmarkSearchPage(b *testing.B) {
	s := New(b)
	s.AddRepos(GenerateRepos(2500, "k8s-at-home", epoch, 1)...)
	s.SetRateLimit(1<<30, 1<<30, epoch.AddDate(100, 0, 0))
	vars := map[string]any{"q": "topic:k8s-at-home fork:true created:2023-01-01..2025-12-31", "first": 100}
	for b.Loop() {
		var d searchData
		query(b, s, searchQuery, vars, &d)
		if len(d.Search.Nodes) != 100 {
			b.Fatalf("got %d nodes, want 100", len(d.Search.Nodes))
		}
	}
}

package handlers_test

import (
	"net/http"
	"testing"
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

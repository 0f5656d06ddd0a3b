package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/kubestats/kubestats/handlers"
)

// TestAPILoad is TestLoad for the JSON API, with a bearer token and gzip: p50/p99/max and throughput
// per URL from 32 connections, a sync pass running in the background unless
// KUBESTATS_LOAD_SYNC=off. It fails on any error. KUBESTATS_LOAD_ONLY, a regular
// expression, keeps the URLs it matches (both load tests).
func TestAPILoad(t *testing.T) {
	l := startLoad(t, handlers.Config{APIRateLimit: 10_000_000})
	token, _, err := l.store.CreateToken(context.Background(), l.env.admin.ID, "load")
	if err != nil {
		t.Fatal(err)
	}
	repo := "/api/v1/repositories/" + url.PathEscape(l.repoOwner) + "/" + url.PathEscape(l.repoName)
	l.run([]string{
		"/api/health", // the noise floor: no database, no auth
		"/api/v1/openapi.json",
		"/api/v1/repositories",
		"/api/v1/repositories?q=home",
		"/api/v1/repositories?sort=pushed&page=20",
		"/api/v1/repositories?per_page=500",
		repo,
		repo + "/resources",
		repo + "/events",
		repo + "/metrics",
		repo + "/charts",
		"/api/v1/charts",
		"/api/v1/charts?per_page=500",
		"/api/v1/charts/app-template",
		"/api/v1/images",
		"/api/v1/images/" + l.imgRegistry + "/" + l.imgRepository,
		"/api/v1/deprecations",
		"/api/v1/ecosystem",
		"/api/v1/ecosystem?days=365",
	}, http.Header{"Authorization": {"Bearer " + token},
		// As API clients send it by default (Go's, Python's requests and httpx; curl with --compressed).
		"Accept-Encoding": {"gzip"}})
	l.finish()
}

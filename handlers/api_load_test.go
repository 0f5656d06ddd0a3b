package handlers_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// TestAPILoad is TestLoad for the JSON API: a copy of the database in KUBESTATS_LOAD_DB served
// through the real handlers with a bearer token, a sync pass running in the background, and
// KUBESTATS_LOAD_REQUESTS requests per URL from 32 connections. It prints p50/p99/max and
// throughput per URL and fails on any error. KUBESTATS_LOAD_ONLY keeps the URLs containing it.
func TestAPILoad(t *testing.T) {
	src := os.Getenv("KUBESTATS_LOAD_DB")
	if src == "" {
		t.Skip("set KUBESTATS_LOAD_DB to a database written by TestGenerateLoadDB")
	}
	n := envInt("KUBESTATS_LOAD_REQUESTS", 2000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "load.db")
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(src+suffix, path+suffix); err != nil && !(suffix != "" && errors.Is(err, os.ErrNotExist)) {
			t.Fatal(err)
		}
	}
	p := storetest.FastPasswords
	s, err := store.Open(ctx, store.Options{Path: path, Schema: storetest.Schema(t), PasswordParams: &p})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := handlers.Config{Version: "load", SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		SessionIdle: time.Hour, SessionLifetime: 24 * time.Hour, Static: os.DirFS("../static"), APIRateLimit: 10_000_000}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fake := githubtest.New(t)
	gh := githubql.New(githubql.Options{Token: fake.Token(), GraphQLURL: fake.GraphQLURL(), APIURL: fake.APIURL()})
	runner := jobs.New(s, gh, jobs.Config{Topics: []string{"k8s-at-home"}, SyncConcurrency: 2,
		Sessions: store.SessionPolicy{Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime}}, log)
	defer runner.Close()
	h, err := handlers.New(s, cfg, runner, gh, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Echo())
	defer srv.Close()
	admin, err := s.CreateUser(ctx, store.NewUser{Email: adminEmail, Name: "Admin", Password: password, IsSuperuser: true})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.CreateToken(ctx, admin.ID, "load")
	if err != nil {
		t.Fatal(err)
	}

	var owner, name, registry, repository string
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT owner, name FROM repositories ORDER BY stars DESC LIMIT 1").Scan(&owner, &name); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT registry, repository FROM image_stats ORDER BY repos DESC LIMIT 1").Scan(&registry, &repository)
	})
	if err != nil {
		t.Fatal(err)
	}
	syncs := backgroundSync(ctx, t, s, fake, runner, owner)
	var syncWG sync.WaitGroup
	syncWG.Add(1)
	go func() { defer syncWG.Done(); syncs.run(ctx) }()
	defer syncWG.Wait()
	defer cancel()

	repo := "/api/v1/repositories/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
	urls := []string{
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
		"/api/v1/images/" + registry + "/" + repository,
		"/api/v1/deprecations",
		"/api/v1/ecosystem",
		"/api/v1/ecosystem?days=365",
	}
	hc := &http.Client{
		Transport: &authTransport{token: token, base: &http.Transport{MaxIdleConns: 2 * loadConcurrency, MaxIdleConnsPerHost: 2 * loadConcurrency}},
		Timeout:   30 * time.Second,
	}
	defer hc.CloseIdleConnections()
	var report strings.Builder
	fmt.Fprintf(&report, "%-60s %8s %6s %8s %8s %8s %8s\n", "url", "requests", "errors", "p50", "p99", "max", "req/s")
	for _, u := range urls {
		if only := os.Getenv("KUBESTATS_LOAD_ONLY"); only != "" && !strings.Contains(u, only) {
			continue
		}
		if status, err := fetch(hc, srv.URL+u); err != nil || status != http.StatusOK {
			t.Errorf("%s: first request: status %d, %v", u, status, err)
			continue
		}
		r := hammer(hc, srv.URL+u, n)
		fmt.Fprintf(&report, "%-60s %8d %6d %8s %8s %8s %8.0f\n", u, n, r.errors, ms(r.pct(50)), ms(r.pct(99)), ms(r.pct(100)),
			float64(n)/r.wall.Seconds())
		if r.errors > 0 {
			t.Errorf("%s: %d of %d requests failed, first: %s", u, r.errors, n, r.firstErr)
		}
	}
	cancel()
	syncWG.Wait()
	fmt.Fprintf(&report, "background sync: %d repositories synced, %d failed during the run\n", syncs.synced.Load(), syncs.failed.Load())
	t.Logf("%d concurrent connections, %d requests per URL\n%s", loadConcurrency, n, report.String())
}

// authTransport adds the bearer token to every request.
type authTransport struct {
	token string
	base  http.RoundTripper
}

func (a *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	return a.base.RoundTrip(r)
}

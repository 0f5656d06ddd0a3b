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
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storegen"
	"github.com/kubestats/kubestats/store/storetest"
	"github.com/kubestats/kubestats/views"
)

// TestGenerateLoadDB writes the load-test database (5,000 repos, ~500,000 resources, a year of
// metrics and events) to the path in KUBESTATS_LOAD_GENERATE. KUBESTATS_LOAD_REPOS,
// KUBESTATS_LOAD_RESOURCES, KUBESTATS_LOAD_DAYS and KUBESTATS_LOAD_METRICS_EVERY scale it.
func TestGenerateLoadDB(t *testing.T) {
	path := os.Getenv("KUBESTATS_LOAD_GENERATE")
	if path == "" {
		t.Skip("set KUBESTATS_LOAD_GENERATE to the database file to write")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists; remove it first", path)
	}
	opts := storegen.Options{Repos: envInt("KUBESTATS_LOAD_REPOS", 5000), ResourcesPerRepo: envInt("KUBESTATS_LOAD_RESOURCES", 100),
		Days: envInt("KUBESTATS_LOAD_DAYS", 365), MetricsEvery: envInt("KUBESTATS_LOAD_METRICS_EVERY", 1), Seed: 1,
		Now: time.Now().UTC().Truncate(24 * time.Hour)}
	lastLog := time.Now()
	opts.Progress = func(day, days int) {
		if time.Since(lastLog) > 10*time.Second {
			t.Logf("day %d of %d", day, days)
			lastLog = time.Now()
		}
	}
	ctx := context.Background()
	s, clock, err := storegen.Open(ctx, path, storetest.Schema(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := storegen.Fill(ctx, s, clock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, "ANALYZE"); return err }); err != nil {
		t.Fatal(err)
	}
	size, err := s.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s; database %.0f MB", st, float64(size)/1e6)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// loadConcurrency is the number of simultaneous connections of the performance target.
const loadConcurrency = 32

// TestLoad serves a copy of the database in KUBESTATS_LOAD_DB (see TestGenerateLoadDB) through
// the real handlers over real HTTP, logged in, while a sync pass runs in the background, and
// sends KUBESTATS_LOAD_REQUESTS requests (2,000) per page from 32 connections. It prints
// p50/p99/max latency and throughput per page and fails on any error. Pages that do not exist
// yet (404 on a first request) are skipped.
func TestLoad(t *testing.T) {
	src := os.Getenv("KUBESTATS_LOAD_DB")
	if src == "" {
		t.Skip("set KUBESTATS_LOAD_DB to a database written by TestGenerateLoadDB")
	}
	n := envInt("KUBESTATS_LOAD_REQUESTS", 2000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Work on a copy: the login, the sessions and the background sync write to it.
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
		SessionIdle: time.Hour, SessionLifetime: 24 * time.Hour, Static: os.DirFS("../static")}
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
	e := &env{t: t, store: s, h: h, srv: srv, github: fake}
	if e.admin, err = s.CreateUser(ctx, store.NewUser{Email: adminEmail, Name: "Admin", Password: password, IsSuperuser: true}); err != nil {
		t.Fatal(err)
	}
	login := e.client().mustLogin(adminEmail)

	var repoOwner, repoName, image string
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		// The most starred repository: the one visitors open most.
		if err := tx.QueryRowContext(ctx, "SELECT owner, name FROM repositories ORDER BY stars DESC LIMIT 1").Scan(&repoOwner, &repoName); err != nil {
			return err
		}
		var reg, rep string
		if err := tx.QueryRowContext(ctx, `SELECT registry, repository FROM image_stats
			ORDER BY repos DESC LIMIT 1`).Scan(&reg, &rep); err != nil {
			return err
		}
		image = views.ImagePath(reg, rep)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	syncs := backgroundSync(ctx, t, s, fake, runner, repoOwner)
	var syncWG sync.WaitGroup
	syncWG.Add(1)
	go func() { defer syncWG.Done(); syncs.run(ctx) }()
	defer syncWG.Wait()
	defer cancel()

	repo := "/repositories/" + repoOwner + "/" + repoName
	pages := []struct {
		path     string
		optional bool // skipped while the page does not exist
	}{
		{"/", false},
		{"/repositories", false},
		{"/repositories?q=home", false},
		{"/repositories?sort=pushed&page=20", false},
		{repo, false},
		{repo + "/resources", false},
		{repo + "/resources?kind=HelmRelease", false},
		{repo + "/events", false},
		{"/charts", true},
		{"/charts/app-template", true},
		{"/images", true},
		{image, true},
		{"/deprecations", true},
		{"/resources", true},
		{"/resources?namespace=flux-system", true},
		{"/resources/kustomize.toolkit.fluxcd.io/Kustomization", true},
		{"/resources/helm.toolkit.fluxcd.io/HelmRelease?name=cert-manager", true},
		{"/search?q=home", true},
		{"/search/suggest?q=son", true},
		{"/ecosystem", true},
		{"/ecosystem?days=365", true},
	}
	hc := &http.Client{
		Jar:           login.hc.Jar,
		Transport:     &http.Transport{MaxIdleConns: 2 * loadConcurrency, MaxIdleConnsPerHost: 2 * loadConcurrency},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	defer hc.CloseIdleConnections()
	var report strings.Builder
	fmt.Fprintf(&report, "%-56s %8s %6s %8s %8s %8s %8s\n", "page", "requests", "errors", "p50", "p99", "max", "req/s")
	failed := false
	for _, pg := range pages {
		status, err := fetch(hc, srv.URL+pg.path)
		if err == nil && status == http.StatusNotFound && pg.optional {
			fmt.Fprintf(&report, "%-56s skipped: 404\n", pg.path)
			continue
		}
		if err != nil || status != http.StatusOK {
			t.Errorf("%s: first request: status %d, %v", pg.path, status, err)
			failed = true
			continue
		}
		r := hammer(hc, srv.URL+pg.path, n)
		fmt.Fprintf(&report, "%-56s %8d %6d %8s %8s %8s %8.0f\n", pg.path, n, r.errors, ms(r.pct(50)), ms(r.pct(99)), ms(r.pct(100)),
			float64(n)/r.wall.Seconds())
		if r.errors > 0 {
			t.Errorf("%s: %d of %d requests failed, first: %s", pg.path, r.errors, n, r.firstErr)
			failed = true
		}
	}
	cancel()
	syncWG.Wait()
	fmt.Fprintf(&report, "background sync: %d repositories synced, %d failed during the run\n", syncs.synced.Load(), syncs.failed.Load())
	t.Logf("%d concurrent connections, %d requests per page\n%s", loadConcurrency, n, report.String())
	if syncs.failed.Load() > 0 && !failed {
		t.Errorf("background sync: %d failures", syncs.failed.Load())
	}
}

// syncLoad keeps a sync pass going over a few repositories for as long as the load runs.
type syncLoad struct {
	s      *store.Store
	runner *jobs.Runner
	ids    []int64
	synced atomic.Int64
	failed atomic.Int64
	t      *testing.T
}

// backgroundSync serves eight repositories from the fake GitHub, each a real home-ops tree at
// the head the database knows, so that every pass downloads, scans and applies them again.
func backgroundSync(ctx context.Context, t *testing.T, s *store.Store, fake *githubtest.Server, runner *jobs.Runner, skipOwner string) *syncLoad {
	t.Helper()
	l := &syncLoad{s: s, runner: runner, t: t}
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id, database_id, owner, name, head_oid FROM repositories WHERE owner <> ? ORDER BY id LIMIT 8", skipOwner)
		if err != nil {
			return err
		}
		defer rows.Close()
		for i := 0; rows.Next(); i++ {
			var id, dbID int64
			var owner, name, head string
			if err := rows.Scan(&id, &dbID, &owner, &name, &head); err != nil {
				return err
			}
			fake.AddRepos(githubtest.Repo{DatabaseID: dbID, Owner: owner, Name: name, DefaultBranch: "main", HeadOID: head,
				Files: githubtest.GitOpsTree(i, 30)})
			l.ids = append(l.ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *syncLoad) run(ctx context.Context) {
	for ctx.Err() == nil {
		for _, id := range l.ids {
			if err := l.s.RequestSync(ctx, id); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrConflict) {
				l.t.Errorf("background sync: request: %v", err)
				return
			}
		}
		counts, err := l.runner.Sync(ctx)
		l.synced.Add(int64(counts["synced"]))
		if ctx.Err() == nil {
			l.failed.Add(int64(counts["failed"]))
			if err != nil {
				l.t.Errorf("background sync: %v", err)
				return
			}
		}
	}
}

type loadResult struct {
	lat      []time.Duration // sorted
	errors   int
	firstErr string
	wall     time.Duration
}

func (r loadResult) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)]
}

// hammer sends n GETs to u from loadConcurrency workers and records every latency.
func hammer(hc *http.Client, u string, n int) loadResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  loadResult
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range loadConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				status, err := fetch(hc, u)
				lat = append(lat, time.Since(t0))
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					mu.Lock()
					if res.errors == 0 {
						res.firstErr = err.Error()
					}
					res.errors++
					mu.Unlock()
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	slices.Sort(res.lat)
	return res
}

func fetch(hc *http.Client, u string) (int, error) {
	res, err := hc.Get(u)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

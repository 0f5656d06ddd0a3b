package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kubestats/kubestats/githubql/githubtest"
)

// syncBuffer collects a server's log output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer runs the real program (run) on a random port and returns its base URL.
// The server stops, and its exit is checked, when the test ends.
func startServer(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	base, logs, _ := startServerLogs(t, env)
	return base, logs
}

// startServerStoppable is startServer with a function that stops the server now.
func startServerStoppable(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	base, _, stop := startServerLogs(t, env)
	return base, stop
}

func startServerLogs(t *testing.T, env map[string]string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, envFunc(env), strings.NewReader(""), io.Discard, logs)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server exited with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("server did not stop within 20s of cancellation")
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1], logs, stop
		}
		select {
		case err := <-done:
			t.Fatalf("server exited early: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", logs.String())
	return "", nil, nil
}

var csrfFieldRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// loginOverHTTP logs in as a browser would: it takes the CSRF token from the login
// form, posts the form, follows the redirect and returns the final response and body.
func loginOverHTTP(t *testing.T, hc *http.Client, base, email, password string) (*http.Response, string) {
	t.Helper()
	res, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfFieldRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field on the login page:\n%s", body)
	}
	res, err = hc.PostForm(base+"/login", url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ = io.ReadAll(res.Body)
	return res, string(body)
}

func TestServeBootsAndLogsIn(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kubestats.db")
	base, logs := startServer(t, map[string]string{
		"KUBESTATS_DB": db, "KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "first admin pw",
	})
	if !strings.Contains(logs.String(), "created first superuser") {
		t.Errorf("no first-superuser log:\n%s", logs.String())
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}

	res, err := hc.Get(base + "/api/health/db")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("health: %v %v", res, err)
	}
	res.Body.Close()

	res, body := loginOverHTTP(t, hc, base, "admin@example.org", "first admin pw")
	if res.StatusCode != 200 || res.Request.URL.Path != "/" || !strings.Contains(body, `data-testid="stat-users"`) {
		t.Fatalf("after login: got %d at %s, want the dashboard\n%.500s", res.StatusCode, res.Request.URL.Path, body)
	}
	var probe bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck", "--url", base + "/api/health/db"}, envFunc(nil), nil, &probe, io.Discard); err != nil || !strings.Contains(probe.String(), `"status":"ok"`) {
		t.Errorf("healthcheck: %v %q", err, probe.String())
	}
	if !strings.Contains(body, "Discovery is paused") {
		t.Error("dashboard does not say that discovery is paused without a token")
	}
}

// TestSessionSurvivesRestart: the generated cookie key is kept in the database, so a
// restart does not log everybody out.
func TestSessionSurvivesRestart(t *testing.T) {
	env := map[string]string{
		"KUBESTATS_DB":          filepath.Join(t.TempDir(), "k.db"),
		"KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "restart pw 123",
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	dashboard := func(base string) string {
		res, err := hc.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.Request.URL.Path
	}
	first, stop := startServerStoppable(t, env)
	loginOverHTTP(t, hc, first, "admin@example.org", "restart pw 123")
	if p := dashboard(first); p != "/" {
		t.Fatalf("after login landed on %s", p)
	}
	stop()
	second, _ := startServer(t, env)
	// Cookies are per host, not per port: the jar sends them to the new port too.
	if p := dashboard(second); p != "/" {
		t.Fatalf("after restart landed on %s, want the dashboard", p)
	}
}

func TestServeWithoutUsersSaysHowToCreateOne(t *testing.T) {
	base, logs := startServer(t, map[string]string{"KUBESTATS_DB": filepath.Join(t.TempDir(), "k.db")})
	if !strings.Contains(logs.String(), "kubestats user create --superuser") {
		t.Errorf("log does not say how to create a user:\n%s", logs.String())
	}
	res, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "kubestats user create --superuser") {
		t.Error("login page does not say how to create a user")
	}
}

func TestBadSettingsFailWithOneSentence(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	link := filepath.Join(dir, "link.sqlite")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad duration flag", []string{"serve", "--session-idle-timeout", "soon"}, nil, `"soon" is not a positive duration`},
		{"bad duration env", nil, map[string]string{"KUBESTATS_SESSION_LIFETIME": "-1h"}, "invalid KUBESTATS_SESSION_LIFETIME"},
		{"bad log format", nil, map[string]string{"KUBESTATS_LOG_FORMAT": "xml"}, "invalid KUBESTATS_LOG_FORMAT"},
		{"bad bool", nil, map[string]string{"KUBESTATS_TRUST_PROXY": "perhaps"}, "invalid KUBESTATS_TRUST_PROXY"},
		{"bad addr", []string{"--addr", "8080"}, nil, `"8080" is not host:port`},
		{"unknown flag", []string{"--colour"}, nil, "flag provided but not defined"},
		{"unreadable db dir", []string{"--db", filepath.Join(dir, "missing", "k.db"), "--addr", "127.0.0.1:0"}, nil, "cannot open database"},
		{"port in use", []string{"--addr", busy.Addr().String(), "--db", filepath.Join(dir, "k.db")}, nil, "cannot listen on"},
		{"short secret", []string{"--addr", "127.0.0.1:0"}, map[string]string{"KUBESTATS_SECRET_KEY": "short"}, "at least 32 characters"},
		{"half admin", []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "h.db")}, map[string]string{"KUBESTATS_ADMIN_EMAIL": "a@example.org"}, "set both"},
		{"unknown command", []string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		// The export is renamed into place: onto the database or a file SQLite keeps beside it,
		// it replaces the live database with the public dataset.
		{"export path is the database", []string{"--addr", "127.0.0.1:0", "--db", db, "--export-path", db}, nil, "is the database"},
		{"export path is the wal", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_EXPORT_PATH": db + "-wal"}, "write-ahead log"},
		{"export path is the database, uncleaned", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_EXPORT_PATH": filepath.Join(dir, "sub") + "/../s.db"}, "is the database"},
		{"export path links to the database", []string{"--addr", "127.0.0.1:0", "--db", db, "--export-path", link}, nil, "is the database"},
		{"run export onto the shm", []string{"run", "export", "--db", db, "--export-path", db + "-shm"}, nil, "shared-memory"},
		{"export directory missing", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_EXPORT_PATH": filepath.Join(dir, "nodir", "x.sqlite")}, "export directory " + filepath.Join(dir, "nodir") + " cannot be used"},
		{"github api over http", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_GITHUB_API_URL": "http://github.example.org/api/v3"}, "in clear"},
		{"github graphql over http", []string{"--addr", "127.0.0.1:0", "--db", db, "--github-graphql-url", "http://10.0.0.7/api/graphql"}, nil, "in clear"},
		{"short metrics token", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_METRICS_TOKEN": "short"}, "at least 16 characters"},
		{"idle timeout under a minute", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_SESSION_IDLE_TIMEOUT": "30s"}, "at least a minute"},
		{"idle timeout over the lifetime", []string{"--addr", "127.0.0.1:0", "--db", db, "--session-idle-timeout", "48h", "--session-lifetime", "24h"}, nil, "longer than the session lifetime"},
		{"bad sync timeout", []string{"--addr", "127.0.0.1:0", "--db", db}, map[string]string{"KUBESTATS_SYNC_TIMEOUT": "0s"}, "invalid KUBESTATS_SYNC_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, tc.args, envFunc(tc.env), strings.NewReader(""), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("error is not one line or a trace was printed: %q", err)
			}
		})
	}
}

// The GitHub endpoints are sent the token: plain http is accepted only where nothing carries
// it off this machine (the tests' fake GitHub listens on 127.0.0.1).
func TestGitHubURLsOverHTTPOnlyToLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://ghe.example.org/api/graphql": true,
		"http://127.0.0.1:8081/graphql":       true,
		"http://127.7.0.9/graphql":            true,
		"http://localhost:8081/graphql":       true,
		"http://LOCALHOST/graphql":            true,
		"http://[::1]:8081/graphql":           true,
		"http://ghe.example.org/api/graphql":  false,
		"http://127.0.0.1.example.org/":       false,
		"http://10.0.0.7/api/graphql":         false,
		"http://[::2]/graphql":                false,
		"http://localhost.example.org/":       false,
	} {
		for _, env := range []string{"KUBESTATS_GITHUB_GRAPHQL_URL", "KUBESTATS_GITHUB_API_URL"} {
			_, _, err := parseSettings("serve", nil, envFunc(map[string]string{env: url}), serveSettings(), io.Discard, nil)
			if ok && err != nil {
				t.Errorf("%s=%s: got %v, want it accepted", env, url, err)
			}
			if !ok && (err == nil || !strings.Contains(err.Error(), "in clear")) {
				t.Errorf("%s=%s: got %v, want a refusal saying the token would travel in clear", env, url, err)
			}
		}
	}
}

func TestHelpDocumentsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, envFunc(nil), nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "help") {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	var serveHelp bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, envFunc(nil), nil, io.Discard, &serveHelp)
	for _, s := range serveSettings() {
		for _, text := range []string{out.String(), serveHelp.String()} {
			if !strings.Contains(text, s.envs[0]) || !strings.Contains(text, "--"+s.flag) {
				t.Errorf("help lacks %s / --%s", s.envs[0], s.flag)
			}
			if s.def != "" && !strings.Contains(text, "default "+s.def) {
				t.Errorf("help lacks the default of %s", s.envs[0])
			}
		}
	}
}

func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	ctx := context.Background()
	env := envFunc(map[string]string{"KUBESTATS_DB": db})
	cli := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, env, strings.NewReader(stdin), &out, io.Discard)
		return out.String(), err
	}
	out, err := cli("s3cret password\n", "user", "create", "--email", "ops@example.org", "--name", "Ops", "--superuser")
	if err != nil || !strings.Contains(out, "created superuser ops@example.org") {
		t.Fatalf("create: %q %v", out, err)
	}
	if _, err := cli("another one\n", "user", "create", "--email", "OPS@example.org"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate: got %v", err)
	}
	if _, err := cli("", "user", "create", "--email", "x@example.org"); err == nil || !strings.Contains(err.Error(), "no password on stdin") {
		t.Fatalf("empty stdin: got %v", err)
	}
	if _, err := cli("", "user", "create", "--email", "x@example.org", "hunter2"); err == nil || !strings.Contains(err.Error(), "never from arguments") {
		t.Fatalf("password as argument: got %v", err)
	}
	if _, err := cli("short\n", "user", "create", "--email", "x@example.org"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("short password: got %v", err)
	}
	if out, err := cli("new secret pw\n", "user", "set-password", "--email", "ops@example.org"); err != nil || !strings.Contains(out, "password of ops@example.org set") {
		t.Fatalf("set-password: %q %v", out, err)
	}
	if _, err := cli("new secret pw\n", "user", "set-password", "--email", "nobody@example.org"); err == nil || !strings.Contains(err.Error(), "no user has the email") {
		t.Fatalf("set-password unknown: got %v", err)
	}
	out, err = cli("", "user", "list")
	if err != nil || !strings.Contains(out, "ops@example.org") || !strings.Contains(out, "superuser") || strings.Contains(out, "x@example.org") {
		t.Fatalf("list: %q %v", out, err)
	}
	if out, err := cli("", "version"); err != nil || !strings.HasPrefix(out, "kubestats ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

// TestBrowserLoginDashboardLogout drives Debian's Chromium against the real server.
func TestBrowserLoginDashboardLogout(t *testing.T) {
	browser := chromiumOrSkip(t)
	// One repository, discovered before the server starts, that the sync button will download.
	repo := githubtest.GenerateRepos(1, "k8s-at-home", time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), 3)[0]
	repo.IsFork = false
	gh := githubtest.New(t, githubtest.WithRepos(repo))
	env := map[string]string{
		"KUBESTATS_DB": filepath.Join(t.TempDir(), "k.db"), "KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "browser pw 123",
		"GITHUB_TOKEN": gh.Token(), "KUBESTATS_GITHUB_GRAPHQL_URL": gh.GraphQLURL(), "KUBESTATS_GITHUB_API_URL": gh.APIURL(),
		"KUBESTATS_TOPICS": "k8s-at-home", "KUBESTATS_DISCOVER_INTERVAL": "24h", "KUBESTATS_REFRESH_INTERVAL": "24h", "KUBESTATS_SYNC_INTERVAL": "24h",
	}
	if err := run(context.Background(), []string{"run", "discover"}, envFunc(env), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	gh.SetDelay(300 * time.Millisecond) // a sync long enough to be seen in progress
	base, _ := startServer(t, env)
	b := startBrowser(t, browser, 60*time.Second)
	ctx := b.ctx
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css(`[data-testid="login-submit"]`)),
		chromedp.SendKeys(css(`input[name="email"]`), "admin@example.org"),
		chromedp.SendKeys(css(`input[name="password"]`), "browser pw 123"),
		chromedp.Click(css(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(css(`[data-testid="stat-users"]`)),
	)
	if users := text(`[data-testid="stat-users"] .stat-value`); strings.TrimSpace(users) != "1" {
		t.Errorf("dashboard users = %q, want 1", users)
	}
	// app.js labels the theme button: proof that our script ran under the CSP.
	if theme := text(`[data-theme-toggle]`); !strings.HasPrefix(theme, "Theme: ") {
		t.Errorf("theme button %q: app.js did not run", theme)
	}
	// The server's start-up sync downloads the repository (the panel polls while it runs);
	// then the head is scanned, and only a superuser's Rescan downloads it again. The button:
	// htmx posts, the panel polls itself and ends with the counts, no reload.
	step("open repository", chromedp.Navigate(base+"/repositories/"+repo.Owner+"/"+repo.Name),
		chromedp.WaitVisible(css(`[data-testid="rescan-button"]`)))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.kubestatsMarker = 7")); err != nil {
		t.Fatal(err)
	}
	step("rescan", chromedp.Click(css(`[data-testid="rescan-button"]`)), chromedp.WaitVisible(css(`[data-testid="sync-done"]`)))
	if marker, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.kubestatsMarker || 0")); err != nil || marker != 7 {
		t.Errorf("the page reloaded during the sync (marker %d, %v)", marker, err)
	}
	if st := text(`[data-testid="sync-status"]`); st != "success" {
		t.Errorf("sync status %q, want success", st)
	}
	if n := text(`[data-testid="count-objects"]`); n == "" || n == "0" {
		t.Errorf("objects after sync %q", n)
	}
	// A new API token: the copy button (hidden without JavaScript) selects it and copies it,
	// or asks for Ctrl+C where the browser refuses the clipboard.
	step("create a token",
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(css(`[data-testid="token-form"] input[name="name"]`)),
		chromedp.SendKeys(css(`[data-testid="token-form"] input[name="name"]`), "browser"),
		chromedp.Submit(css(`[data-testid="token-form"] input[name="name"]`)),
		chromedp.WaitVisible(css(`[data-testid="copy-token"]`)),
		chromedp.Click(css(`[data-testid="copy-token"]`)),
	)
	label, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(function () { var t = document.querySelector('[data-testid="copy-token"]').textContent; return t !== "Copy" && t; })()`,
		chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil || (label != "Copied" && label != "Press Ctrl+C") {
		t.Errorf("copy button says %q after a click (%v)", label, err)
	}
	selected, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () {
		var f = document.getElementById("new-token-value");
		return document.activeElement === f && f.value.indexOf("ks_") === 0 && f.selectionStart === 0 && f.selectionEnd === f.value.length;
	})()`))
	if err != nil || !selected {
		t.Errorf("the token is not selected after the copy click (%v)", err)
	}
	step("log out",
		chromedp.Click(css(`[data-testid="user-menu"]`)),
		chromedp.WaitVisible(css(`[data-testid="logout"]`)),
		chromedp.Click(css(`[data-testid="logout"]`)),
		chromedp.WaitVisible(css(`[data-testid="login-submit"]`)),
	)
	if flash := text(`[data-testid="flash"]`); !strings.Contains(flash, "logged out") {
		t.Errorf("flash after logout = %q", flash)
	}
	// After logout the dashboard is closed again.
	step("revisit", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`[data-testid="login-submit"]`)))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/login") {
		t.Errorf("after logout / went to %s (%v), want /login", loc, err)
	}
	b.checkProblems(t)
}

// TestRunJobsFillRepositoryPages is the pipeline end to end through the real program:
// `kubestats run discover` and `run refresh` against a GitHub-compatible endpoint, then
// the server shows the repositories and the runs.
func TestRunJobsFillRepositoryPages(t *testing.T) {
	gh := githubtest.New(t, githubtest.WithRepos(githubtest.GenerateRepos(120, "k8s-at-home", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 11)...))
	env := map[string]string{
		"KUBESTATS_DB": filepath.Join(t.TempDir(), "k.db"), "GITHUB_TOKEN": gh.Token(),
		"KUBESTATS_GITHUB_GRAPHQL_URL": gh.GraphQLURL(), "KUBESTATS_GITHUB_API_URL": gh.APIURL(),
		"KUBESTATS_TOPICS": "k8s-at-home", "KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "pipeline pw 1",
		// The server below must not start its own runs: the test wants only the CLI's.
		"KUBESTATS_DISCOVER_INTERVAL": "24h", "KUBESTATS_REFRESH_INTERVAL": "24h", "KUBESTATS_SYNC_INTERVAL": "24h",
	}
	for _, job := range []string{"discover", "refresh", "sync"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"run", job}, envFunc(env), nil, &out, io.Discard); err != nil {
			t.Fatalf("run %s: %v\n%s", job, err, out.String())
		}
		if !strings.HasPrefix(out.String(), job+" ok in ") {
			t.Fatalf("run %s printed %q", job, out.String())
		}
	}
	var out bytes.Buffer
	bad := map[string]string{"KUBESTATS_DB": env["KUBESTATS_DB"]} // no token
	if err := run(context.Background(), []string{"run", "discover"}, envFunc(bad), nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "no GitHub token") {
		t.Fatalf("run without token: %v", err)
	}

	base, _ := startServer(t, env)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if res, _ := loginOverHTTP(t, hc, base, "admin@example.org", "pipeline pw 1"); res.Request.URL.Path != "/" {
		t.Fatalf("login landed on %s", res.Request.URL.Path)
	}
	get := func(path string) string {
		res, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		return string(b)
	}
	if page := get("/repositories"); !strings.Contains(page, `data-testid="repo-row"`) || strings.Contains(page, "Discovery is paused") {
		t.Fatal("repositories page is empty after discover")
	}
	jobsPage := get("/jobs")
	if strings.Count(jobsPage, `data-testid="run-row"`) < 4 || !strings.Contains(jobsPage, "(cli)") {
		t.Fatalf("jobs page does not show the CLI runs")
	}
	// The CLI's sync pass scanned every repository: a repository page shows what it found.
	r := gh.Repos()[0]
	page := get("/repositories/" + r.Owner + "/" + r.Name)
	if !strings.Contains(page, `data-testid="scan-facts"`) || !strings.Contains(page, `data-testid="chart-row"`) {
		t.Fatalf("repository page lacks the scan:\n%.2000s", page)
	}
	if res := get("/repositories/" + r.Owner + "/" + r.Name + "/resources"); !strings.Contains(res, "HelmRelease") {
		t.Fatal("resources page lacks the HelmRelease")
	}
}

func TestScanCommand(t *testing.T) {
	ctx := context.Background()
	dir := "scan/testdata/flux-home-ops/repo"
	var out bytes.Buffer
	if err := run(ctx, []string{"scan", dir, "--json"}, envFunc(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Files   int `json:"files"`
		Objects []struct {
			File, APIVersion, Kind, Namespace, Name string
		} `json:"objects"`
		Charts []struct {
			Name, Namespace, Tool, Chart, Version, SourceKind, SourceURL string
			Ambiguous                                                    bool
		} `json:"charts"`
		Images       []struct{ File, Image, Registry, Repository, Tag, Digest string }       `json:"images"`
		Deprecations []struct{ File, APIVersion, Kind, Name, RemovedIn, Replacement string } `json:"deprecations"`
		Errors       []struct{ File, Message string }                                        `json:"errors"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%.500s", err, out.String())
	}
	// The golden file is the scanner's own expectation for this tree.
	var want struct {
		Files   int               `json:"files"`
		Objects []json.RawMessage `json:"objects"`
		Charts  []json.RawMessage `json:"charts"`
		Errors  []json.RawMessage `json:"errors"`
	}
	b, err := os.ReadFile("scan/testdata/flux-home-ops/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got.Files != want.Files || len(got.Objects) != len(want.Objects) || len(got.Charts) != len(want.Charts) ||
		len(got.Errors) != len(want.Errors) || len(got.Errors) == 0 {
		t.Fatalf("scan --json: files %d objects %d charts %d errors %d; golden %d %d %d %d", got.Files, len(got.Objects),
			len(got.Charts), len(got.Errors), want.Files, len(want.Objects), len(want.Charts), len(want.Errors))
	}
	for _, c := range got.Charts {
		if c.Name == "" || (c.Tool != "flux" && c.Tool != "argo") || c.Chart == "" {
			t.Fatalf("chart without name, tool or chart: %+v", c)
		}
	}
	// Flags may also come first; the default output is the readable summary.
	out.Reset()
	if err := run(ctx, []string{"scan", "--max-file-bytes", "4096", dir}, envFunc(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "OBJECTS BY KIND") || !strings.Contains(out.String(), "HelmRelease") {
		t.Fatalf("summary output:\n%s", out.String())
	}
	if err := run(ctx, []string{"scan", filepath.Join(t.TempDir(), "missing")}, envFunc(nil), nil, io.Discard, io.Discard); err == nil {
		t.Fatal("scanning a missing directory succeeded")
	}
	if err := run(ctx, []string{"scan"}, envFunc(nil), nil, io.Discard, io.Discard); err == nil {
		t.Fatal("scan without a directory succeeded")
	}
}

// BenchmarkSyncBinary500 is the end-to-end sync figure of the product itself: the real binary,
// built here, discovers and syncs 500 generated repositories (about 70,000 objects) from the fake
// GitHub in this process, as `kubestats run discover` and `kubestats run sync`. It reports the
// sync's wall time and the child process's peak RSS, then checks that a second pass downloads nothing.
func BenchmarkSyncBinary500(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "kubestats")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	repos := githubtest.GenerateRepos(500, "k8s-at-home", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 5)
	for i := range repos {
		repos[i].IsFork, repos[i].DiskUsageKB = false, 1000
		repos[i].Files = githubtest.GitOpsTree(i, 30)
	}
	for b.Loop() {
		b.StopTimer()
		gh := githubtest.New(b, githubtest.WithRepos(repos...))
		env := []string{"KUBESTATS_DB=" + filepath.Join(b.TempDir(), "k.db"), "GITHUB_TOKEN=" + gh.Token(),
			"KUBESTATS_GITHUB_GRAPHQL_URL=" + gh.GraphQLURL(), "KUBESTATS_GITHUB_API_URL=" + gh.APIURL(),
			"KUBESTATS_TOPICS=k8s-at-home", "KUBESTATS_LOG_LEVEL=warn"}
		cli := func(job string) (string, *syscall.Rusage, time.Duration) {
			cmd := exec.Command(bin, "run", job)
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("run %s: %v\n%s", job, err, out)
			}
			ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			return string(out), ru, time.Since(start)
		}
		cli("discover")
		b.StartTimer()
		out, ru, took := cli("sync")
		b.StopTimer()
		if !strings.Contains(out, "synced=500") {
			b.Fatalf("sync: %s", out)
		}
		downloads := gh.Stats().Tarball
		again, _, _ := cli("sync")
		extra := gh.Stats().Tarball - downloads
		if !strings.Contains(again, "due=0") || extra != 0 {
			b.Fatalf("second pass downloaded %d archives: %s", extra, again)
		}
		if ru != nil {
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB") // Linux reports KiB
		}
		b.ReportMetric(took.Seconds(), "sync-s")
		b.ReportMetric(float64(extra), "second-pass-downloads")
		b.StartTimer()
	}
}

// chromiumOrSkip returns Debian's Chromium, skipping the test when it is missing (failing under CI).
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
		}
		t.Skip("chromium not installed: browser test skipped (it is required under CI=true)")
	}
	return browser
}

// browserTab is one headless Chromium tab that records what the page logs as an error.
type browserTab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// startBrowser starts Chromium with a tab whose context ends after timeout; both close when the test ends.
func startBrowser(t *testing.T, browser string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) *browserTab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()))
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	b := &browserTab{ctx: ctx}

	// Anything the page logs as an error (a CSP violation, a failed script) fails the test.
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.problems = append(b.problems, ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, ev.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	return b
}

// checkProblems fails the test for every error the pages logged.
func (b *browserTab) checkProblems(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("browser reported: %s", p)
	}
}

// artifactsDir is where a browser test writes its screenshots: $KUBESTATS_ARTIFACTS/<test> when
// set (CI keeps them), else a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("KUBESTATS_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// TestBrowserCommunityWalk walks the community views in Chromium as a visitor would, over a database
// filled by the real program's discover, refresh and sync against the fake GitHub: dashboard, the
// Charts link, the most used chart, one of its repositories, Sync now, the Events tab. Every step
// is asserted by data-testid and saved as a full-page PNG (see artifactsDir).
func TestBrowserCommunityWalk(t *testing.T) {
	browser := chromiumOrSkip(t)
	// Three home-ops trees: each runs app-template (four apps through OCIRepositories) plus the one
	// classic chart GenerateRepos gives it, so app-template is the most used chart with 3 repositories.
	// Created from 2019: the generator spreads pushes over six years, which must end before today.
	start := time.Now()
	repos := githubtest.GenerateRepos(3, "k8s-at-home", time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), 21)
	for i := range repos {
		repos[i].IsFork, repos[i].IsArchived, repos[i].DiskUsageKB = false, false, 1000
		maps.Copy(repos[i].Files, githubtest.GitOpsTree(i, 4))
	}
	gh := githubtest.New(t, githubtest.WithRepos(repos...))
	env := map[string]string{
		"KUBESTATS_DB": filepath.Join(t.TempDir(), "k.db"), "KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "walk pw 1234",
		"GITHUB_TOKEN": gh.Token(), "KUBESTATS_GITHUB_GRAPHQL_URL": gh.GraphQLURL(), "KUBESTATS_GITHUB_API_URL": gh.APIURL(),
		"KUBESTATS_TOPICS": "k8s-at-home",
		// The server must not start runs of its own: the walk's sync is the button's.
		"KUBESTATS_DISCOVER_INTERVAL": "24h", "KUBESTATS_REFRESH_INTERVAL": "24h", "KUBESTATS_SYNC_INTERVAL": "24h",
	}
	for _, job := range []string{"discover", "refresh", "sync"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"run", job}, envFunc(env), nil, &out, io.Discard); err != nil {
			t.Fatalf("run %s: %v\n%s", job, err, out.String())
		}
		if job == "sync" && !strings.Contains(out.String(), "synced=3") {
			t.Fatalf("run sync: %q, want 3 repositories synced", out.String())
		}
	}
	base, _ := startServer(t, env)
	t.Logf("%5.1fs synced and serving", time.Since(start).Seconds())
	b := startBrowser(t, browser, 45*time.Second, chromedp.WindowSize(1280, 900))
	ctx := b.ctx
	dir := artifactsDir(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	tid := func(id string) chromedp.CSS { return css(`[data-testid="` + id + `"]`) }

	shots := 0
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
			return
		}
		shots++
		path := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", shots, name))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		t.Logf("%5.1fs screenshot %s", time.Since(start).Seconds(), path)
	}
	// pageText is what a failure message shows: where the browser is and what the page says.
	pageText := func() string {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		if err != nil {
			return fmt.Sprintf("at %s (page text unreadable: %v)", loc, err)
		}
		return fmt.Sprintf("at %s, the page says:\n%.3000s", loc, body)
	}
	// step runs actions with a per-step deadline; on failure it saves the page and says what it shows.
	step := func(what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shoot("failed-" + strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v\n%s", what, err, pageText())
		}
	}
	text := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(tid(id)))
		if err != nil {
			t.Fatalf("read %s: %v\n%s", id, err, pageText())
		}
		return strings.TrimSpace(v)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}

	step("log in", 10*time.Second,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(tid("login-submit")),
		chromedp.SendKeys(css(`input[name="email"]`), "admin@example.org"),
		chromedp.SendKeys(css(`input[name="password"]`), "walk pw 1234"),
		chromedp.Click(tid("login-submit")),
		chromedp.WaitVisible(tid("stat-users")),
		chromedp.WaitVisible(tid("nav-charts")),
	)
	shoot("dashboard")

	step("open charts", 10*time.Second, chromedp.Click(tid("nav-charts")), chromedp.WaitVisible(tid("chart-table")))
	shoot("charts")
	if n := count(`[data-testid="chart-row"]`); n < 2 {
		t.Errorf("charts list has %d rows, want app-template and the generated charts\n%s", n, pageText())
	}
	// The list is sorted by repositories: the first row is the most used chart.
	if name, repos := text("chart-link"), text("chart-repos"); name != "app-template" || repos != "3" {
		t.Fatalf("first chart is %q with %q repositories, want app-template with 3\n%s", name, repos, pageText())
	}

	step("open the most used chart", 10*time.Second, chromedp.Click(tid("chart-link")), chromedp.WaitVisible(tid("chart-repo-table")))
	shoot("chart")
	if name, repos := text("chart-name"), text("stat-repos"); name != "app-template" || repos != "3" {
		t.Errorf("chart page: %q with %q repositories, want app-template with 3", name, repos)
	}
	if n := count(`[data-testid="version-row"]`); n == 0 {
		t.Errorf("chart page shows no versions\n%s", pageText())
	}
	if n := count(`[data-testid="chart-repo-row"]`); n != 3 {
		t.Errorf("chart page lists %d repositories, want 3", n)
	}
	repoName := text("chart-repo-link")

	step("open a repository", 10*time.Second, chromedp.Click(tid("chart-repo-link")), chromedp.WaitVisible(tid("sync-button")))
	shoot("repository")
	if got := text("repo-name"); got != repoName {
		t.Errorf("repository page is %q, want %q", got, repoName)
	}
	if n := count(`[data-testid="charts-table"] [data-testid="chart-row"]`); n < 4 {
		t.Errorf("repository page lists %d charts, want the four app-template releases and more", n)
	}

	// Rescan (the head is scanned, so Sync now would download nothing): htmx posts, the panel
	// polls itself (every 2 s) and ends with the counts.
	step("rescan", 20*time.Second, chromedp.Click(tid("rescan-button")), chromedp.WaitVisible(tid("sync-done")))
	shoot("synced")
	// The same panel on a phone, in the dark theme (Pico reads data-theme; app.js keeps it).
	theme := func(js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js+"; true")); err != nil {
			t.Fatalf("theme: %v", err)
		}
	}
	step("phone", 10*time.Second, chromedp.EmulateViewport(390, 844), chromedp.WaitVisible(tid("sync-actions")))
	theme("document.documentElement.dataset.theme = 'dark'")
	shoot("synced-390-dark")
	theme("delete document.documentElement.dataset.theme")
	step("desktop", 10*time.Second, chromedp.EmulateViewport(1280, 900))
	if st := text("sync-status"); st != "success" {
		t.Errorf("sync status %q, want success\n%s", st, pageText())
	}
	if n := text("count-objects"); n == "" || n == "0" {
		t.Errorf("objects after sync %q", n)
	}

	step("open events", 10*time.Second, chromedp.Click(tid("tab-events")), chromedp.WaitVisible(tid("event-total")))
	shoot("events")
	if n := count(`[data-testid="events-table"] tbody tr`); n == 0 {
		t.Errorf("the events table has no rows\n%s", pageText())
	}
	if total := text("event-total"); strings.HasPrefix(total, "0 ") {
		t.Errorf("event total %q", total)
	}
	b.checkProblems(t)
}

// TestTokenExportBackupCommands runs the operator commands of issue 6 against a served
// database: a token made on the command line opens the API, revoking it closes it again; an
// export holds the public tables and no users; a backup taken while serve runs passes the
// integrity check and serves again, tokens and all.
func TestTokenExportBackupCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	env := map[string]string{"KUBESTATS_DB": db, "KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "first admin pw"}
	base := func() string { b, _ := startServer(t, env); return b }()
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, envFunc(env), strings.NewReader(""), &out, io.Discard)
		return strings.TrimSpace(out.String()), err
	}
	me := func(base, token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	token, err := cli("token", "create", "--email", "admin@example.org", "--name", "ci script")
	if err != nil || !strings.HasPrefix(token, "ks_") || strings.Contains(token, "\n") {
		t.Fatalf("token create: %q %v; want only the token on stdout", token, err)
	}
	if code := me(base, token); code != http.StatusOK {
		t.Fatalf("new token: /api/v1/me answered %d", code)
	}
	spare, err := cli("token", "create", "--email", "admin@example.org", "--name", "spare")
	if err != nil {
		t.Fatal(err)
	}
	list, err := cli("token", "list", "--email", "admin@example.org")
	if err != nil || !strings.Contains(list, "ci script") || strings.Contains(list, token) {
		t.Fatalf("token list: %q %v; want the names, never the tokens", list, err)
	}
	id := strings.Fields(strings.Split(list, "\n")[2])[0] // newest first: "spare", then "ci script"
	if _, err := cli("token", "revoke", "--email", "admin@example.org", "--id", id); err != nil {
		t.Fatal(err)
	}
	if code := me(base, token); code != http.StatusUnauthorized {
		t.Fatalf("revoked token: /api/v1/me answered %d, want 401", code)
	}

	export := filepath.Join(dir, "public.sqlite")
	if out, err := cli("export", export); err != nil || !strings.Contains(out, "exported") {
		t.Fatalf("export: %q %v", out, err)
	}
	raw, err := sql.Open("sqlite", export)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tables string
	if err := raw.QueryRow(`SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{"users", "sessions", "api_tokens", "settings", "job_runs"} {
		if slices.Contains(strings.Fields(tables), private) {
			t.Errorf("the export holds %s: %s", private, tables)
		}
	}
	if !slices.Contains(strings.Fields(tables), "readme") || !slices.Contains(strings.Fields(tables), "resources") {
		t.Errorf("the export lacks its readme or resources: %s", tables)
	}

	backup := filepath.Join(dir, "backup.db")
	if out, err := cli("backup", backup); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup while serving: %q %v", out, err)
	}
	if _, err := cli("backup", backup); err == nil {
		t.Fatal("a second backup over the first must be refused without --force")
	}
	check, err := sql.Open("sqlite", backup)
	if err != nil {
		t.Fatal(err)
	}
	var ok string
	if err := check.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check of the backup: %q %v", ok, err)
	}
	check.Close()
	restored := map[string]string{"KUBESTATS_DB": backup}
	rbase, _ := startServer(t, restored)
	if code := me(rbase, spare); code != http.StatusOK {
		t.Fatalf("the restored database does not serve the spare token: %d", code)
	}
	if code := me(rbase, token); code != http.StatusUnauthorized {
		t.Fatalf("the restored database forgot the revocation: %d", code)
	}
}

// The export and the backup are renamed into place: a target that is the database, a file
// SQLite keeps beside it, or (for a backup) the publicly served export would replace the live
// database or publish its users. Each is refused with one sentence and the database stays whole.
func TestExportAndBackupNeverReplaceTheDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	env := map[string]string{"KUBESTATS_DB": db}
	cli := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, envFunc(env), strings.NewReader(stdin), &out, io.Discard)
		return strings.TrimSpace(out.String()), err
	}
	if _, err := cli("a long password\n", "user", "create", "--email", "a@example.org"); err != nil {
		t.Fatal(err)
	}
	link, hard := filepath.Join(dir, "link.db"), filepath.Join(dir, "hard.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"export", db}, "is the database"},
		{[]string{"export", db + "-wal"}, "write-ahead log"},
		{[]string{"export", db + "-shm"}, "shared-memory"},
		{[]string{"export", db + "-journal"}, "rollback journal"},
		{[]string{"export", filepath.Join(dir, "sub", "..", "k.db")}, "is the database"},
		{[]string{"export", link}, "is the database"},
		{[]string{"backup", db}, "is the database"},
		{[]string{"backup", "--force", db}, "is the database"},
		{[]string{"backup", "--force", db + "-wal"}, "write-ahead log"},
		{[]string{"backup", "--force", link}, "is the database"},
		{[]string{"backup", "--force", hard}, "is the database"},
		{[]string{"backup", filepath.Join(dir, "k-export.sqlite")}, "served publicly"},
		{[]string{"backup", "--force", "--export-path", filepath.Join(dir, "pub.sqlite"), filepath.Join(dir, "pub.sqlite")}, "served publicly"},
	}
	for _, tc := range cases {
		_, err := cli("", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%v: got %v, want one line containing %q", tc.args, err, tc.want)
		}
		if out, err := cli("", "user", "list"); err != nil || !strings.Contains(out, "a@example.org") {
			t.Fatalf("after %v the database lost its user: %q %v", tc.args, out, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pub.sqlite")); err == nil {
		t.Error("a refused backup left a file at the export path")
	}
	// Beside the database, anywhere else, both work.
	if _, err := cli("", "export", filepath.Join(dir, "k.db.sqlite")); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("", "backup", filepath.Join(dir, "k.db.bak")); err != nil {
		t.Fatal(err)
	}
}

// The database holds password hashes, token digests and the cookie key: serve keeps its files
// to the owner, and narrows those of a database made readable by others, saying so once.
func TestServeKeepsTheDatabaseToItsOwner(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	env := map[string]string{"KUBESTATS_DB": db, "KUBESTATS_ADMIN_EMAIL": "admin@example.org", "KUBESTATS_ADMIN_PASSWORD": "first admin pw"}
	modes := func() string {
		var out []string
		for _, p := range []string{db, db + "-wal", db + "-shm"} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatalf("while serving: %v", err)
			}
			out = append(out, fmt.Sprintf("%s %04o", filepath.Base(p), st.Mode().Perm()))
		}
		return strings.Join(out, ", ")
	}
	want := "k.db 0600, k.db-wal 0600, k.db-shm 0600"
	_, logs, stop := startServerLogs(t, env)
	if got := modes(); got != want {
		t.Fatalf("new database: %s, want %s", got, want)
	}
	if strings.Contains(logs.String(), "narrowed") {
		t.Errorf("a new database logged a narrowing:\n%s", logs)
	}
	stop()

	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	_, logs, _ = startServerLogs(t, env)
	if got := modes(); got != want {
		t.Fatalf("database made 0644: %s, want %s", got, want)
	}
	if n := strings.Count(logs.String(), "narrowed to the owner"); n != 1 || !strings.Contains(logs.String(), "k.db 0644→0600") {
		t.Errorf("got %d narrowing lines, want one naming k.db 0644→0600:\n%s", n, logs)
	}
}

package main

import (
	"bufio"
	"context"
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
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql/githubtest"
)

// TestMemory measures the real binary's peak RSS (VmHWM) where the documented memory bound is
// tested: a burst of concurrent logins from distinct addresses, and one ~200 MB repository
// synced by serve with nothing else to do, by serve after a superuser logged in (the "Run now"
// button), and by `kubestats run sync`. A "pages" scenario is a short page load, as a cheap
// proxy of make load for comparing GC settings. It is a measurement, not a check: it prints a
// table and fails only when a scenario cannot run. `make memory` runs it; without
// KUBESTATS_MEMORY=1 it skips itself.
//
//   - KUBESTATS_MEMORY_SETTINGS: GC settings to compare, separated by ";". "default" is the binary
//     as shipped (no GOGC or GOMEMLIMIT in its environment); anything else is a comma-separated
//     list of variables, e.g. "GOGC=400,GOMEMLIMIT=1GiB".
//   - KUBESTATS_MEMORY_SCENARIOS: login, serve-sync, serve-login-sync, cli-sync and pages,
//     comma-separated (all but pages by default).
//   - KUBESTATS_MEMORY_REPOS: generated repositories as FILESxBYTES, comma-separated; the default
//     is githubtest.GenerateManifests' 200 MB (3200 files of 64 KiB) and the same 200 MB in
//     25,600 files of 8 KiB (51,200 objects: the scan's own heap is then largest).
func TestMemory(t *testing.T) {
	if os.Getenv("KUBESTATS_MEMORY") == "" {
		t.Skip("measurement: set KUBESTATS_MEMORY=1 (make memory)")
	}
	settings := strings.Split(envOr("KUBESTATS_MEMORY_SETTINGS", "default"), ";")
	scenarios := strings.Split(envOr("KUBESTATS_MEMORY_SCENARIOS", "login,serve-sync,serve-login-sync,cli-sync"), ",")
	var shapes [][2]int
	for _, s := range strings.Split(envOr("KUBESTATS_MEMORY_REPOS", "3200x65536,25600x8192"), ",") {
		f, b, _ := strings.Cut(s, "x")
		files, err1 := strconv.Atoi(f)
		size, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || files < 1 || size < 1024 {
			t.Fatalf("KUBESTATS_MEMORY_REPOS: %q is not FILESxBYTES (bytes at least 1024)", s)
		}
		shapes = append(shapes, [2]int{files, size})
	}

	bin := filepath.Join(t.TempDir(), "kubestats")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var pagesDB string
	var rows []memoryRow
	add := func(r memoryRow) {
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "memory: %-28s %-16s %-10s peak RSS %4.0f MiB  %s\n", r.setting, r.scenario, r.repo, r.peakMiB, r.note)
	}
	for _, setting := range settings {
		env := gcEnv(setting)
		for _, sc := range scenarios {
			switch sc {
			case "login":
				r := measureLoginBurst(t, bin, env, 100)
				r.setting = setting
				add(r)
			case "serve-sync", "serve-login-sync", "cli-sync":
				for _, sh := range shapes {
					r := measureSync(t, bin, env, sh[0], sh[1], sc)
					r.setting = setting
					add(r)
				}
			case "pages":
				if pagesDB == "" {
					pagesDB = pagesDatabase(t, bin)
				}
				r := measurePages(t, bin, env, pagesDB)
				r.setting = setting
				add(r)
			default:
				t.Fatalf("unknown scenario %q: use login, serve-sync, serve-login-sync, cli-sync or pages", sc)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-28s %-16s %-10s %9s %9s %8s %8s %6s %6s  %s\n", "SETTING", "SCENARIO", "REPO", "PEAK RSS", "RSS AFTER", "MAX HEAP",
		"MAX LIVE", "GCS", "CPU", "NOTE")
	for _, r := range rows {
		after := "-"
		if r.afterMiB > 0 {
			after = fmt.Sprintf("%.0f MiB", r.afterMiB)
		}
		fmt.Fprintf(&b, "%-28s %-16s %-10s %5.0f MiB %9s %5d MB %5d MB %6d %5.1fs  %s\n", r.setting, r.scenario, r.repo, r.peakMiB, after,
			r.heapMB, r.liveMB, r.gcs, r.cpu.Seconds(), r.note)
	}
	b.WriteString("PEAK RSS is the process's VmHWM; RSS AFTER its VmRSS when the scenario ended; MAX HEAP and MAX LIVE the\n" +
		"largest heap a collection started at and left (gctrace); GCS the collections and CPU the process's CPU time\n" +
		"during the scenario.\n")
	fmt.Fprint(os.Stdout, b.String())
}

type memoryRow struct {
	setting, scenario, repo string
	peakMiB, afterMiB       float64
	heapMB, liveMB, gcs     int
	cpu                     time.Duration
	note                    string
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// gcEnv is a child's environment for a setting: the harness's own without any GC or Kubestats
// variable, plus the setting's, plus gctrace so collections can be counted.
func gcEnv(setting string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "GOGC" || k == "GOMEMLIMIT" || k == "GODEBUG" || k == "GITHUB_TOKEN" || strings.HasPrefix(k, "KUBESTATS_") {
			continue
		}
		env = append(env, kv)
	}
	if setting != "default" {
		env = append(env, strings.Split(setting, ",")...)
	}
	return append(env, "GODEBUG=gctrace=1")
}

// child is a running kubestats process whose stderr is read line by line.
type child struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	gcs   int
	live  int         // the largest heap a collection left, MB (gctrace's A->B->C MB: C)
	heap  int         // the largest heap a collection started at, MB (A)
	seen  chan string // wakes waitFor
	done  chan struct{}
}

var gcTraceRE = regexp.MustCompile(`^gc \d+ @.* (\d+)->\d+->(\d+) MB`)

func startChild(t *testing.T, bin string, env []string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, args...), seen: make(chan string, 1), done: make(chan struct{})}
	c.cmd.Env = env
	c.cmd.Stdout = io.Discard
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			if m := gcTraceRE.FindStringSubmatch(line); m != nil {
				c.gcs++
				heap, _ := strconv.Atoi(m[1])
				live, _ := strconv.Atoi(m[2])
				c.heap, c.live = max(c.heap, heap), max(c.live, live)
				c.mu.Unlock()
				continue
			}
			c.lines = append(c.lines, line)
			c.mu.Unlock()
			select {
			case c.seen <- line:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	return c
}

// waitFor returns the submatches of the first line matching re, failing the test after timeout.
func (c *child) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		for _, l := range c.lines {
			if m := re.FindStringSubmatch(l); m != nil {
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		select {
		case <-c.seen:
		case <-c.done:
			c.mu.Lock()
			out := strings.Join(c.lines, "\n")
			c.mu.Unlock()
			t.Fatalf("kubestats exited before %q:\n%s", re, out)
		case <-deadline:
			t.Fatalf("no %q within %s", re, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// gcStats is the number of collections so far, the largest heap one started at and the largest
// one left.
func (c *child) gcStats() (gcs, heapMB, liveMB int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gcs, c.heap, c.live
}

// resetHeap starts a new window for the largest heaps.
func (c *child) resetHeap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heap, c.live = 0, 0
}

// stop ends a serve process as an operator would and waits for it.
func (c *child) stop(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("kubestats serve exited with %v", err)
	}
}

// statusMiB reads a field of /proc/PID/status (VmHWM, VmRSS) in MiB.
func (c *child) statusMiB(field string) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// resetPeak restarts VmHWM at the current RSS (Linux: 5 in /proc/PID/clear_refs), so that a
// scenario's peak is not its start-up's.
func (c *child) resetPeak(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset peak RSS: %v", err)
	}
}

// cpu is the process's user and system time so far, from /proc/PID/stat (clock ticks of 10 ms).
func (c *child) cpu() time.Duration {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}

func runCLI(t *testing.T, bin string, env []string, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubestats %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

const memoryPassword = "memory harness pw 1"

// measureLoginBurst starts serve on users made beforehand by the CLI (so serve never hashed a
// password before the burst), has n clients on 127.0.0.2, 127.0.0.3, … (one address each: the
// login throttle is per address) fetch the login form, then post it all at once: half of them
// with the right password, a quarter with a wrong one for an existing account, a quarter for
// unknown emails.
func measureLoginBurst(t *testing.T, bin string, gc []string, n int) memoryRow {
	t.Helper()
	if n > 250 {
		t.Fatalf("%d clients do not fit in 127.0.0.2–127.0.0.251", n)
	}
	env := append(slices.Clone(gc), "KUBESTATS_DB="+filepath.Join(t.TempDir(), "k.db"), "KUBESTATS_LOG_LEVEL=warn")
	runCLI(t, bin, env, memoryPassword+"\n", "user", "create", "--superuser", "--email", "admin@example.org")
	runCLI(t, bin, env, memoryPassword+"\n", "user", "create", "--email", "user@example.org")

	srv := startChild(t, bin, append(env, "KUBESTATS_LOG_LEVEL=info"), "serve", "--addr", "127.0.0.1:0")
	base := "http://" + srv.waitFor(t, listeningRE, 30*time.Second)[1]

	type result struct {
		status int
		took   time.Duration
		err    error
	}
	results := make([]result, n)
	var ready, wg sync.WaitGroup
	ready.Add(n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}, Timeout: 10 * time.Second}
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Timeout: 5 * time.Minute, Transport: &http.Transport{DialContext: d.DialContext},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			form, err := loginForm(hc, base)
			ready.Done()
			if err != nil {
				results[i].err = err
				return
			}
			email, password := "admin@example.org", memoryPassword
			switch i % 4 {
			case 1:
				email, password = "user@example.org", "wrong password"
			case 3:
				email, password = fmt.Sprintf("nobody-%d@example.org", i), "wrong password"
			}
			form.Set("email", email)
			form.Set("password", password)
			<-start
			t0 := time.Now()
			res, err := hc.PostForm(base+"/login", form)
			results[i].took = time.Since(t0)
			if err != nil {
				results[i].err = err
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			results[i].status = res.StatusCode
		}()
	}
	ready.Wait()
	idle := srv.statusMiB("VmHWM")
	gcs0, _, _ := srv.gcStats()
	cpu0 := srv.cpu()
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)
	r := memoryRow{scenario: "login", repo: "-", peakMiB: srv.statusMiB("VmHWM"), afterMiB: srv.statusMiB("VmRSS"), cpu: srv.cpu() - cpu0}
	r.gcs, r.heapMB, r.liveMB = srv.gcStats()
	r.gcs -= gcs0
	srv.stop(t)

	statuses := map[int]int{}
	var slowest time.Duration
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("client %d: %v", i, res.err)
		}
		statuses[res.status]++
		slowest = max(slowest, res.took)
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(statuses)) {
		parts = append(parts, fmt.Sprintf("%d×%d", statuses[code], code))
	}
	r.note = fmt.Sprintf("%d logins: %s; all answered in %.1f s, slowest %.1f s; idle %.0f MiB", n, strings.Join(parts, " "),
		wall.Seconds(), slowest.Seconds(), idle)
	return r
}

// loginForm fetches the login page (and its CSRF cookie) and returns the form to post.
func loginForm(hc *http.Client, base string) (url.Values, error) {
	res, err := hc.Get(base + "/login")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	m := csrfFieldRE.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no CSRF field on the login page (status %d)", res.StatusCode)
	}
	return url.Values{"_csrf": {string(m[1])}}, nil
}

// login logs a fresh client in as the harness's superuser and returns it with its CSRF token.
func login(t *testing.T, base string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute}
	form, err := loginForm(hc, base)
	if err != nil {
		t.Fatal(err)
	}
	form.Set("email", "admin@example.org")
	form.Set("password", memoryPassword)
	res, err := hc.PostForm(base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/" {
		t.Fatalf("login ended at %s with %d, want the dashboard", res.Request.URL.Path, res.StatusCode)
	}
	return hc, form.Get("_csrf")
}

// memoryRepo is one generated repository of files×fileBytes of YAML (githubtest.GenerateManifests).
func memoryRepo(files, fileBytes int) githubtest.Repo {
	repo := githubtest.GenerateRepos(1, "k8s-at-home", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 7)[0]
	repo.IsFork, repo.IsArchived, repo.DiskUsageKB = false, false, 1000
	repo.Files, repo.Generate = nil, githubtest.GenerateManifests(files, fileBytes)
	return repo
}

func githubEnv(gh *githubtest.Server, db string) []string {
	return []string{"KUBESTATS_DB=" + db, "GITHUB_TOKEN=" + gh.Token(), "KUBESTATS_GITHUB_GRAPHQL_URL=" + gh.GraphQLURL(),
		"KUBESTATS_GITHUB_API_URL=" + gh.APIURL(), "KUBESTATS_TOPICS=k8s-at-home", "KUBESTATS_LOG_LEVEL=warn"}
}

var syncDoneRE = regexp.MustCompile(`msg="job done" job=sync trigger=(\w+) .*\bsynced=(\d+)`)

// measureSync syncs one generated repository of files×fileBytes of YAML, in one of three ways:
//   - cli-sync: discovered, then synced by `kubestats run sync`;
//   - serve-sync: discovered by the CLI, then synced by serve's start-up pass, with nothing else to do;
//   - serve-login-sync: serve runs, a superuser logs in over HTTP, the CLI discovers the repository,
//     and the superuser presses "Run now" for sync: a sync after a password check in the same process.
func measureSync(t *testing.T, bin string, gc []string, files, fileBytes int, mode string) memoryRow {
	t.Helper()
	gh := githubtest.New(t, githubtest.WithRepos(memoryRepo(files, fileBytes)))
	env := append(slices.Clone(gc), githubEnv(gh, filepath.Join(t.TempDir(), "k.db"))...)
	r := memoryRow{scenario: mode, repo: fmt.Sprintf("%d×%dK", files, fileBytes>>10)}
	shape := fmt.Sprintf("%.0f MiB of YAML, %d objects", float64(files*fileBytes)/(1<<20), 2*files+1)

	if mode == "cli-sync" {
		runCLI(t, bin, env, "", "run", "discover")
		c := startChild(t, bin, env, "run", "sync")
		// Not the exit status's Maxrss: Linux folds the RSS of the forking process (this one, the fake
		// GitHub's archives included) into it at exec. VmHWM only grows; the last reading is the peak.
		for done := false; !done; {
			select {
			case <-c.done:
				done = true
			case <-time.After(20 * time.Millisecond):
				r.peakMiB = max(r.peakMiB, c.statusMiB("VmHWM"))
			}
		}
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("kubestats run sync: %v\n%s", err, strings.Join(c.lines, "\n"))
		}
		r.cpu = c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
		r.gcs, r.heapMB, r.liveMB = c.gcStats()
		r.note = shape
		return r
	}
	// Intervals long enough that only the start-up runs happen.
	serveEnv := append(slices.Clone(env), "KUBESTATS_LOG_LEVEL=info", "KUBESTATS_DISCOVER_INTERVAL=24h",
		"KUBESTATS_REFRESH_INTERVAL=24h", "KUBESTATS_SYNC_INTERVAL=24h")
	trigger := "schedule"
	switch mode {
	case "serve-sync":
		runCLI(t, bin, env, "", "run", "discover") // serve's start-up sync finds it due
	case "serve-login-sync":
		trigger = "manual"
		runCLI(t, bin, env, memoryPassword+"\n", "user", "create", "--superuser", "--email", "admin@example.org")
		// serve's own start-up discover must find nothing, so that only the button syncs.
		serveEnv = append(serveEnv, "KUBESTATS_TOPICS=kubestats-memory-harness-nothing")
	default:
		t.Fatalf("unknown sync scenario %q", mode)
	}
	srv := startChild(t, bin, serveEnv, "serve", "--addr", "127.0.0.1:0")
	base := "http://" + srv.waitFor(t, listeningRE, 30*time.Second)[1]
	idle := srv.statusMiB("VmHWM")
	cpu0, t0 := srv.cpu(), time.Now()
	if mode == "serve-login-sync" {
		hc, csrf := login(t, base)
		idle = srv.statusMiB("VmHWM")
		runCLI(t, bin, env, "", "run", "discover")
		cpu0, t0 = srv.cpu(), time.Now()
		res, err := hc.PostForm(base+"/jobs/sync/run", url.Values{"_csrf": {csrf}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("run now: got %d at %s, want the jobs page", res.StatusCode, res.Request.URL)
		}
	}
	m := srv.waitFor(t, syncDoneRE, 15*time.Minute)
	took := time.Since(t0)
	if m[1] != trigger || m[2] != "1" {
		t.Fatalf("serve synced %s repositories (trigger %s), want 1 (trigger %s)", m[2], m[1], trigger)
	}
	r.peakMiB, r.afterMiB, r.cpu = srv.statusMiB("VmHWM"), srv.statusMiB("VmRSS"), srv.cpu()-cpu0
	r.gcs, r.heapMB, r.liveMB = srv.gcStats()
	srv.stop(t)
	before := "idle"
	if mode == "serve-login-sync" {
		before = "after the login"
	}
	r.note = fmt.Sprintf("%s, synced in %.0f s; peak %.0f MiB %s", shape, took.Seconds(), idle, before)
	return r
}

// pagesDatabase is a database of 500 generated repositories (about 70,000 objects) synced by the
// real binary, with the harness's superuser, for the pages scenario; made once per run.
func pagesDatabase(t *testing.T, bin string) string {
	t.Helper()
	repos := githubtest.GenerateRepos(500, "k8s-at-home", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 5)
	for i := range repos {
		repos[i].IsFork, repos[i].DiskUsageKB = false, 1000
		repos[i].Files = githubtest.GitOpsTree(i, 30)
	}
	gh := githubtest.New(t, githubtest.WithRepos(repos...))
	db := filepath.Join(t.TempDir(), "pages.db")
	env := append(gcEnv("default"), githubEnv(gh, db)...)
	runCLI(t, bin, env, "", "run", "discover")
	runCLI(t, bin, env, "", "run", "sync")
	runCLI(t, bin, env, "", "run", "aggregate")
	runCLI(t, bin, env, memoryPassword+"\n", "user", "create", "--superuser", "--email", "admin@example.org")
	return db
}

// measurePages serves a copy of db without GitHub (no discovery or sync) and loads a few pages in
// turn, each with 16 concurrent clients for 5 s, logged in: the GC's share of a page load.
func measurePages(t *testing.T, bin string, gc []string, db string) memoryRow {
	t.Helper()
	copyDB := filepath.Join(t.TempDir(), "pages.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(db + suffix)
		if err != nil && suffix == "" {
			t.Fatal(err)
		}
		if err == nil {
			if err := os.WriteFile(copyDB+suffix, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := append(slices.Clone(gc), "KUBESTATS_DB="+copyDB, "KUBESTATS_LOG_LEVEL=info", "KUBESTATS_EXPORT_PATH="+filepath.Join(t.TempDir(), "export.db"))
	srv := startChild(t, bin, env, "serve", "--addr", "127.0.0.1:0")
	base := "http://" + srv.waitFor(t, listeningRE, 30*time.Second)[1]
	srv.waitFor(t, regexp.MustCompile(`msg="job done" job=aggregate`), time.Minute)
	hc, _ := login(t, base)
	cookie := ""
	u, _ := url.Parse(base)
	for _, c := range hc.Jar.Cookies(u) {
		cookie += c.Name + "=" + c.Value + "; "
	}
	// The start-up jobs (the export's SQLite cache among them) and the login's hash are not the pages'.
	loggedIn := srv.statusMiB("VmHWM")
	srv.resetHeap()
	srv.resetPeak(t)
	gcs0, _, _ := srv.gcStats()
	cpu0 := srv.cpu()
	var notes []string
	var requests int
	for _, path := range []string{"/", "/repositories", "/charts", "/images", "/resources", "/charts/app-template"} {
		lat, wall := hammerPage(t, base+path, cookie, 16, 5*time.Second)
		slices.Sort(lat)
		requests += len(lat)
		notes = append(notes, fmt.Sprintf("%s %.0f/s p99 %.0fms", path, float64(len(lat))/wall.Seconds(),
			float64(lat[len(lat)*99/100].Microseconds())/1000))
	}
	r := memoryRow{scenario: "pages", repo: "500 repos", peakMiB: srv.statusMiB("VmHWM"), afterMiB: srv.statusMiB("VmRSS"), cpu: srv.cpu() - cpu0}
	r.gcs, r.heapMB, r.liveMB = srv.gcStats()
	r.gcs -= gcs0
	srv.stop(t)
	r.note = fmt.Sprintf("peak %.0f MiB before (start-up jobs, login); %d requests: %s", loggedIn, requests, strings.Join(notes, ", "))
	return r
}

// hammerPage gets u from n clients at once for d and returns every request's latency.
func hammerPage(t *testing.T, u, cookie string, n int, d time.Duration) ([]time.Duration, time.Duration) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Cookie", cookie)
				t0 := time.Now()
				res, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: status %d", u, res.StatusCode)
					}
				}
				mu.Lock()
				if err != nil && failed == nil {
					failed = err
				}
				lat = append(lat, time.Since(t0))
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	return lat, time.Since(start)
}

// TestMemoryProfile runs TestMemory's cli-sync inside the test process (the program's run
// function, the fake GitHub beside it) and writes the heap profile taken when the live heap was
// largest to $KUBESTATS_MEMORY_PROFILE/sync-heap.pprof, for `go tool pprof -sample_index=inuse_space`.
// The fake GitHub's own allocations show under githubtest. KUBESTATS_MEMORY_REPOS takes one FILESxBYTES.
func TestMemoryProfile(t *testing.T) {
	dir := os.Getenv("KUBESTATS_MEMORY_PROFILE")
	if dir == "" {
		t.Skip("profile: set KUBESTATS_MEMORY_PROFILE=DIR")
	}
	f, b, _ := strings.Cut(envOr("KUBESTATS_MEMORY_REPOS", "25600x8192"), "x")
	files, _ := strconv.Atoi(f)
	fileBytes, _ := strconv.Atoi(b)
	gh := githubtest.New(t, githubtest.WithRepos(memoryRepo(files, fileBytes)))
	vars := map[string]string{}
	for _, kv := range githubEnv(gh, filepath.Join(t.TempDir(), "k.db")) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	ctx := context.Background()
	if err := run(ctx, []string{"run", "discover"}, envFunc(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var best uint64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- best
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > best+best/20 {
				best = live
				if f, err := os.Create(filepath.Join(dir, "sync-heap.pprof")); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}()
	var out strings.Builder
	err := run(ctx, []string{"run", "sync"}, envFunc(vars), nil, &out, io.Discard)
	close(stop)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out.String())
	}
	t.Logf("%s; largest live heap %d MiB, profile in %s", strings.TrimSpace(out.String()), <-peak>>20, filepath.Join(dir, "sync-heap.pprof"))
}

// Command kubestats finds Kubernetes home-lab repositories on GitHub, keeps their
// statistics and shows what the community runs. See README.md.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

//go:embed schema.sql
var schemaSQL string

//go:embed static/app.css static/app.js static/charts.js static/favicon.svg static/vendor
var staticFiles embed.FS

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

// Garbage collector defaults when the operator set none (GOGC, GOMEMLIMIT). Pages keep a live
// heap of a few MB, and collecting at 5× it instead of 2× gave them 30–50% more throughput under
// load on 2 cores (make load). But 5× of a heap that was big for a moment is too much: a
// collection during a login sees its 64 MiB argon2id buffer live and lets 320 MB of garbage pile
// up before the next one; a burst of logins reached 730 MB, a repository of 50,000 objects 300 MB.
// The soft limit is what bounds memory: 150 MB of RSS while a 200 MB repository syncs, less the
// ~25 MiB that is not Go's (binary, SQLite caches) and the heap's overshoot while a collection
// runs, leaves 112 MiB. Below it GOGC alone decides, as before; above it the collector works
// harder (at most half the CPU) instead of growing. `make memory` measures both.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 112 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubestats: "+err.Error())
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own arguments, environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		printUsage(stdout)
		return flag.ErrHelp
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "token":
		return tokenCommand(ctx, args, getenv, stdout, stderr)
	case "export":
		return exportCommand(ctx, args, getenv, stdout, stderr)
	case "backup":
		return backupCommand(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "kubestats", buildVersion(), runtime.Version())
		return nil
	case "run":
		return runJob(ctx, args, getenv, stdout, stderr)
	case "scan":
		return scanCommand(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "help":
		printUsage(stdout)
		return nil
	}
	printUsage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Kubestats shows what the Kubernetes home-lab community runs.

Usage:
  kubestats [serve] [flags]        run the web server and background jobs (default)
  kubestats user create [flags]    create a user; the password is read from stdin or a prompt
  kubestats user set-password      set a user's password (--email)
  kubestats user list              list users
  kubestats token create --email E --name N   print a new API token for scripts (shown once)
  kubestats token list|revoke --email E [--id N]   list or revoke a user's API tokens
  kubestats run discover|refresh|sync|aggregate|export|prune   run one job once, print a summary, exit 1 on failure
  kubestats export FILE            write the public dataset (no user data) to FILE
  kubestats backup [--force] FILE  copy the whole database to FILE, safe while serve runs
  kubestats scan [--json] DIR      scan a local checkout like a sync would (no GitHub, no database)
  kubestats version                print the version
  kubestats healthcheck [--url U]  exit 0 when the server and its database answer (for container probes)

Every setting is an environment variable and a flag; a flag wins. Settings of serve:
`)
	printSettings(w, serveSettings())
	fmt.Fprintln(w, "\nRun 'kubestats COMMAND -h' for a command's flags.")
}

// buildVersion is the -ldflags version, else the module or VCS version Go recorded.
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// config is every setting, validated once at start and passed down.
type config struct {
	Addr             string
	DB               string
	GitHubToken      string
	AdminEmail       string
	AdminPassword    string
	SecretKey        string
	LogFormat        string
	LogLevel         slog.Level
	SessionIdle      time.Duration
	SessionLifetime  time.Duration
	TrustProxy       bool
	GraphQLURL       string
	APIURL           string
	Topics           []string
	IncludeForks     bool
	MaxRepoSizeMB    int
	DiscoverInterval time.Duration
	RefreshInterval  time.Duration
	SyncInterval     time.Duration
	SyncConcurrency  int
	SyncTimeout      time.Duration
	MaxFileBytes     int64
	Public           bool
	APIRateLimit     int
	MetricsToken     string
	ExportPath       string
}

// setting binds one environment variable and one flag to a config field.
type setting struct {
	envs  []string // first one is documented; later ones are accepted aliases
	flag  string
	def   string
	usage string
	kind  string // "", "bool", or "secret" (the flag names a file to read the value from)
	apply func(c *config, v string) error
}

func durationSetting(dst func(*config) *time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 30m or 12h", v)
		}
		*dst(c) = d
		return nil
	}
}

// gitHubURLSetting takes a GitHub endpoint, which is sent the token: https, or plain http only
// to this machine (a local proxy, or the tests' fake GitHub), where nothing carries it in clear.
func gitHubURLSetting(dst func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http(s) URL", v)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q would send the GitHub token in clear: use https (plain http is accepted only to localhost or a loopback address)", v)
		}
		*dst(c) = strings.TrimRight(v, "/")
		return nil
	}
}

// isLoopback reports whether host is localhost or an address in 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func boolSetting(dst func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*dst(c) = b
		return nil
	}
}

// maxFileBytesSetting is shared by serve and scan: both read manifests.
var maxFileBytesSetting = setting{envs: []string{"KUBESTATS_MAX_FILE_BYTES"}, flag: "max-file-bytes", def: "1048576",
	usage: "YAML files larger than this many bytes are skipped, with a note on the repository page",
	apply: func(c *config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 64<<20 {
			return fmt.Errorf("%q is not a number of bytes from 1024 to 67108864", v)
		}
		c.MaxFileBytes = n
		return nil
	}}

// exportPathSetting is shared by serve and backup: a backup must not land where the export is
// published. Its checks against the database are in checkServeSettings.
var exportPathSetting = setting{envs: []string{"KUBESTATS_EXPORT_PATH"}, flag: "export-path",
	usage: "file the daily public dataset export is written to and served from (default: beside the database, DB-export.sqlite)",
	apply: func(c *config, v string) error { c.ExportPath = v; return nil }}

var commonSettings = []setting{
	{envs: []string{"KUBESTATS_DB"}, flag: "db", def: "./kubestats.db", usage: "SQLite database file (created if missing)",
		apply: func(c *config, v string) error { c.DB = v; return nil }},
	{envs: []string{"KUBESTATS_LOG_FORMAT"}, flag: "log-format", def: "text", usage: "log format: text or json",
		apply: func(c *config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("%q is not text or json", v)
			}
			c.LogFormat = v
			return nil
		}},
	{envs: []string{"KUBESTATS_LOG_LEVEL"}, flag: "log-level", def: "info", usage: "log level: debug, info, warn or error",
		apply: func(c *config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%q is not debug, info, warn or error", v)
			}
			return nil
		}},
}

func serveSettings() []setting {
	return append([]setting{
		{envs: []string{"KUBESTATS_ADDR"}, flag: "addr", def: ":8080", usage: "address to listen on, host:port",
			apply: func(c *config, v string) error {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("%q is not host:port (%v)", v, err)
				}
				c.Addr = v
				return nil
			}},
		{envs: []string{"GITHUB_TOKEN", "KUBESTATS_GITHUB_TOKEN"}, flag: "github-token", kind: "secret",
			usage: "GitHub token for discovery; without it the site runs but discovery is paused",
			apply: func(c *config, v string) error { c.GitHubToken = v; return nil }},
		{envs: []string{"KUBESTATS_GITHUB_GRAPHQL_URL"}, flag: "github-graphql-url", def: "https://api.github.com/graphql",
			usage: "GitHub GraphQL endpoint (GitHub Enterprise: https://HOST/api/graphql)",
			apply: gitHubURLSetting(func(c *config) *string { return &c.GraphQLURL })},
		{envs: []string{"KUBESTATS_GITHUB_API_URL"}, flag: "github-api-url", def: "https://api.github.com",
			usage: "GitHub REST API base, for tarballs (GitHub Enterprise: https://HOST/api/v3)",
			apply: gitHubURLSetting(func(c *config) *string { return &c.APIURL })},
		{envs: []string{"KUBESTATS_TOPICS"}, flag: "topics", def: "k8s-at-home,kubesearch", usage: "comma-separated GitHub topics to discover",
			apply: func(c *config, v string) error {
				c.Topics = nil
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						if strings.ContainsAny(t, " \t\"") {
							return fmt.Errorf("topic %q contains a space or quote", t)
						}
						c.Topics = append(c.Topics, strings.ToLower(t))
					}
				}
				if len(c.Topics) == 0 {
					return errors.New("at least one topic is needed")
				}
				return nil
			}},
		{envs: []string{"KUBESTATS_INCLUDE_FORKS"}, flag: "include-forks", def: "false", kind: "bool", usage: "also discover forks",
			apply: boolSetting(func(c *config) *bool { return &c.IncludeForks })},
		{envs: []string{"KUBESTATS_MAX_REPO_SIZE_MB"}, flag: "max-repo-size-mb", def: "100",
			usage: "repositories larger than this on GitHub wait for an admin's approval before they are downloaded",
			apply: func(c *config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return fmt.Errorf("%q is not a positive number of megabytes", v)
				}
				c.MaxRepoSizeMB = n
				return nil
			}},
		{envs: []string{"KUBESTATS_DISCOVER_INTERVAL"}, flag: "discover-interval", def: "1h", usage: "how often discovery searches GitHub",
			apply: durationSetting(func(c *config) *time.Duration { return &c.DiscoverInterval })},
		{envs: []string{"KUBESTATS_REFRESH_INTERVAL"}, flag: "refresh-interval", def: "1h", usage: "how often known repositories are refreshed",
			apply: durationSetting(func(c *config) *time.Duration { return &c.RefreshInterval })},
		{envs: []string{"KUBESTATS_SYNC_INTERVAL"}, flag: "sync-interval", def: "1m", usage: "how often repositories due for sync are looked for",
			apply: durationSetting(func(c *config) *time.Duration { return &c.SyncInterval })},
		{envs: []string{"KUBESTATS_SYNC_CONCURRENCY"}, flag: "sync-concurrency", def: "2",
			usage: "repositories downloaded and scanned at the same time (1-16)",
			apply: func(c *config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 16 {
					return fmt.Errorf("%q is not a number from 1 to 16", v)
				}
				c.SyncConcurrency = n
				return nil
			}},
		{envs: []string{"KUBESTATS_SYNC_TIMEOUT"}, flag: "sync-timeout", def: "15m",
			usage: "one repository's download and scan fail after this long (a download that trickles forever would hold a sync slot)",
			apply: durationSetting(func(c *config) *time.Duration { return &c.SyncTimeout })},
		maxFileBytesSetting,
		{envs: []string{"KUBESTATS_ADMIN_EMAIL"}, flag: "admin-email", usage: "email of the first superuser, created at start when no user exists",
			apply: func(c *config, v string) error { c.AdminEmail = v; return nil }},
		{envs: []string{"KUBESTATS_ADMIN_PASSWORD"}, flag: "admin-password", kind: "secret", usage: "password of the first superuser",
			apply: func(c *config, v string) error { c.AdminPassword = v; return nil }},
		{envs: []string{"KUBESTATS_SECRET_KEY"}, flag: "secret-key", kind: "secret",
			usage: "key for signing cookies, at least 32 characters; generated once and kept in the database when empty",
			apply: func(c *config, v string) error {
				if v != "" && len(v) < 32 {
					return errors.New("the secret key must have at least 32 characters")
				}
				c.SecretKey = v
				return nil
			}},
		{envs: []string{"KUBESTATS_SESSION_IDLE_TIMEOUT"}, flag: "session-idle-timeout", def: "72h",
			usage: "a login ends after this long without activity (at least 1m, at most the session lifetime)",
			apply: func(c *config, v string) error {
				if err := durationSetting(func(c *config) *time.Duration { return &c.SessionIdle })(c, v); err != nil {
					return err
				}
				if c.SessionIdle < time.Minute {
					return fmt.Errorf("%q is too short: the idle timeout must be at least a minute, or users are logged out while they use the site", v)
				}
				return nil
			}},
		{envs: []string{"KUBESTATS_SESSION_LIFETIME"}, flag: "session-lifetime", def: "720h", usage: "a login ends at the latest this long after it began",
			apply: durationSetting(func(c *config) *time.Duration { return &c.SessionLifetime })},
		{envs: []string{"KUBESTATS_PUBLIC"}, flag: "public", def: "false", kind: "bool",
			usage: "let anonymous visitors read every read-only view; actions and administration still need a login",
			apply: boolSetting(func(c *config) *bool { return &c.Public })},
		{envs: []string{"KUBESTATS_API_RATE_LIMIT"}, flag: "api-rate-limit", def: "600",
			usage: "API requests per minute per user, all their tokens and sessions together (per IP for anonymous reads)",
			apply: func(c *config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 100000 {
					return fmt.Errorf("%q is not a number from 1 to 100000", v)
				}
				c.APIRateLimit = n
				return nil
			}},
		exportPathSetting,
		{envs: []string{"KUBESTATS_METRICS_TOKEN"}, flag: "metrics-token", kind: "secret",
			usage: "bearer token Prometheus must send to read /metrics, at least 16 characters; empty leaves /metrics open",
			apply: func(c *config, v string) error {
				if v != "" && len(v) < 16 {
					return errors.New("the metrics token must have at least 16 characters")
				}
				c.MetricsToken = v
				return nil
			}},
		{envs: []string{"KUBESTATS_TRUST_PROXY"}, flag: "trust-proxy", def: "false", kind: "bool",
			usage: "behind a reverse proxy on a private network: take client IP and scheme from X-Forwarded-For/-Proto",
			apply: boolSetting(func(c *config) *bool { return &c.TrustProxy })},
	}, commonSettings...)
}

func printSettings(w io.Writer, settings []setting) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, s := range settings {
		flagName := "--" + s.flag
		switch s.kind {
		case "secret":
			flagName = "--" + s.flag + "-file FILE"
		case "bool":
		default:
			flagName += " VALUE"
		}
		def := s.def
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(tw, "  %s\t%s\tdefault %s\t%s\n", strings.Join(s.envs, " or "), flagName, def, s.usage)
	}
	tw.Flush()
	fmt.Fprintln(w, "  Secrets are never flags: a --*-file flag names a file holding the value, which keeps it out of ps.")
}

// parseSettings reads flags, then fills what no flag set from the environment, then from
// defaults. An invalid value is one sentence naming the setting.
func parseSettings(name string, args []string, getenv func(string) string, settings []setting, stderr io.Writer, extra func(*flag.FlagSet)) (config, *flag.FlagSet, error) {
	var c config
	fs := flag.NewFlagSet("kubestats "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	set := map[string]bool{}
	for _, s := range settings {
		apply := func(v string) error {
			set[s.flag] = true
			return s.apply(&c, v)
		}
		switch s.kind {
		case "secret":
			fs.Func(s.flag+"-file", s.usage, func(path string) error {
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("cannot read %s", path)
				}
				return apply(strings.TrimSpace(string(b)))
			})
		case "bool":
			fs.BoolFunc(s.flag, s.usage, apply)
		default:
			fs.Func(s.flag, s.usage, apply)
		}
	}
	if extra != nil {
		extra(fs)
	}
	// flag calls Usage on every parse error; print it only when help was asked for.
	fs.Usage = func() {}
	usage := func() {
		fmt.Fprintf(stderr, "Usage of kubestats %s:\n", name)
		printSettings(stderr, settings)
		var other strings.Builder
		fs.VisitAll(func(f *flag.Flag) {
			for _, s := range settings {
				if f.Name == s.flag || f.Name == s.flag+"-file" {
					return
				}
			}
			fmt.Fprintf(&other, "  --%s\t%s\n", f.Name, f.Usage)
		})
		if other.Len() > 0 {
			fmt.Fprintf(stderr, "Flags:\n%s", other.String())
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return c, fs, err
		}
		return c, fs, fmt.Errorf("%s (see kubestats %s -h)", err, name)
	}
	for _, s := range settings {
		if set[s.flag] {
			continue
		}
		v, from := s.def, "default of --"+s.flag
		for _, env := range s.envs {
			if ev := getenv(env); ev != "" {
				v, from = ev, env
				break
			}
		}
		if err := s.apply(&c, v); err != nil {
			return c, fs, fmt.Errorf("invalid %s: %w", from, err)
		}
	}
	return c, fs, nil
}

// parseServeSettings is parseSettings for serve and run, which share every setting, followed by
// the checks that involve more than one setting or the filesystem.
func parseServeSettings(name string, args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c, _, err := parseSettings(name, args, getenv, serveSettings(), stderr, nil)
	if err != nil {
		return c, err
	}
	return c, checkServeSettings(c)
}

// checkServeSettings refuses combinations that would each be accepted alone: an idle timeout
// the lifetime always cuts short, and an export path the export cannot be written to or whose
// rename would replace the database.
func checkServeSettings(c config) error {
	if c.SessionIdle > c.SessionLifetime {
		return fmt.Errorf("invalid KUBESTATS_SESSION_IDLE_TIMEOUT: %s is longer than the session lifetime (KUBESTATS_SESSION_LIFETIME, %s), which always ends a login first", c.SessionIdle, c.SessionLifetime)
	}
	p := exportPath(c)
	if what, ok := store.DatabaseFile(c.DB, p); ok {
		return fmt.Errorf("invalid KUBESTATS_EXPORT_PATH: %s is %s: %w", p, what, store.ErrDatabaseFile)
	}
	if c.ExportPath != "" { // the default is beside the database, whose directory the store checks
		if err := store.CheckDirOf("export", p); err != nil {
			return fmt.Errorf("invalid KUBESTATS_EXPORT_PATH: %w", err)
		}
	}
	return nil
}

func newLogger(c config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the database and logs the files whose permissions Open had to narrow: a
// database from before they were kept to the owner, readable by others until now.
func openStore(ctx context.Context, c config, log *slog.Logger) (*store.Store, error) {
	s, err := store.Open(ctx, store.Options{Path: c.DB, Schema: schemaSQL})
	if err != nil {
		return nil, fmt.Errorf("cannot open database %s: %w", c.DB, err)
	}
	var narrowed []string
	for _, m := range s.Tightened() {
		if m.Err != nil {
			log.Warn("database file is readable by others and its mode cannot be narrowed", "file", m.Path, "mode", fmt.Sprintf("%04o", m.From), "err", m.Err)
			continue
		}
		narrowed = append(narrowed, fmt.Sprintf("%s %04o→%04o", m.Path, m.From, m.To))
	}
	if len(narrowed) > 0 {
		log.Warn("database files were readable by others; narrowed to the owner", "files", strings.Join(narrowed, ", "))
	}
	return s, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, err := parseServeSettings("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(c, stderr)
	// Listen before anything slow, so a taken port fails fast and clearly.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", c.Addr, err)
	}
	defer ln.Close()

	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()

	secret, err := sessionSecret(ctx, st, c)
	if err != nil {
		return err
	}
	if err := ensureFirstSuperuser(ctx, st, c, log); err != nil {
		return err
	}

	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return err
	}
	if n, err := st.InterruptJobRuns(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Warn("marked job runs interrupted by the last stop", "runs", n)
	}
	if n, err := st.ResetInterruptedSyncs(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Warn("repositories left syncing by the last stop are due again", "repos", n)
	}
	metrics := handlers.NewMetrics(st)
	gh := newGitHub(c, log, metrics)
	runner := newRunner(st, gh, c, log, metrics)
	h, err := handlers.New(st, handlers.Config{
		Version: buildVersion(), SecretKey: secret, SessionIdle: c.SessionIdle, SessionLifetime: c.SessionLifetime,
		TrustProxy: c.TrustProxy, GitHubTokenSet: c.GitHubToken != "", Public: c.Public, Static: static, Topics: c.Topics,
		APIRateLimit: c.APIRateLimit, MetricsToken: c.MetricsToken, Metrics: metrics, ExportPath: exportPath(c),
	}, runner, gh, log)
	if err != nil {
		return err
	}
	if c.GitHubToken == "" {
		log.Warn("no GitHub token: discovery is paused; set GITHUB_TOKEN to enable it")
	}

	scheduler, err := runner.Schedule()
	if err != nil {
		return err
	}

	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Long-lived streams end with the server instead of holding Shutdown open.
		BaseContext: func(net.Listener) context.Context { return baseCtx },
	}
	srv.RegisterOnShutdown(cancelBase)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "version", buildVersion(), "db", c.DB)

	select {
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		err = nil
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Order matters: stop taking requests, then stop jobs, then (deferred) close the DB.
	if serr := srv.Shutdown(shutCtx); serr != nil {
		log.Warn("http shutdown", "err", serr)
	}
	if jerr := scheduler.Shutdown(); jerr != nil {
		log.Warn("jobs shutdown", "err", jerr)
	}
	runner.Close() // runs started with "Run now"
	return err
}

// newGitHub builds the GitHub client; obs (nil outside serve) receives its request figures.
func newGitHub(c config, log *slog.Logger, obs githubql.Observer) *githubql.Client {
	return githubql.New(githubql.Options{Token: c.GitHubToken, GraphQLURL: c.GraphQLURL, APIURL: c.APIURL, Logger: log, Observer: obs})
}

// newRunner builds the job runner; obs (nil outside serve) receives job and sync figures.
func newRunner(st *store.Store, gh *githubql.Client, c config, log *slog.Logger, obs jobs.Observer) *jobs.Runner {
	return jobs.New(st, gh, jobs.Config{
		Topics: c.Topics, IncludeForks: c.IncludeForks, MaxRepoSizeMB: c.MaxRepoSizeMB,
		DiscoverInterval: c.DiscoverInterval, RefreshInterval: c.RefreshInterval,
		SyncInterval: c.SyncInterval, SyncConcurrency: c.SyncConcurrency, SyncTimeout: c.SyncTimeout, ScanLimits: scanLimits(c),
		Sessions: store.SessionPolicy{Idle: c.SessionIdle, Lifetime: c.SessionLifetime}, Observer: obs,
		ExportPath: exportPath(c),
	}, log)
}

// runJob is `kubestats run JOB`: one run, recorded like any other, with a summary.
func runJob(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("run needs a job: %s", strings.Join(jobs.Names, ", "))
	}
	job, args := args[0], args[1:]
	if !jobs.Known(job) {
		return fmt.Errorf("unknown job %q: use %s", job, strings.Join(jobs.Names, ", "))
	}
	c, err := parseServeSettings("run "+job, args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(c, stderr)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	counts, err := newRunner(st, newGitHub(c, log, nil), c, log, nil).Run(ctx, job, "cli")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	status := "ok"
	if err != nil {
		status = "failed"
	}
	fmt.Fprintf(stdout, "%s %s in %s: %s\n", job, status, time.Since(start).Round(time.Millisecond), strings.Join(parts, " "))
	if err != nil {
		return fmt.Errorf("%s: %w", job, err)
	}
	return nil
}

// healthcheck asks a running server's /api/health/db, for images without curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var target string
	c, _, err := parseSettings("healthcheck", args, getenv, serveSettings()[:1], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "url", "", "health URL (default: http://127.0.0.1:PORT/api/health/db from KUBESTATS_ADDR)")
	})
	if err != nil {
		return err
	}
	if target == "" {
		_, port, _ := net.SplitHostPort(c.Addr)
		target = "http://127.0.0.1:" + port + "/api/health/db"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d: %s", target, res.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	return nil
}

// sessionSecret is KUBESTATS_SECRET_KEY, or a random key generated on first start and
// kept in the database so that logins survive restarts.
func sessionSecret(ctx context.Context, st *store.Store, c config) ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	v, err := st.EnsureSetting(ctx, store.SettingSessionKey, func() (string, error) {
		b := make([]byte, 64)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	})
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

func ensureFirstSuperuser(ctx context.Context, st *store.Store, c config, log *slog.Logger) error {
	counts, err := st.CountUsers(ctx)
	if err != nil {
		return err
	}
	if counts.Total > 0 {
		return nil
	}
	switch {
	case c.AdminEmail != "" && c.AdminPassword != "":
		u, err := st.CreateUser(ctx, store.NewUser{Email: c.AdminEmail, Name: "Admin", Password: c.AdminPassword, IsSuperuser: true})
		if err != nil {
			return fmt.Errorf("cannot create the first superuser from KUBESTATS_ADMIN_EMAIL: %w", err)
		}
		log.Info("created first superuser", "email", u.Email)
	case c.AdminEmail != "" || c.AdminPassword != "":
		return errors.New("set both KUBESTATS_ADMIN_EMAIL and KUBESTATS_ADMIN_PASSWORD to create the first superuser, or neither")
	default:
		log.Warn("no users yet; create the first superuser with: kubestats user create --superuser --email you@example.org --db " + c.DB)
	}
	return nil
}

func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "Usage: kubestats user create|set-password|list [flags]")
		return errors.New("user needs a subcommand: create, set-password or list")
	}
	sub, args := args[0], args[1:]
	var email, name string
	var super bool
	extra := func(fs *flag.FlagSet) {
		switch sub {
		case "create":
			fs.StringVar(&email, "email", "", "the user's email (required)")
			fs.StringVar(&name, "name", "", "the user's display name")
			fs.BoolVar(&super, "superuser", false, "make the user a superuser")
		case "set-password":
			fs.StringVar(&email, "email", "", "the user's email (required)")
		}
	}
	c, fs, err := parseSettings("user "+sub, args, getenv, commonSettings, stderr, extra)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (passwords are read from stdin, never from arguments)", fs.Arg(0))
	}
	if (sub == "create" || sub == "set-password") && email == "" {
		return fmt.Errorf("user %s needs --email", sub)
	}
	switch sub {
	case "create", "set-password", "list":
	default:
		return fmt.Errorf("unknown user command %q: use create, set-password or list", sub)
	}
	st, err := openStore(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tACTIVE\tLAST LOGIN")
		for _, u := range users {
			role, last := "user", "never"
			if u.IsSuperuser {
				role = "superuser"
			}
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\t%s\n", u.ID, u.Email, u.Name, role, u.IsActive, last)
		}
		return tw.Flush()
	case "create":
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		u, err := st.CreateUser(ctx, store.NewUser{Email: email, Name: name, Password: pw, IsSuperuser: super})
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a user with email %s already exists; use 'kubestats user set-password' to change its password", email)
		}
		if err != nil {
			return err
		}
		role := "user"
		if u.IsSuperuser {
			role = "superuser"
		}
		fmt.Fprintf(stdout, "created %s %s (id %d)\n", role, u.Email, u.ID)
		return nil
	default: // set-password
		u, err := st.GetUserByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user has the email %s", email)
		}
		if err != nil {
			return err
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s set; their sessions were ended\n", u.Email)
		return nil
	}
}

// readPassword prompts twice without echo on a terminal; otherwise it reads one line
// of stdin, so scripts can pipe the password in (never pass it as an argument).
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin: pipe one in, e.g. printf '%s\\n' \"$PW\" | kubestats user create …")
	}
	return line, nil
}

func scanLimits(c config) scan.Limits {
	l := scan.DefaultLimits()
	if c.MaxFileBytes > 0 {
		l.MaxFileBytes = c.MaxFileBytes
	}
	return l
}

// scanCommand is `kubestats scan DIR`: the sync's scanner on a local checkout, no GitHub and
// no database. Per-file errors are part of the report, not a failure: the exit status is 0
// whenever the scan itself ran.
func scanCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// Defining a flag resets its variable, and flags are parsed once per DIR position: OR the passes.
	var asJSON, pass bool
	extra := func(fs *flag.FlagSet) {
		asJSON = asJSON || pass
		fs.BoolVar(&pass, "json", false, "print one JSON object instead of the summary tables")
	}
	// Flags may come before or after DIR.
	var dirs []string
	var c config
	for {
		var fs *flag.FlagSet
		var err error
		c, fs, err = parseSettings("scan", args, getenv, []setting{maxFileBytesSetting}, stderr, extra)
		if err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		dirs, args = append(dirs, fs.Arg(0)), fs.Args()[1:]
	}
	asJSON = asJSON || pass
	if len(dirs) != 1 {
		return errors.New("scan needs exactly one directory: kubestats scan [--json] DIR")
	}
	res, err := scan.Dir(ctx, dirs[0], scan.Options{Limits: scanLimits(c)})
	if err != nil {
		return fmt.Errorf("scan %s: %w", dirs[0], err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteTable(stdout)
}

// tokenCommand is `kubestats token create|list|revoke`: API tokens for scripts, without the UI.
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "Usage: kubestats token create|list|revoke --email E [flags]")
		return errors.New("token needs a subcommand: create, list or revoke")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create", "list", "revoke":
	default:
		return fmt.Errorf("unknown token command %q: use create, list or revoke", sub)
	}
	var email, name string
	var id int64
	extra := func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the token owner's email (required)")
		switch sub {
		case "create":
			fs.StringVar(&name, "name", "", "the token's name, e.g. what script uses it (required)")
		case "revoke":
			fs.Int64Var(&id, "id", 0, "the token's id, from 'kubestats token list' (required)")
		}
	}
	c, fs, err := parseSettings("token "+sub, args, getenv, commonSettings, stderr, extra)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case email == "":
		return fmt.Errorf("token %s needs --email", sub)
	case sub == "create" && name == "":
		return errors.New("token create needs --name")
	case sub == "revoke" && id <= 0:
		return errors.New("token revoke needs --id")
	}
	st, err := openStore(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user has the email %s", email)
	}
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		token, t, err := st.CreateToken(ctx, u.ID, name)
		if err != nil {
			return err
		}
		// Only the token goes to stdout, so TOKEN=$(kubestats token create …) works.
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stderr, "created token %q (id %d) for %s; it is not stored in clear and cannot be shown again\n", t.Name, t.ID, u.Email)
		return nil
	case "revoke":
		if err := st.RevokeToken(ctx, u.ID, id); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s has no token with id %d", u.Email, id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked token %d of %s\n", id, u.Email)
		return nil
	default: // list
		tokens, err := st.ListTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tLAST USED\tREVOKED")
		for _, t := range tokens {
			used, revoked := "never", "-"
			if t.LastUsedAt != nil {
				used = t.LastUsedAt.UTC().Format(time.RFC3339)
			}
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.CreatedAt.UTC().Format(time.RFC3339), used, revoked)
		}
		return tw.Flush()
	}
}

// exportPath is where the export job writes the dataset and the API serves it from: the
// setting, else beside the database (kubestats.db → kubestats-export.sqlite).
func exportPath(c config) string {
	if c.ExportPath != "" {
		return c.ExportPath
	}
	return strings.TrimSuffix(c.DB, ".db") + "-export.sqlite"
}

// openExisting opens the database for the commands that copy it: creating an empty one
// there would only hide a mistyped path.
func openExisting(ctx context.Context, c config, log *slog.Logger) (*store.Store, error) {
	if _, err := os.Stat(c.DB); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", c.DB, err)
	}
	return openStore(ctx, c, log)
}

// checkCopyTarget refuses, before anything is opened, a file the export or backup command
// would rename over the database or one of SQLite's files beside it, and (for a backup) the
// export path, which serve publishes: a backup there would publish the users' password hashes.
// The store refuses the first kind too; this says it without opening anything.
func checkCopyTarget(c config, op, path string) error {
	if what, ok := store.DatabaseFile(c.DB, path); ok {
		return fmt.Errorf("%s: %s is %s: %w", op, path, what, store.ErrDatabaseFile)
	}
	if op == "backup" && store.SamePath(path, exportPath(c)) {
		return fmt.Errorf("backup: %s is the export path (KUBESTATS_EXPORT_PATH), which is served publicly: a backup there would publish password hashes; choose another file", path)
	}
	return nil
}

// exportCommand is `kubestats export FILE`: the public dataset, as the export job writes it.
func exportCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, fs, err := parseSettings("export", args, getenv, commonSettings, stderr, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("export needs exactly one file: kubestats export [flags] FILE")
	}
	if err := checkCopyTarget(c, "export", fs.Arg(0)); err != nil {
		return err
	}
	st, err := openExisting(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	info, err := st.Export(ctx, fs.Arg(0), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d repositories and %d resources to %s: %d bytes in %s\n",
		info.Rows["repositories"], info.Rows["resources"], info.Path, info.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}

// backupCommand is `kubestats backup FILE`: a consistent copy of the whole database, safe
// while serve runs (WAL lets this second process read while serve writes).
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var force bool
	settings := append(slices.Clip(commonSettings), exportPathSetting)
	c, fs, err := parseSettings("backup", args, getenv, settings, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&force, "force", false, "replace FILE when it exists")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("backup needs exactly one file: kubestats backup [--force] FILE")
	}
	if err := checkCopyTarget(c, "backup", fs.Arg(0)); err != nil {
		return err
	}
	st, err := openExisting(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	backup := st.Backup
	if force {
		backup = st.BackupReplace
	}
	start := time.Now()
	if err := backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(fs.Arg(0)); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d bytes in %s\n", c.DB, fs.Arg(0), size, time.Since(start).Round(time.Millisecond))
	return nil
}

package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

const (
	adminEmail = "admin@example.org"
	userEmail  = "user@example.org"
	password   = "correct horse battery"
)

// env is one app instance over a fresh database, served by a real HTTP server.
type env struct {
	t     testing.TB
	store *store.Store
	h     *handlers.Handlers
	srv   *httptest.Server
	admin store.User
	user  store.User
	// github is the fake GitHub the runner downloads from.
	github *githubtest.Server
	// logs holds what the handlers logged, for tests of what an operator sees.
	logs *logBuffer
}

// logBuffer is a log destination that the server's goroutines may write while a test reads.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t testing.TB, edit ...func(*handlers.Config)) *env {
	t.Helper()
	return newEnvOn(t, storetest.Open(t), edit...)
}

// newEnvOn is newEnv over a store the test opened itself, e.g. with its own store.Options.
func newEnvOn(t testing.TB, s *store.Store, edit ...func(*handlers.Config)) *env {
	t.Helper()
	cfg := handlers.Config{
		Version:         "test",
		SecretKey:       []byte("0123456789abcdef0123456789abcdef"),
		SessionIdle:     time.Hour,
		SessionLifetime: 24 * time.Hour,
		Static:          os.DirFS("../static"),
	}
	for _, e := range edit {
		e(&cfg)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	// The runner talks to the project's fake GitHub: a sync button downloads from it, never from GitHub.
	// Like main, the client has a token exactly when the pages are told one is set.
	fake := githubtest.New(t)
	token := ""
	if cfg.GitHubTokenSet {
		token = fake.Token()
	}
	gh := githubql.New(githubql.Options{Token: token, GraphQLURL: fake.GraphQLURL(), APIURL: fake.APIURL()})
	runner := jobs.New(s, gh, jobs.Config{Topics: []string{"k8s-at-home"}, SyncConcurrency: 2,
		Sessions: store.SessionPolicy{Idle: cfg.SessionIdle, Lifetime: cfg.SessionLifetime}}, log)
	t.Cleanup(runner.Close)
	h, err := handlers.New(s, cfg, runner, gh, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, store: s, h: h, srv: srv, github: fake, logs: logs}
}

// withUsers adds a superuser and a plain user.
func (e *env) withUsers() *env {
	e.t.Helper()
	ctx := context.Background()
	var err error
	if e.admin, err = e.store.CreateUser(ctx, store.NewUser{Email: adminEmail, Name: "Admin", Password: password, IsSuperuser: true}); err != nil {
		e.t.Fatal(err)
	}
	if e.user, err = e.store.CreateUser(ctx, store.NewUser{Email: userEmail, Name: "Plain User", Password: password}); err != nil {
		e.t.Fatal(err)
	}
	return e
}

// client is a browser stand-in: a cookie jar, no automatic redirects.
type client struct {
	e  *env
	hc *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a finished request with its body read.
type response struct {
	*http.Response
	body string
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, body: string(b)}
}

func (c *client) get(path string, header ...string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// postRaw posts a form exactly as given: no CSRF token is added.
func (c *client) postRaw(path string, form url.Values, header ...string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// csrfToken returns the token a page would put in its forms, fetching a page first
// when the jar has no CSRF cookie yet.
func (c *client) csrfToken() string {
	c.e.t.Helper()
	u, _ := url.Parse(c.e.srv.URL)
	for range 2 {
		for _, ck := range c.hc.Jar.Cookies(u) {
			if ck.Name == "kubestats_csrf" {
				return ck.Value
			}
		}
		c.get("/login")
	}
	c.e.t.Fatal("no CSRF cookie")
	return ""
}

// post submits a form the way the app's own pages do: with the CSRF token.
func (c *client) post(path string, form url.Values) response {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", c.csrfToken())
	return c.postRaw(path, form)
}

func (c *client) login(email, pw string) response {
	c.e.t.Helper()
	return c.post("/login", url.Values{"email": {email}, "password": {pw}})
}

func (c *client) mustLogin(email string) *client {
	c.e.t.Helper()
	if r := c.login(email, password); r.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("login %s: got %d, want 303\n%s", email, r.StatusCode, r.body)
	}
	return c
}

func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func setCookie(res response, name string) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/jobs"
)

// newAPIEnv is newCommEnv with configuration edits (public mode, rate limit): the community
// fixture synced for real through the fake GitHub, and the ecosystem aggregated.
func newAPIEnv(t *testing.T, repos []commRepo, edit ...func(*handlers.Config)) *commEnv {
	t.Helper()
	clock := &atomic.Int64{}
	edits := append([]func(*handlers.Config){withToken, func(c *handlers.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }
		c.APIRateLimit = 100_000 // tests fire many requests with one token; the limit has its own test
	}}, edit...)
	e := newEnv(t, edits...).withUsers()
	gh := githubql.New(githubql.Options{Token: e.github.Token(), GraphQLURL: e.github.GraphQLURL(), APIURL: e.github.APIURL()})
	runner := jobs.New(e.store, gh, jobs.Config{Topics: []string{"k8s-at-home"}, MaxRepoSizeMB: 100, SyncConcurrency: 3},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(runner.Close)
	ce := &commEnv{env: e, runner: runner, clock: clock, ids: map[string]string{}}
	pushed := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	for i, r := range repos {
		gr := githubtest.Repo{DatabaseID: int64(8000 + i), Owner: r.owner, Name: "home-ops", Topics: []string{"k8s-at-home"},
			DefaultBranch: "main", HeadOID: fmt.Sprintf("%040x", 0xa91000+i), CreatedAt: pushed.Add(-time.Hour), PushedAt: pushed,
			Stars: r.stars, DiskUsageKB: 100, Files: r.files(), Language: "Go"}
		e.github.AddRepos(gr)
		ce.ids[r.owner] = ghID(e.github, r.owner)
	}
	ce.run("discover", "refresh")
	if c := ce.run("sync"); c["synced"] != len(repos) || c["failed"] != 0 {
		t.Fatalf("sync: %v, want %d synced", c, len(repos))
	}
	ce.run("aggregate")
	return ce
}

// token creates an API token for the user with that email.
func (e *env) token(email string) string {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.store.GetUserByEmail(ctx, email)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.store.CreateToken(ctx, u.ID, "test "+fmt.Sprint(time.Now().UnixNano()))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// api calls the API with a bearer token ("" for none) and optional header pairs.
func (c *client) api(method, path, token string, header ...string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(method, c.e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// decode parses a JSON body into v, failing the test on error.
func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.NewDecoder(strings.NewReader(r.body)).Decode(v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// listOf is the list envelope with items of T.
type listOf[T any] struct {
	Data    []T `json:"data"`
	Count   int `json:"count"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errCode reads the error code of an API error answer.
func errCode(t *testing.T, r response) string {
	t.Helper()
	var e apiErr
	decode(t, r, &e)
	if e.Error.Message == "" {
		t.Errorf("error answer without message: %s", r.body)
	}
	return e.Error.Code
}

package githubql

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// recorder is a GraphQL endpoint that keeps every request and answers with canned bodies.
type recorder struct {
	mu       sync.Mutex
	requests []struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	auth    []string
	answers []func(w http.ResponseWriter)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &req)
	rc.mu.Lock()
	rc.requests = append(rc.requests, req)
	rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	var answer func(http.ResponseWriter)
	if len(rc.answers) > 0 {
		answer, rc.answers = rc.answers[0], rc.answers[1:]
	}
	rc.mu.Unlock()
	switch {
	case answer != nil:
	case strings.Contains(req.Query, "nodes(ids:"):
		answer = okAnswer(`{"nodes":[]}`)
	default:
		answer = okAnswer(`{"search":{"repositoryCount":0,"pageInfo":{"hasNextPage":false,"endCursor":null},"nodes":[]}}`)
	}
	answer(w)
}

const rateLimitJSON = `"rateLimit":{"cost":1,"limit":5000,"remaining":4999,"used":1,"resetAt":"2030-01-01T00:00:00Z"}`

func okAnswer(data string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-RateLimit-Limit", "5000")
		data = strings.TrimSuffix(data, "}") + "," + rateLimitJSON + "}"
		io.WriteString(w, `{"data":`+data+`}`)
	}
}

func statusAnswer(code int, header map[string]string, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func newTestClient(t *testing.T, rc *recorder) *Client {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return New(Options{Token: "tok", GraphQLURL: srv.URL + "/graphql", APIURL: srv.URL, Backoff: 5 * time.Millisecond, SecondaryWait: 10 * time.Millisecond})
}

// TestQueriesAreValidAgainstGitHubSchema validates every query the client sends against
// GitHub's published schema (githubql/testdata/github-schema.graphql, vendored from
// ../shared/github/schema.graphql), including the declared variable types.
func TestQueriesAreValidAgainstGitHubSchema(t *testing.T) {
	sdl, err := os.ReadFile("testdata/github-schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	schema := loadGitHubSchema(t, string(sdl))
	rc := &recorder{}
	c := newTestClient(t, rc)
	ctx := context.Background()
	if _, err := c.SearchRepositories(ctx, "topic:k8s-at-home", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SearchRepositories(ctx, "topic:k8s-at-home", "Y3Vyc29yOjEwMA=="); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.RepositoriesByID(ctx, []string{"R_1", "R_2"}); err != nil {
		t.Fatal(err)
	}
	if len(rc.requests) != 3 {
		t.Fatalf("got %d requests, want 3", len(rc.requests))
	}
	for _, req := range rc.requests {
		doc, errs := gqlparser.LoadQueryWithRules(schema, req.Query, rules.NewDefaultRules())
		if len(errs) > 0 {
			t.Errorf("query invalid against GitHub's schema: %v\n%s", errs, req.Query)
			continue
		}
		for _, op := range doc.Operations {
			for _, v := range op.VariableDefinitions {
				if _, ok := req.Variables[v.Variable]; !ok {
					t.Errorf("variable $%s declared but not sent", v.Variable)
				}
			}
		}
	}
	for _, a := range rc.auth {
		if a != "Bearer tok" {
			t.Errorf("got Authorization %q", a)
		}
	}
}

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	rc := &recorder{answers: []func(http.ResponseWriter){
		statusAnswer(502, nil, "<html>unicorn</html>"),
		statusAnswer(503, nil, "busy"),
	}}
	c := newTestClient(t, rc)
	m := &Meter{}
	if _, err := c.SearchRepositories(WithMeter(context.Background(), m), "topic:x", ""); err != nil {
		t.Fatal(err)
	}
	if m.Requests.Load() != 3 || m.Retries.Load() != 2 || m.Points.Load() != 1 {
		t.Fatalf("requests %d retries %d points %d, want 3 2 1", m.Requests.Load(), m.Retries.Load(), m.Points.Load())
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rc := &recorder{}
	for range 10 {
		rc.answers = append(rc.answers, statusAnswer(500, nil, "down"))
	}
	c := newTestClient(t, rc)
	c.o.MaxAttempts = 3
	_, err := c.SearchRepositories(context.Background(), "topic:x", "")
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || len(rc.requests) != 3 {
		t.Fatalf("got %v after %d requests", err, len(rc.requests))
	}
}

func TestUnauthorizedIsFinal(t *testing.T) {
	rc := &recorder{answers: []func(http.ResponseWriter){statusAnswer(401, nil, `{"message":"Bad credentials"}`)}}
	c := newTestClient(t, rc)
	_, err := c.SearchRepositories(context.Background(), "topic:x", "")
	if !errors.Is(err, ErrUnauthorized) || len(rc.requests) != 1 {
		t.Fatalf("got %v after %d requests", err, len(rc.requests))
	}
}

func TestPartialNotFoundIsSuccess(t *testing.T) {
	rc := &recorder{answers: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		io.WriteString(w, `{"data":{"nodes":[{"id":"R_1","name":"a","owner":{"login":"o"},"url":"https://github.com/o/a",
			"createdAt":"2020-01-01T00:00:00Z","updatedAt":"2020-01-01T00:00:00Z","repositoryTopics":{"nodes":[]},
			"watchers":{"totalCount":1},"issues":{"totalCount":2},"stargazerCount":3,"forkCount":4},null],`+rateLimitJSON+`},
			"errors":[{"type":"NOT_FOUND","path":["nodes",1],"message":"Could not resolve to a node with the global id of 'R_2'."}]}`)
	}}}
	c := newTestClient(t, rc)
	found, missing, err := c.RepositoriesByID(context.Background(), []string{"R_1", "R_2"})
	if err != nil || len(found) != 1 || found[0].Stars != 3 || len(missing) != 1 || missing[0] != "R_2" {
		t.Fatalf("found %+v missing %v err %v", found, missing, err)
	}
}

func TestOtherGraphQLErrorsFail(t *testing.T) {
	rc := &recorder{answers: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		io.WriteString(w, `{"data":null,"errors":[{"type":"INTERNAL","message":"Something went wrong"}]}`)
	}}}
	c := newTestClient(t, rc)
	if _, err := c.SearchRepositories(context.Background(), "topic:x", ""); err == nil || !strings.Contains(err.Error(), "Something went wrong") {
		t.Fatalf("got %v", err)
	}
}

func TestSecondaryLimitHonoursRetryAfter(t *testing.T) {
	rc := &recorder{answers: []func(http.ResponseWriter){
		statusAnswer(403, map[string]string{"Retry-After": "1"}, `{"message":"You have exceeded a secondary rate limit."}`),
	}}
	var times []time.Time
	var mu sync.Mutex
	inner := rc.ServeHTTP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		inner(w, r)
	}))
	defer srv.Close()
	c := New(Options{Token: "tok", GraphQLURL: srv.URL + "/graphql", Backoff: time.Millisecond})
	if _, err := c.SearchRepositories(context.Background(), "topic:x", ""); err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || times[1].Sub(times[0]) < time.Second {
		t.Fatalf("retried after %v, want ≥ 1s (Retry-After)", times[1].Sub(times[0]))
	}
}

func TestRateLimitedWaitsForReset(t *testing.T) {
	reset := time.Now().Add(1500 * time.Millisecond).Unix()
	rc := &recorder{answers: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strings.TrimSpace(jsonInt(reset)))
		io.WriteString(w, `{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}`)
	}}}
	c := newTestClient(t, rc)
	start := time.Now()
	if _, err := c.SearchRepositories(context.Background(), "topic:x", ""); err != nil {
		t.Fatal(err)
	}
	if time.Now().Unix() < reset || len(rc.requests) != 2 {
		t.Fatalf("continued after %v with %d requests; want after the reset", time.Since(start), len(rc.requests))
	}
}

func TestWaitIsInterruptible(t *testing.T) {
	rc := &recorder{answers: []func(http.ResponseWriter){
		statusAnswer(403, map[string]string{"Retry-After": "3600"}, `{"message":"secondary rate limit"}`),
	}}
	c := newTestClient(t, rc)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.SearchRepositories(ctx, "topic:x", "")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestBelowReserveWaitsBeforeSending(t *testing.T) {
	rc := &recorder{}
	c := newTestClient(t, rc)
	c.rate = RateLimit{Known: true, Limit: 5000, Remaining: 3, ResetAt: time.Now().Add(time.Second)}
	start := time.Now()
	if _, err := c.SearchRepositories(context.Background(), "topic:x", ""); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("sent after %v, want a wait for the reset", time.Since(start))
	}
}

func TestNoTokenNoRequest(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c := New(Options{GraphQLURL: srv.URL})
	if _, err := c.SearchRepositories(context.Background(), "x", ""); !errors.Is(err, ErrNoToken) || len(rc.requests) != 0 {
		t.Fatalf("got %v with %d requests", err, len(rc.requests))
	}
}

// loadGitHubSchema parses GitHub's SDL. The published file defines
// EnterpriseOwnerInfo.repositoryDeployKeySetting twice, which strict validation refuses;
// the first definition of a repeated field is kept (both are identical).
func loadGitHubSchema(t *testing.T, sdl string) *ast.Schema {
	t.Helper()
	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: "github-schema.graphql", Input: sdl})
	if err != nil {
		t.Fatalf("parse GitHub schema: %v", err)
	}
	for _, defs := range []ast.DefinitionList{doc.Definitions, doc.Extensions} {
		for _, d := range defs {
			seen := map[string]bool{}
			kept := d.Fields[:0]
			for _, f := range d.Fields {
				if !seen[f.Name] {
					seen[f.Name] = true
					kept = append(kept, f)
				}
			}
			d.Fields = kept
		}
	}
	schema, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		t.Fatalf("load GitHub schema: %v", err)
	}
	return schema
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

package handlers_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/store"
)

// loadOpenAPI reads and validates the document the server embeds.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// echoToDoc turns an Echo route path into the document's path template.
func echoToDoc(p string) string {
	p = regexp.MustCompile(`:(\w+)`).ReplaceAllString(p, "{$1}")
	// The one wildcard: an image repository with slashes.
	return strings.Replace(p, "/*", "/{repository}", 1)
}

// apiCall is one request of the conformance test and the operation it exercises.
type apiCall struct {
	method, op, path string // op: the document's path template
	params           map[string]string
	token            string // "admin", "user", "bad", or "" for none
	header           []string
	want             int
	noETag           bool // routes that stream a file or answer per caller
}

// TestOpenAPIConformance calls every operation of the document (and the router has none that
// the document lacks) on a database filled by real syncs, and validates every answer, errors
// and 304s included, against the document.
func TestOpenAPIConformance(t *testing.T) {
	doc := loadOpenAPI(t)
	ce := newAPIEnv(t, commFixture())
	ctx := context.Background()
	tokens := map[string]string{"admin": ce.token(adminEmail), "user": ce.token(userEmail), "bad": "ks_not-a-token"}
	// Held until the end: the sync queued by the test stays queued, so a second request conflicts.
	hold := make(chan struct{})
	ce.github.SetHook(func(r *http.Request) {
		if strings.Contains(r.URL.Path, "tarball") || strings.Contains(r.URL.Host, "codeload") {
			select {
			case <-hold:
			case <-ce.github.Closing():
			}
		}
	})
	defer close(hold)
	blocked, err := ce.store.GetRepositoryByName(ctx, "comm6", "home-ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := ce.store.ApplyRepoAction(ctx, blocked.ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}

	repo := func(rest string) string { return "/api/v1/repositories/comm1/home-ops" + rest }
	rp := map[string]string{"owner": "comm1", "name": "home-ops"}
	missing := map[string]string{"owner": "nobody", "name": "nothing"}
	img := map[string]string{"registry": "ghcr.io", "repository": "home-operations/sonarr"}
	const (
		pRepos = "/api/v1/repositories"
		pRepo  = "/api/v1/repositories/{owner}/{name}"
		pSync  = pRepo + "/sync"
		pImage = "/api/v1/images/{registry}/{repository}"
		pChart = "/api/v1/charts/{name}"
	)
	calls := []apiCall{
		{method: "GET", op: "/api/v1/openapi.json", path: "/api/v1/openapi.json", want: 200},
		{method: "GET", op: pRepos, path: "/api/v1/repositories", token: "user", want: 200},
		{method: "GET", op: pRepos, path: "/api/v1/repositories?q=comm&sort=name&per_page=2&page=2", token: "user", want: 200},
		{method: "GET", op: pRepos, path: "/api/v1/repositories?per_page=501", token: "user", want: 400},
		{method: "GET", op: pRepos, path: "/api/v1/repositories", want: 401},
		{method: "GET", op: pRepos, path: "/api/v1/repositories", token: "bad", want: 401},
		{method: "GET", op: pRepo, path: repo(""), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo, path: "/api/v1/repositories/nobody/nothing", params: missing, token: "user", want: 404},
		{method: "GET", op: pRepo + "/metrics", path: repo("/metrics?since=2020-01-01"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/metrics", path: repo("/metrics?since=yesterday"), params: rp, token: "user", want: 400},
		{method: "GET", op: pRepo + "/resources", path: repo("/resources?content=1&kind=HelmRelease"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/resources", path: "/api/v1/repositories/nobody/nothing/resources", params: missing, token: "user", want: 404},
		{method: "GET", op: pRepo + "/events", path: repo("/events?type=created"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/events", path: repo("/events?since=2000-01-01T00:00:00Z"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/events", path: repo("/events?type=bogus"), params: rp, token: "user", want: 400},
		{method: "GET", op: pRepo + "/charts", path: repo("/charts"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/images", path: repo("/images"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/errors", path: repo("/errors"), params: rp, token: "user", want: 200},
		{method: "GET", op: pRepo + "/deprecations", path: "/api/v1/repositories/comm3/home-ops/deprecations", params: map[string]string{"owner": "comm3", "name": "home-ops"}, token: "user", want: 200},
		{method: "POST", op: pSync, path: repo("/sync"), params: rp, token: "user", want: 409},             // up to date
		{method: "POST", op: pSync, path: repo("/sync?rescan=true"), params: rp, token: "user", want: 403}, // a superuser's action
		{method: "POST", op: pSync, path: repo("/sync?rescan=true"), params: rp, token: "admin", want: 202},
		{method: "POST", op: pSync, path: repo("/sync"), params: rp, token: "user", want: 409}, // already queued
		{method: "POST", op: pSync, path: repo("/sync"), params: rp, want: 401},
		{method: "POST", op: pSync, path: "/api/v1/repositories/comm6/home-ops/sync", params: map[string]string{"owner": "comm6", "name": "home-ops"}, token: "user", want: 403},
		{method: "POST", op: pSync, path: "/api/v1/repositories/comm6/home-ops/sync", params: map[string]string{"owner": "comm6", "name": "home-ops"}, token: "admin", want: 422},
		{method: "POST", op: pSync, path: "/api/v1/repositories/nobody/nothing/sync", params: missing, token: "user", want: 404},
		{method: "GET", op: "/api/v1/charts", path: "/api/v1/charts?q=app&sort=growth", token: "user", want: 200},
		{method: "GET", op: "/api/v1/charts", path: "/api/v1/charts?sort=size", token: "user", want: 400},
		{method: "GET", op: pChart, path: "/api/v1/charts/app-template?sort=version", params: map[string]string{"name": "app-template"}, token: "user", want: 200},
		{method: "GET", op: pChart, path: "/api/v1/charts/no-such-chart", params: map[string]string{"name": "no-such-chart"}, token: "user", want: 404},
		{method: "GET", op: "/api/v1/images", path: "/api/v1/images?registry=docker.io&pinning=latest", token: "user", want: 200},
		{method: "GET", op: "/api/v1/images", path: "/api/v1/images?pinning=loose", token: "user", want: 400},
		{method: "GET", op: pImage, path: "/api/v1/images/ghcr.io/home-operations/sonarr", params: img, token: "user", want: 200},
		{method: "GET", op: pImage, path: "/api/v1/images/docker.io/library/busybox?tag=-", params: map[string]string{"registry": "docker.io", "repository": "library/busybox"}, token: "user", want: 200},
		{method: "GET", op: pImage, path: "/api/v1/images/ghcr.io/none/such", params: map[string]string{"registry": "ghcr.io", "repository": "none/such"}, token: "user", want: 404},
		{method: "GET", op: "/api/v1/ecosystem", path: "/api/v1/ecosystem?days=7", token: "user", want: 200},
		{method: "GET", op: "/api/v1/ecosystem", path: "/api/v1/ecosystem?days=8", token: "user", want: 400},
		{method: "GET", op: "/api/v1/deprecations", path: "/api/v1/deprecations?project=kubernetes", token: "user", want: 200},
		{method: "GET", op: "/api/v1/deprecations", path: "/api/v1/deprecations?status=maybe", token: "user", want: 400},
		{method: "GET", op: "/api/v1/jobs", path: "/api/v1/jobs", token: "admin", want: 200},
		{method: "GET", op: "/api/v1/jobs", path: "/api/v1/jobs", token: "user", want: 403},
		{method: "GET", op: "/api/v1/export.sqlite", path: "/api/v1/export.sqlite", token: "user", want: 404},
		{method: "GET", op: "/api/v1/me", path: "/api/v1/me", token: "user", want: 200, noETag: true},
		{method: "GET", op: "/api/v1/me", path: "/api/v1/me", want: 401},
	}

	covered := map[string]bool{}
	c := ce.client()
	etags := map[string]string{}
	check := func(t *testing.T, call apiCall, header ...string) response {
		t.Helper()
		res := c.api(call.method, call.path, tokens[call.token], append(append([]string{}, call.header...), header...)...)
		validateAgainst(t, doc, call, res)
		return res
	}
	for _, call := range calls {
		t.Run(call.method+" "+call.path, func(t *testing.T) {
			covered[call.method+" "+call.op] = true
			res := check(t, call)
			if res.StatusCode != call.want {
				t.Fatalf("status %d, want %d\n%.600s", res.StatusCode, call.want, res.body)
			}
			// Every successful GET revalidates: its ETag in If-None-Match gives a bodiless 304.
			if call.method == "GET" && call.want == 200 && !call.noETag {
				tag := res.Header.Get("ETag")
				if tag == "" {
					t.Fatal("no ETag")
				}
				etags[call.path] = tag
				if again := check(t, call, "If-None-Match", tag); again.StatusCode != http.StatusNotModified || again.body != "" {
					t.Fatalf("If-None-Match: status %d, body %q; want 304 and none", again.StatusCode, again.body)
				}
			}
		})
	}

	// Every operation of the document was called.
	var notCalled []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !covered[method+" "+path] {
				notCalled = append(notCalled, method+" "+path)
			}
		}
	}
	sort.Strings(notCalled)
	if len(notCalled) > 0 {
		t.Errorf("operations of openapi.json the test does not call: %v", notCalled)
	}
	// Every /api/v1 route of the router is in the document.
	for _, r := range ce.h.Echo().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == "echo_route_not_found" || strings.HasSuffix(r.Path, "/api/v1/*") {
			continue
		}
		p := echoToDoc(r.Path)
		item := doc.Paths.Value(p)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s (%s) is not in openapi.json", r.Method, r.Path, p)
		}
	}
}

// validateAgainst checks a response against the document's operation for the call.
func validateAgainst(t *testing.T, doc *openapi3.T, call apiCall, res response) {
	t.Helper()
	item := doc.Paths.Value(call.op)
	if item == nil {
		t.Fatalf("openapi.json has no path %s", call.op)
	}
	op := item.GetOperation(call.method)
	if op == nil {
		t.Fatalf("openapi.json has no %s %s", call.method, call.op)
	}
	req, _ := http.NewRequest(call.method, call.path, nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: call.params,
			Route: &routers.Route{Spec: doc, Path: call.op, PathItem: item, Method: call.method, Operation: op},
		},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(strings.NewReader(res.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.json: %v\n%.800s", call.method, call.path, res.StatusCode, err, res.body)
	}
}

// TestOpenAPIRateLimitAnswer: a 429 carries Retry-After and the documented error shape.
func TestOpenAPIRateLimitAnswer(t *testing.T) {
	doc := loadOpenAPI(t)
	e := newEnv(t, func(c *handlers.Config) { c.Public = true; c.APIRateLimit = 10 })
	c := e.client()
	call := apiCall{method: "GET", op: "/api/v1/deprecations", path: "/api/v1/deprecations"}
	var last response
	for range 30 {
		if last = c.api("GET", call.path, ""); last.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after 30 requests: status %d, Retry-After %q; want 429 with one", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if code := errCode(t, last); code != "rate_limited" {
		t.Errorf("code %q, want rate_limited", code)
	}
	validateAgainst(t, doc, call, last)
}

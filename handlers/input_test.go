package handlers_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/handlers"
)

func public(c *handlers.Config) { c.Public = true }

// Query text and page numbers past any sensible size are the client's mistake: a 400 that
// says so, never a 500 from SQLite's LIKE pattern limit or a page number that wraps around.
func TestOddQueryParametersAre400(t *testing.T) {
	e := newEnv(t, public).withUsers()
	anon := e.client()
	long := strings.Repeat("x", 60_000)
	const huge = "9223372036854775807"
	for _, path := range []string{
		"/charts?q=" + long, "/images?q=" + long, "/repositories?q=" + long, "/resources?name=" + long,
		"/search?q=" + long, "/search/suggest?q=" + long,
		"/api/v1/charts?q=" + long, "/api/v1/images?q=" + long, "/api/v1/repositories?q=" + long,
		"/repositories?page=" + huge, "/charts?page=" + huge, "/images?page=" + huge, "/resources?page=" + huge,
		"/deprecations?page=" + huge, "/api/v1/repositories?page=" + huge, "/api/v1/charts?page=" + huge,
		"/repositories?page=-1",
	} {
		r := anon.get(path)
		short := path[:min(len(path), 60)]
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", short, r.StatusCode)
			continue
		}
		if strings.HasPrefix(path, "/api/") {
			if !strings.Contains(r.body, `"bad_request"`) {
				t.Errorf("%s: body %s, want the API's bad_request error", short, r.body[:min(len(r.body), 200)])
			}
		} else if d := r.doc(t); !strings.Contains(d.Find("main").Text(), "at most") {
			t.Errorf("%s: the page does not say what the limit is: %q", short, strings.TrimSpace(d.Find("main").Text()))
		}
	}
	// A page just past the last one is an empty page, as before; a reasonable text still searches.
	for _, path := range []string{"/repositories?page=5000", "/charts?q=" + strings.Repeat("y", 200), "/api/v1/charts?page=1000"} {
		if r := anon.get(path); r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", path, r.StatusCode)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("odd input logged errors:\n%s", logs)
	}
}

// HEAD answers wherever GET does, with the same status and headers and no body.
func TestHeadAnswersLikeGet(t *testing.T) {
	e := newEnv(t, public).withUsers()
	token := e.token(userEmail)
	for _, path := range []string{"/", "/login", "/repositories", "/charts", "/api/health", "/api/health/db",
		"/static/app.css", "/static/vendor/htmx-2.0.11.min.js", "/api/v1/charts", "/api/v1/openapi.json", "/account", "/nope"} {
		get := e.client().api(http.MethodGet, path, token)
		head := e.client().api(http.MethodHead, path, token)
		if head.StatusCode != get.StatusCode {
			t.Errorf("HEAD %s: status %d, GET answers %d", path, head.StatusCode, get.StatusCode)
		}
		if head.body != "" {
			t.Errorf("HEAD %s: a body of %d bytes", path, len(head.body))
		}
		if g, h := get.Header.Get("Content-Type"), head.Header.Get("Content-Type"); g != h {
			t.Errorf("HEAD %s: Content-Type %q, GET sends %q", path, h, g)
		}
	}
	if r := e.client().api(http.MethodHead, "/api/health", ""); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD /api/health without a token: %d", r.StatusCode)
	}
}

// Only real assets are cached for a year: a missing file must not be remembered as missing.
func TestStaticCacheControlOnlyForAssets(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	if r := c.get("/static/app.css"); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset: status %d Cache-Control %q, want 200 immutable", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	for _, path := range []string{"/static/nope.css", "/static/vendor/", "/static/../main.go"} {
		r := c.get(path)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, r.StatusCode)
		}
		if cc := r.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") || strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: Cache-Control %q on a 404", path, cc)
		}
	}
}

// A client that stops sending its body is the client's timeout: one line in the log at
// warning level and a 408, not a 500 with ERROR lines.
func TestSlowBodyIsTheClientsTimeout(t *testing.T) {
	e := newEnv(t).withUsers()
	srv := httptest.NewUnstartedServer(e.h.Handler())
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	before := e.logs.String()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The headers arrive, the body never does.
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Sec-Fetch-Site: same-origin\r\nContent-Length: 1000\r\n\r\nemail=a")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestTimeout {
			t.Errorf("slow body: status %d, want 408", res.StatusCode)
		}
	} // else the connection was closed without an answer, which is also fine for a timed-out client
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.TrimPrefix(e.logs.String(), before), "uri=/login") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	logs := strings.TrimPrefix(e.logs.String(), before)
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("a client's timeout was logged as an error:\n%s", logs)
	}
	if n := strings.Count(logs, "\n"); n != 1 {
		t.Errorf("a client's timeout took %d log lines, want 1:\n%s", n, logs)
	}
}

package handlers_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

func ecoObj(file, apiVersion, group, kind, name string) scan.Object {
	content := fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":%q}}`, apiVersion, kind, name)
	return scan.Object{File: file, APIVersion: apiVersion, Group: group, Kind: kind, Name: name, Line: 1,
		Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(content))), Content: []byte(content)}
}

// seedEcosystem: three repositories (10, 20 and 30 stars; repo 2 with a hostile language and
// topic), repo 1 scanned with two objects, one of a hostile kind; then three days aggregated
// (today and the next two, so the charts have lines).
func seedEcosystem(e *env) {
	e.t.Helper()
	ctx := context.Background()
	e.seedRepos(3, func(i int, d *store.RepoData) {
		if i == 2 {
			d.Language, d.Topics = hostileText, []string{hostileText, "k8s-at-home"}
		}
	})
	r, err := e.store.GetRepositoryByName(ctx, "owner1", "home-ops")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.BeginSync(ctx, r.ID); err != nil {
		e.t.Fatal(err)
	}
	at := time.Now().UTC()
	res := &scan.Result{Files: 2, Objects: []scan.Object{
		ecoObj("ns.yaml", "v1", "", "Namespace", "media"),
		ecoObj("x.yaml", "evil.io/v1", "evil.io", hostileText, "x"),
	}}
	if _, err := e.store.ApplyScan(ctx, r.ID, store.ScanCommit{OID: r.HeadOID, CommittedAt: &at, Result: res}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.AggregateMissing(ctx, time.Now().Add(48*time.Hour), false); err != nil {
		e.t.Fatal(err)
	}
}

func TestEcosystemAccess(t *testing.T) {
	e := newEnv(t).withUsers()
	seedEcosystem(e)
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	seedEcosystem(pub)
	user := e.client().mustLogin(userEmail)
	for _, tc := range []struct {
		name       string
		c          *client
		path       string
		wantStatus int
		want       string
	}{
		{"anonymous", e.client(), "/ecosystem", http.StatusSeeOther, ""},
		{"anonymous in public mode", pub.client(), "/ecosystem", http.StatusOK, `data-testid="eco-repos"`},
		{"user", user, "/ecosystem", http.StatusOK, `data-testid="eco-repos"`},
		{"7 days", user, "/ecosystem?days=7", http.StatusOK, "Last 7 days"},
		{"365 days", user, "/ecosystem?days=365", http.StatusOK, "Last 365 days"},
		{"days not offered", user, "/ecosystem?days=5", http.StatusBadRequest, "7, 30, 90 or 365"},
		{"days not a number", user, "/ecosystem?days=week", http.StatusBadRequest, "7, 30, 90 or 365"},
		{"days too big", user, "/ecosystem?days=100000", http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.get(tc.path)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("got %d, want %d\n%s", r.StatusCode, tc.wantStatus, r.body)
			}
			if tc.wantStatus == http.StatusSeeOther && !strings.HasPrefix(r.Header.Get("Location"), "/login") {
				t.Errorf("redirect to %q, want the login page", r.Header.Get("Location"))
			}
			if !strings.Contains(r.body, tc.want) {
				t.Errorf("body lacks %q", tc.want)
			}
		})
	}
}

func TestEcosystemNumbersAndEscaping(t *testing.T) {
	e := newEnv(t).withUsers()
	seedEcosystem(e)
	r := e.client().mustLogin(userEmail).get("/ecosystem")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("got %d\n%s", r.StatusCode, r.body)
	}
	d := r.doc(t)
	for id, want := range map[string]string{
		"eco-repos": "3", "eco-scanned": "1", "eco-resources": "2", "eco-stars": "60", "eco-forks": "6",
		"eco-latest-day": time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02"),
		// the only scan is a first scan: not counted as change
		"eco-created": "0",
	} {
		if got := strings.TrimSpace(d.Find(`[data-testid="` + id + `"]`).First().Text()); got != want {
			t.Errorf("%s: got %q, want %q", id, got, want)
		}
	}
	if n := d.Find(`[data-testid="eco-repos-table"] tbody tr`).Length(); n != 3 {
		t.Errorf("repos table: got %d days, want 3", n)
	}
	if n := d.Find(`[data-chart]`).Length(); n != 4 {
		t.Errorf("got %d charts, want 4", n)
	}
	if d.Find(`[data-testid="eco-range-current"]`).Text() != "Last 30 days" {
		t.Errorf("current range: got %q", d.Find(`[data-testid="eco-range-current"]`).Text())
	}
	// Hostile names from GitHub and from manifests are text, never markup.
	if strings.Contains(r.body, hostileText) {
		t.Error("hostile text rendered unescaped")
	}
	for _, dim := range []string{"language", "topic", "kind"} {
		found := false
		d.Find(`[data-testid="eco-` + dim + `-row"] [data-testid="eco-key"]`).Each(func(_ int, s *goquery.Selection) {
			if strings.Contains(s.Text(), hostileText) {
				found = true
			}
		})
		if !found {
			t.Errorf("%s table lacks the hostile key as text", dim)
		}
	}
	kinds := d.Find(`[data-testid="eco-kind-row"]`)
	if kinds.Length() != 2 || strings.TrimSpace(kinds.Find(`[data-testid="eco-key-objects"]`).First().Text()) != "1" {
		t.Errorf("kinds: got %d rows", kinds.Length())
	}
	if href, _ := d.Find(`[data-testid="eco-topic-row"] a`).First().Attr("href"); !strings.HasPrefix(href, "/repositories?topic=") {
		t.Errorf("topic link: got %q", href)
	}

	// htmx asks for the results only when the range changes.
	p := e.client().mustLogin(userEmail).get("/ecosystem?days=7", "HX-Request", "true", "HX-Target", "eco-results")
	if p.StatusCode != http.StatusOK || strings.Contains(p.body, "<html") || !strings.Contains(p.body, `data-testid="eco-repos"`) ||
		strings.Contains(p.body, `data-testid="eco-language-table"`) {
		t.Errorf("partial: got %d\n%s", p.StatusCode, p.body)
	}
}

func TestEcosystemEmpty(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedRepos(2, nil) // found, but the aggregate never ran
	r := e.client().mustLogin(userEmail).get("/ecosystem")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("got %d", r.StatusCode)
	}
	d := r.doc(t)
	empty := d.Find(`[data-testid="eco-empty"]`)
	if empty.Length() != 1 || !strings.Contains(empty.Text(), "aggregate job has not run") || empty.Find(`a[href="/jobs"]`).Length() != 0 {
		t.Errorf("user's empty state: %q", empty.Text())
	}
	if d.Find(`[data-chart]`).Length() != 0 {
		t.Error("charts on an empty page")
	}
	a := e.client().mustLogin(adminEmail).get("/ecosystem").doc(t)
	if a.Find(`[data-testid="eco-empty"] a[href="/jobs"]`).Length() != 1 {
		t.Error("a superuser's empty state has no link to the jobs page")
	}
	if r := e.client().mustLogin(userEmail).get("/ecosystem?days=90"); r.StatusCode != http.StatusOK {
		t.Errorf("empty with a range: got %d", r.StatusCode)
	}
}

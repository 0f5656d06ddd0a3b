package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/handlers"
)

func statValue(d *goquery.Document, id string) string {
	return strings.TrimSpace(d.Find(`[data-testid="` + id + `"] .stat-value`).Text())
}

// eventually fetches path until ok accepts the page (at most five seconds) and returns it.
func eventually(t *testing.T, c *client, path string, ok func(*goquery.Document) bool) *goquery.Document {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := c.get(path).doc(t)
		if ok(d) || time.Now().After(deadline) {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDashboardCommunityFigures checks the dashboard's totals and lists against the seeded
// charts fixture, its escaping of hostile names, and that a new scan shows at once.
func TestDashboardCommunityFigures(t *testing.T) {
	e := newEnv(t).withUsers()
	anon := e.client().get("/")
	if anon.StatusCode != 303 || anon.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous: got %d to %q, want a redirect to the login", anon.StatusCode, anon.Header.Get("Location"))
	}
	u := e.client().mustLogin(userEmail)
	if got := u.get("/").doc(t).Find(`[data-testid="dashboard-empty"]`).Text(); !strings.Contains(got, "No repositories yet") {
		t.Fatalf("empty dashboard says %q, want why it is empty", got)
	}

	e.seedCharts()
	// The figures are cached and reloaded in the background after a change: the first view
	// after the seeding may still show the empty dashboard.
	d := eventually(t, u, "/", func(d *goquery.Document) bool { return statValue(d, "stat-repositories") != "0" })
	// Five repositories, the fourth blocked: four count. Objects: 1 + 2 + 1 + 60 in the live ones.
	// Charts: cert-manager, the hostile one and 60 others; the blocked repository's own chart does not count.
	want := map[string]string{"stat-repositories": "4", "stat-resources": "64", "stat-charts": "62", "stat-images": "0", "stat-events-week": "0"}
	for id, w := range want {
		if got := statValue(d, id); got != w {
			t.Errorf("%s: got %q, want %q", id, got, w)
		}
	}
	top := d.Find(`[data-testid="top-charts"] tbody tr`)
	if names := rowTexts(d, `[data-testid="top-charts"] tbody tr`, "td"); len(names) == 0 || names[0] != "cert-manager" {
		t.Errorf("adopted charts: got %q, want cert-manager first", names)
	}
	if n := strings.TrimSpace(top.First().Find("td.num").Text()); n != "3" {
		t.Errorf("cert-manager: %q repositories, want 3", n)
	}
	if top.Length() != 8 {
		t.Errorf("got %d top charts, want 8", top.Length())
	}
	if !strings.Contains(top.Text(), hostileChart) || d.Find(`[data-testid="top-charts"] script`).Length() != 0 {
		t.Error("the hostile chart name must show as text, never as markup")
	}
	if n := d.Find(`[data-testid="newest-repos"] li`).Length(); n != 4 {
		t.Errorf("got %d newest repositories, want the 4 live ones", n)
	}
	if n := d.Find(`[data-testid="recent-events"] tbody tr`).Length(); n != 8 {
		t.Errorf("got %d recent events, want 8", n)
	}
	if d.Find(`[data-testid="stat-users"]`).Length() != 1 {
		t.Error("a logged-in user sees the installation figures")
	}

	// A scan committed yesterday shows on the next view (the cache follows the store's version).
	e.scanCharts(1, "oid1b", time.Now().Add(-24*time.Hour), chartRel{"cert-manager", "cert-manager", "1.15.0", "https://charts.jetstack.io", ""},
		chartRel{"brand-new", "brand-new", "0.1.0", "https://example.org", ""})
	d = eventually(t, u, "/", func(d *goquery.Document) bool { return statValue(d, "stat-charts") != "62" })
	if got := statValue(d, "stat-charts"); got != "63" {
		t.Errorf("after a new scan: %s charts, want 63", got)
	}
	if got := statValue(d, "stat-events-week"); got == "0" {
		t.Error("after a scan committed yesterday the week's changes must not be 0")
	}
	if got := d.Find(`[data-testid="recent-events"] tbody tr`).First().Text(); !strings.Contains(got, "owner1/home-ops") {
		t.Errorf("newest event row %q, want owner1's scan first", got)
	}
}

func TestDashboardPublicHidesInstallation(t *testing.T) {
	e := newEnv(t, func(c *handlers.Config) { c.Public = true })
	e.seedCharts()
	d := e.client().get("/").doc(t)
	if got := statValue(d, "stat-charts"); got != "62" {
		t.Errorf("anonymous on a public site: %s charts, want 62", got)
	}
	for _, id := range []string{"stat-users", "stat-db-size", "stat-version"} {
		if d.Find(`[data-testid="`+id+`"]`).Length() != 0 {
			t.Errorf("anonymous visitors must not see %s", id)
		}
	}
}

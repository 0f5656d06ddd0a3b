package views

import (
	"context"
	"go/build"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/kubestats/kubestats/store"
)

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {86016, "84.0 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}} {
		if got := HumanBytes(tc.n); got != tc.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestLayoutCarriesCSRFForHTMX(t *testing.T) {
	l := Layout{Title: "T", CSRF: `tok"en`, User: &store.User{Email: "a@example.org", Name: "A"}, AssetVersion: "abc"}
	var b strings.Builder
	if err := DashboardPage(l, Dashboard{}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	// The JSON is attribute-escaped; a quote in the token must not break out of it.
	if !strings.Contains(html, `hx-headers="{&#34;X-CSRF-Token&#34;:&#34;tok\&#34;en&#34;}"`) {
		t.Fatalf("body hx-headers missing or unescaped:\n%s", html)
	}
	if !strings.Contains(html, `/static/app.css?v=abc`) {
		t.Error("app.css not linked with its fingerprint")
	}
}

func TestAgoNeverNegative(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	future := now.Add(3 * time.Hour)
	if got := ago(&future, now); got != "2026-11-25 15:00" {
		t.Errorf("a commit ahead of our clock: got %q, want its time", got)
	}
	past := now.Add(-90 * time.Minute)
	if got := ago(&past, now); got != "1 h ago" {
		t.Errorf("got %q, want 1 h ago", got)
	}
}

// Topics come from GitHub: a link to the topic filter encodes them as a query value.
func TestTopicLinksAreURLEncoded(t *testing.T) {
	v := RepoDetail{Repo: store.Repository{Owner: "o", Name: "n", Topics: []string{"a&b c", "k8s-at-home"}},
		History: templ.NopComponent, Scan: templ.NopComponent}
	var b strings.Builder
	if err := RepositoryPage(Layout{Title: "T"}, v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`href="/repositories?topic=a%26b+c"`, `href="/repositories?topic=k8s-at-home"`} {
		if !strings.Contains(html, want) {
			t.Errorf("topic link %s missing", want)
		}
	}
}

// Views render view models: they never reach into the job runner or the GitHub client, so
// a page can be read (and tested) without either.
func TestViewsImportNeitherJobsNorGitHub(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "github.com/kubestats/kubestats/jobs" || imp == "github.com/kubestats/kubestats/githubql" {
			t.Errorf("views imports %s", imp)
		}
	}
}

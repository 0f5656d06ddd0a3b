package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

func deprecation(file, apiVersion, kind, name, project, removedIn, replacement string) scan.Deprecation {
	return scan.Deprecation{File: file, APIVersion: apiVersion, Kind: kind, Name: name, Namespace: "apps", Project: project,
		DeprecatedIn: "v1.0", RemovedIn: removedIn, Replacement: replacement}
}

// seedDeprecationScans: 60 repositories use a removed Ingress API (repo i with i%4+1 objects over
// two files); every third also a deprecated Flux HelmRelease; repo 61 is deleted and repo 62 has
// a hostile kind; repo 63 is scanned clean. It returns the expected per-API repo and object counts.
func seedDeprecationScans(e *env) (repos, objects map[string]int) {
	e.seedRepos(63, nil)
	repos, objects = map[string]int{}, map[string]int{}
	for i := 1; i <= 62; i++ {
		var deps []scan.Deprecation
		for j := range i%4 + 1 {
			deps = append(deps, deprecation(fmt.Sprintf("apps/ingress-%d.yaml", j%2), "extensions/v1beta1", "Ingress",
				fmt.Sprintf("web%d", j), "kubernetes", "v1.22", "networking.k8s.io/v1"))
		}
		if i%3 == 0 {
			deps = append(deps, deprecation("apps/hr.yaml", "helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "app", "flux", "", "helm.toolkit.fluxcd.io/v2"))
		}
		if i == 62 {
			deps = append(deps, deprecation("apps/"+hostileText+".yaml", "evil/v1", hostileText, hostileText, "kubernetes", "v1.0", hostileText))
		}
		e.applyScanFacts(i, nil, deps)
		if i == 61 {
			continue // deleted below
		}
		seen := map[string]bool{}
		for _, d := range deps {
			k := d.APIVersion + " " + d.Kind
			objects[k]++
			if !seen[k] {
				seen[k] = true
				repos[k]++
			}
		}
	}
	e.applyScanFacts(63, nil, nil)
	e.imgRepoAction(61, store.ActionDelete)
	return repos, objects
}

func TestDeprecationsAccess(t *testing.T) {
	e := newEnv(t).withUsers()
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	user := e.client().mustLogin(userEmail)
	for _, tc := range []struct {
		name       string
		c          *client
		path       string
		wantStatus int
	}{
		{"anonymous", e.client(), "/deprecations", http.StatusSeeOther},
		{"anonymous drill", e.client(), "/deprecations?api=v1&kind=X", http.StatusSeeOther},
		{"user", user, "/deprecations", http.StatusOK},
		{"user drill", user, "/deprecations?api=v1&kind=X", http.StatusOK},
		{"user bad project", user, "/deprecations?project=argo", http.StatusBadRequest},
		{"user bad status", user, "/deprecations?status=soon", http.StatusBadRequest},
		{"public", pub.client(), "/deprecations", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.get(tc.path)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%s: got %d, want %d", tc.path, r.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusSeeOther && !strings.HasPrefix(r.Header.Get("Location"), "/login") {
				t.Errorf("redirect to %q, want the login page", r.Header.Get("Location"))
			}
		})
	}
}

func TestDeprecationsEmptyStates(t *testing.T) {
	e := newEnv(t).withUsers()
	user := e.client().mustLogin(userEmail)
	if r := user.get("/deprecations"); !strings.Contains(r.doc(t).Find(`[data-testid="dep-empty"]`).Text(), "Nothing has been scanned yet") {
		t.Errorf("unscanned empty state: %.400s", r.body)
	}
	e.seedRepos(2, nil)
	e.applyScanFacts(1, nil, nil)
	if got := user.get("/deprecations").doc(t).Find(`[data-testid="dep-empty"]`).Text(); !strings.Contains(got, "none of the 1 scanned repositories") {
		t.Errorf("clean empty state: %q", got)
	}
	if got := user.get("/deprecations?project=flux").doc(t).Find(`[data-testid="dep-empty"]`).Text(); !strings.Contains(got, "Clear the filters") {
		t.Errorf("filtered empty state: %q", got)
	}
	if r := user.get("/deprecations?api=apps/v1beta1&kind=Deployment"); r.StatusCode != http.StatusOK || r.doc(t).Find(`[data-testid="dep-api-empty"]`).Length() != 1 {
		t.Errorf("drill into an unused API: %d", r.StatusCode)
	}
}

func TestDeprecationsList(t *testing.T) {
	e := newEnv(t).withUsers()
	wantRepos, wantObjects := seedDeprecationScans(e)
	user := e.client().mustLogin(userEmail)

	r := user.get("/deprecations")
	d := r.doc(t)
	if strings.Contains(r.body, hostileText) || !strings.Contains(r.body, "&lt;script&gt;") {
		t.Fatal("hostile deprecation data rendered as markup, or missing")
	}
	rows := d.Find(`[data-testid="dep-row"]`)
	if rows.Length() != len(wantObjects) {
		t.Fatalf("rows: got %d, want %d", rows.Length(), len(wantObjects))
	}
	// Removed APIs first: the deprecated-only HelmRelease comes last.
	if last := rows.Last().Find(`[data-testid="dep-link"]`).Text(); !strings.Contains(last, "HelmRelease") {
		t.Errorf("last row %q, want the deprecated-only HelmRelease", last)
	}
	for i := range rows.Length() {
		row := rows.Eq(i)
		k := strings.Join(strings.Fields(row.Find(`[data-testid="dep-link"]`).Text()), " ")
		if got := row.Find(`[data-testid="dep-repos"]`).Text(); got != strconv.Itoa(wantRepos[k]) {
			t.Errorf("%s: got %s repos, want %d", k, got, wantRepos[k])
		}
		if got := row.Find(`[data-testid="dep-objects"]`).Text(); got != strconv.Itoa(wantObjects[k]) {
			t.Errorf("%s: got %s objects, want %d", k, got, wantObjects[k])
		}
	}
	// The drill link carries the API, and keeps the filters.
	r = user.get("/deprecations?project=flux", "HX-Request", "true", "HX-Target", "dep-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="dep-results"`) {
		t.Fatalf("htmx request: %.300s", r.body)
	}
	fd := r.doc(t)
	if n := fd.Find(`[data-testid="dep-row"]`).Length(); n != 1 {
		t.Fatalf("flux only: %d rows", n)
	}
	href, _ := fd.Find(`[data-testid="dep-link"]`).Attr("href")
	if href != "/deprecations?api=helm.toolkit.fluxcd.io%2Fv2beta1&kind=HelmRelease&project=flux" {
		t.Errorf("drill link %q", href)
	}
	if n := user.get("/deprecations?status=deprecated").doc(t).Find(`[data-testid="dep-row"]`).Length(); n != 1 {
		t.Errorf("deprecated only: %d rows, want 1", n)
	}
	if n := user.get("/deprecations?status=removed").doc(t).Find(`[data-testid="dep-row"]`).Length(); n != 2 {
		t.Errorf("removed only: %d rows, want 2", n)
	}
}

func TestDeprecationDrill(t *testing.T) {
	e := newEnv(t).withUsers()
	wantRepos, wantObjects := seedDeprecationScans(e)
	user := e.client().mustLogin(userEmail)
	q := url.Values{"api": {"extensions/v1beta1"}, "kind": {"Ingress"}}
	r := user.get("/deprecations?" + q.Encode())
	d := r.doc(t)
	if got := d.Find(`[data-testid="dep-api-counts"]`).Text(); got != fmt.Sprintf("%d repositories, %d objects", wantRepos["extensions/v1beta1 Ingress"], wantObjects["extensions/v1beta1 Ingress"]) {
		t.Errorf("counts: %q", got)
	}
	rows := d.Find(`[data-testid="dep-repo-row"]`)
	if rows.Length() != 50 {
		t.Fatalf("repo rows: %d, want 50", rows.Length())
	}
	// Most objects first (i%4==3 → 4 objects), then stars: owner59 has 4 objects and the most stars among them.
	first := rows.First()
	if got := first.Find(`[data-testid="dep-repo"]`).Text(); got != "owner59/home-ops" {
		t.Errorf("first repo %q", got)
	}
	if got := first.Find(`[data-testid="dep-repo-objects"]`).Text(); got != "4" {
		t.Errorf("first repo objects %s, want 4", got)
	}
	links := first.Find(`[data-testid="file-link"]`)
	wantLink := fmt.Sprintf("https://github.com/owner59/home-ops/blob/%040d/apps/ingress-0.yaml", 59)
	if href, _ := links.First().Attr("href"); links.Length() != 2 || href != wantLink {
		t.Errorf("file links: %d, first %q", links.Length(), href)
	}
	next, _ := d.Find(`[data-testid="next-page"]`).Attr("href")
	if next != "/deprecations?api=extensions%2Fv1beta1&kind=Ingress&page=2" {
		t.Errorf("next page %q", next)
	}
	if n := user.get(next).doc(t).Find(`[data-testid="dep-repo-row"]`).Length(); n != wantRepos["extensions/v1beta1 Ingress"]-50 {
		t.Errorf("page 2: %d rows", n)
	}
	// A deleted repository is not listed; the hostile API's page escapes it.
	if strings.Contains(r.body, "owner61/") {
		t.Error("deleted repository listed")
	}
	hr := user.get("/deprecations?" + url.Values{"api": {"evil/v1"}, "kind": {hostileText}}.Encode())
	if hr.StatusCode != http.StatusOK || strings.Contains(hr.body, hostileText) || hr.doc(t).Find(`[data-testid="dep-repo-row"]`).Length() != 1 {
		t.Errorf("hostile drill: %d", hr.StatusCode)
	}
	if href, _ := d.Find(`[data-testid="dep-back"]`).Attr("href"); href != "/deprecations" {
		t.Errorf("back link %q", href)
	}
}

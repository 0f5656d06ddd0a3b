package handlers_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

// kobj is a scanned object at line 7 of file.
func kobj(file, apiVersion, kind, ns, name string) scan.Object {
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i > 0 {
		group = apiVersion[:i]
	}
	content := fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":%q,"namespace":%q}}`, apiVersion, kind, name, ns)
	return scan.Object{File: file, APIVersion: apiVersion, Group: group, Kind: kind, Namespace: ns, Name: name,
		Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(content))), Content: []byte(content), Line: 7}
}

// scanObjects applies a scan of owner<i>/home-ops (seeded by seedRepos) at its head commit.
func (e *env) scanObjects(i int, objs ...scan.Object) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.store.GetRepositoryByName(ctx, fmt.Sprintf("owner%d", i), "home-ops")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.BeginSync(ctx, r.ID); err != nil {
		e.t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	res := &scan.Result{Files: len(objs), Objects: objs}
	if _, err := e.store.ApplyScan(ctx, r.ID, store.ScanCommit{OID: r.HeadOID, CommittedAt: &at, Result: res}); err != nil {
		e.t.Fatal(err)
	}
}

const (
	hostileGroup = `evil"'.io`
	oddName      = `a/b %2F?&x="y"`
)

// seedKindScans: 70 repositories; 1..62 scanned with a Namespace "media", a HelmRelease "shared"
// (namespace media) and one of their own ("app<i>", namespace apps); 1..55 also an
// example.com/Kind<i>. Repository 61 (blocked) alone has a Secret; 62 is deleted. Repository 5
// carries hostile strings, repository 3 a name full of URL syntax.
func seedKindScans(e *env) {
	e.seedRepos(70, nil)
	for i := 1; i <= 62; i++ {
		objs := []scan.Object{
			kobj("ns.yaml", "v1", "Namespace", "", "media"),
			kobj("apps/shared.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "media", "shared"),
			kobj("apps/own.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "apps", fmt.Sprintf("app%d", i)),
		}
		if i <= 55 {
			objs = append(objs, kobj("crd.yaml", "example.com/v1", fmt.Sprintf("Kind%d", i), "apps", "x"))
		}
		switch i {
		case 3:
			objs = append(objs, kobj("odd.yaml", "v1", "ConfigMap", "apps", oddName))
		case 5:
			objs = append(objs, kobj("apps/"+hostileText+".yaml", hostileGroup+"/v1", hostileText, hostileText, hostileText))
		case 61:
			objs = append(objs, kobj("secret.yaml", "v1", "Secret", "apps", "only-blocked"))
		}
		e.scanObjects(i, objs...)
	}
	e.imgRepoAction(61, store.ActionBlock)
	e.imgRepoAction(62, store.ActionDelete)
}

func TestKindPagesAccess(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedRepos(2, nil)
	e.scanObjects(1, kobj("ns.yaml", "v1", "Namespace", "", "media"))
	e.scanObjects(2, kobj("s.yaml", "v1", "Secret", "x", "only-blocked"))
	e.imgRepoAction(2, store.ActionBlock)
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	pub.seedRepos(1, nil)
	pub.scanObjects(1, kobj("ns.yaml", "v1", "Namespace", "", "media"))
	user := e.client().mustLogin(userEmail)
	for _, tc := range []struct {
		name       string
		c          *client
		path       string
		wantStatus int
		want       string
	}{
		{"anonymous list", e.client(), "/resources", http.StatusSeeOther, ""},
		{"anonymous kind", e.client(), "/resources/core/Namespace", http.StatusSeeOther, ""},
		{"anonymous name", e.client(), "/resources/core/Namespace?name=media", http.StatusSeeOther, ""},
		{"user list", user, "/resources", http.StatusOK, `data-testid="kind-table"`},
		{"user kind", user, "/resources/core/Namespace", http.StatusOK, `data-testid="name-table"`},
		{"user name", user, "/resources/core/Namespace?name=media", http.StatusOK, `data-testid="object-table"`},
		{"unknown kind", user, "/resources/core/Nope", http.StatusNotFound, "nothing here"},
		{"unknown group", user, "/resources/nope.io/Namespace", http.StatusNotFound, ""},
		{"empty group is not core", user, "/resources/%20/Namespace", http.StatusNotFound, ""},
		{"kind only in a blocked repo", user, "/resources/core/Secret", http.StatusNotFound, ""},
		{"unknown name", user, "/resources/core/Namespace?name=nope", http.StatusOK, `data-testid="object-empty"`},
		{"public list", pub.client(), "/resources", http.StatusOK, `data-testid="kind-table"`},
		{"public kind", pub.client(), "/resources/core/Namespace", http.StatusOK, `data-testid="name-table"`},
		{"public name", pub.client(), "/resources/core/Namespace?name=media", http.StatusOK, `data-testid="object-table"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.get(tc.path)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("%s: got %d, want %d", tc.path, r.StatusCode, tc.wantStatus)
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

func TestKindsList(t *testing.T) {
	e := newEnv(t).withUsers()
	user := e.client().mustLogin(userEmail)
	if r := user.get("/resources"); !strings.Contains(r.body, `data-testid="kind-empty"`) || !strings.Contains(r.body, "scanned yet") {
		t.Fatalf("empty resources page does not say why:\n%.500s", r.body)
	}
	seedKindScans(e)

	// The first view after a change may still answer from the cache while it reloads.
	d := eventually(t, user, "/resources", func(d *goquery.Document) bool {
		return d.Find(`[data-testid="kind-empty"]`).Length() == 0
	})
	// Namespace, HelmRelease, ConfigMap, the hostile kind and Kind1..55; not the blocked repo's Secret.
	if got := d.Find(`[data-testid="kind-total"]`).Text(); strings.TrimSpace(got) != "59 kinds" {
		t.Errorf("total: got %q, want 59 kinds", got)
	}
	rows := d.Find(`[data-testid="kind-row"]`)
	if rows.Length() != 50 {
		t.Fatalf("rows: got %d, want 50", rows.Length())
	}
	// Most repositories first, then most objects: HelmRelease (60 repos, 120 objects), Namespace (60, 60).
	for i, want := range []struct{ kind, href, repos, objects string }{
		{"HelmRelease", "/resources/helm.toolkit.fluxcd.io/HelmRelease", "60", "120"},
		{"Namespace", "/resources/core/Namespace", "60", "60"},
	} {
		row := rows.Eq(i)
		link := row.Find(`[data-testid="kind-link"]`)
		href, _ := link.Attr("href")
		if link.Text() != want.kind || href != want.href || row.Find(`[data-testid="kind-repos"]`).Text() != want.repos ||
			row.Find(`[data-testid="kind-objects"]`).Text() != want.objects {
			t.Errorf("row %d: got %s %s %s/%s, want %+v", i, link.Text(), href, row.Find(`[data-testid="kind-repos"]`).Text(),
				row.Find(`[data-testid="kind-objects"]`).Text(), want)
		}
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != "/resources?page=2" {
		t.Errorf("next page link %q", href)
	}
	if d.Find(`select[name="group"] option[value="core"]`).Text() != "core (2 kinds)" {
		t.Errorf("group facet: %q", d.Find(`select[name="group"] option[value="core"]`).Text())
	}
	if n := user.get("/resources?page=2").doc(t).Find(`[data-testid="kind-row"]`).Length(); n != 9 {
		t.Errorf("page 2: %d rows, want 9", n)
	}
	if r := user.get("/resources?page=9"); !strings.Contains(r.body, "There is no page 9") {
		t.Error("a page past the end does not say so")
	}

	kinds := func(path string) string {
		t.Helper()
		var out []string
		user.get(path).doc(t).Find(`[data-testid="kind-row"]`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, s.Find(`[data-testid="kind-link"]`).Text()+":"+s.Find(`[data-testid="kind-repos"]`).Text()+"/"+
				s.Find(`[data-testid="kind-objects"]`).Text())
		})
		return fmt.Sprint(out)
	}
	for _, tc := range []struct{ path, want string }{
		{"/resources?group=core&sort=name", "[ConfigMap:1/1 Namespace:60/60]"},
		{"/resources?kind=helm", "[HelmRelease:60/120]"},
		{"/resources?kind=kind5&sort=name", "[Kind5:1/1 Kind50:1/1 Kind51:1/1 Kind52:1/1 Kind53:1/1 Kind54:1/1 Kind55:1/1]"},
		{"/resources?namespace=media", "[HelmRelease:60/60]"},
		{"/resources?namespace=-", "[Namespace:60/60]"},
		{"/resources?name=shared", "[HelmRelease:60/60]"},
		{"/resources?name=app1&group=helm.toolkit.fluxcd.io", "[HelmRelease:11/11]"}, // app1, app10..app19
		{"/resources?repo=owner1/home-ops&sort=name", "[HelmRelease:1/2 Kind1:1/1 Namespace:1/1]"},
		{"/resources?repo=owner61", "[]"}, // blocked
		{"/resources?name=only-blocked", "[]"},
		{"/resources?kind=Secret", "[]"},
	} {
		if got := kinds(tc.path); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.path, got, tc.want)
		}
	}
	// With a namespace or name filter, the kind links carry it to the kind page.
	if href, _ := user.get("/resources?namespace=media&name=sha").doc(t).Find(`[data-testid="kind-link"]`).Attr("href"); href != "/resources/helm.toolkit.fluxcd.io/HelmRelease?namespace=media&q=sha" {
		t.Errorf("filtered kind link %q", href)
	}
	if r := user.get("/resources?name=nothing-matches"); !strings.Contains(r.body, "Clear the filters") {
		t.Error("empty filtered result does not say why")
	}

	// htmx gets only the results.
	r := user.get("/resources?group=core", "HX-Request", "true", "HX-Target", "kind-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="kind-results"`) {
		t.Fatalf("htmx request got a full page or no results:\n%.300s", r.body)
	}

	// Hostile kind and group are escaped, and their link leads to the kind's page.
	r = user.get("/resources?kind=script")
	if strings.Contains(r.body, hostileText) || strings.Contains(r.body, hostileGroup) {
		t.Fatal("hostile kind or group rendered unescaped")
	}
	d = r.doc(t)
	if got := d.Find(`[data-testid="kind-group"]`).Text(); strings.TrimSpace(got) != hostileGroup {
		t.Errorf("hostile group shown as %q", got)
	}
	href, _ := d.Find(`[data-testid="kind-link"]`).Attr("href")
	r = user.get(href)
	if r.StatusCode != http.StatusOK || strings.Contains(r.body, hostileText) {
		t.Fatalf("hostile kind page %s: %d", href, r.StatusCode)
	}
	if got := r.doc(t).Find(`[data-testid="name-link"]`).Text(); got != hostileText {
		t.Errorf("hostile kind's name: got %q", got)
	}
}

func TestKindPageAndDrillDown(t *testing.T) {
	e := newEnv(t).withUsers()
	seedKindScans(e)
	user := e.client().mustLogin(userEmail)

	const kindPath = "/resources/helm.toolkit.fluxcd.io/HelmRelease"
	r := user.get(kindPath)
	d := r.doc(t)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := d.Find(`[data-testid="card-repos"] .stat-value`).Text(); got != "60" {
		t.Errorf("repos card: %q", got)
	}
	if got := d.Find(`[data-testid="card-objects"] .stat-value`).Text(); got != "120" {
		t.Errorf("objects card: %q", got)
	}
	if got := d.Find(`[data-testid="name-total"]`).Text(); got != "61 names" {
		t.Errorf("name total %q, want 61 (shared and app1..60)", got)
	}
	rows := d.Find(`[data-testid="name-row"]`)
	if rows.Length() != 50 {
		t.Fatalf("name rows: %d", rows.Length())
	}
	first := rows.First()
	if first.Find(`[data-testid="name-link"]`).Text() != "shared" || first.Find(`[data-testid="name-repos"]`).Text() != "60" {
		t.Errorf("first name: %q in %q repos", first.Find(`[data-testid="name-link"]`).Text(), first.Find(`[data-testid="name-repos"]`).Text())
	}
	if href, _ := first.Find(`[data-testid="name-link"]`).Attr("href"); href != kindPath+"?name=shared" {
		t.Errorf("name link %q", href)
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != kindPath+"?page=2" {
		t.Errorf("next page %q", href)
	}
	if n := user.get(kindPath + "?page=2").doc(t).Find(`[data-testid="name-row"]`).Length(); n != 11 {
		t.Errorf("page 2: %d names, want 11", n)
	}
	names := func(path string, header ...string) []string {
		t.Helper()
		var out []string
		user.get(path, header...).doc(t).Find(`[data-testid="name-link"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
		return out
	}
	if got := names(kindPath + "?q=APP1&sort=name"); fmt.Sprint(got) != "[app1 app10 app11 app12 app13 app14 app15 app16 app17 app18 app19]" {
		t.Errorf("q=app1: %v", got)
	}
	if got := names(kindPath + "?namespace=media"); fmt.Sprint(got) != "[shared]" {
		t.Errorf("namespace=media: %v", got)
	}
	r = user.get(kindPath+"?namespace=apps&sort=name", "HX-Request", "true", "HX-Target", "name-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="name-results"`) || r.doc(t).Find(`[data-testid="name-row"]`).Length() != 50 {
		t.Fatalf("htmx name results:\n%.300s", r.body)
	}
	if r := user.get(kindPath + "?q=nothing"); !strings.Contains(r.body, "Clear the filters") {
		t.Error("empty name filter does not say why")
	}

	// Drill down into "shared": 60 live repositories, most stars first (owner60 has 600).
	r = user.get(kindPath + "?name=shared")
	d = r.doc(t)
	if got := d.Find(`[data-testid="object-total"]`).Text(); got != "60 objects in 60 repositories" {
		t.Errorf("object total %q", got)
	}
	objs := d.Find(`[data-testid="object-row"]`)
	if objs.Length() != 50 {
		t.Fatalf("object rows: %d", objs.Length())
	}
	top := objs.First()
	if href, _ := top.Find(`[data-testid="object-repo"]`).Attr("href"); href != "/repositories/owner60/home-ops" || top.Find(`[data-testid="object-repo"]`).Text() != "owner60/home-ops" {
		t.Errorf("repo link %q %q", href, top.Find(`[data-testid="object-repo"]`).Text())
	}
	wantFile := fmt.Sprintf("https://github.com/owner60/home-ops/blob/%040d/apps/shared.yaml#L7", 60)
	if href, _ := top.Find(`[data-testid="file-link"]`).Attr("href"); href != wantFile {
		t.Errorf("file link %q, want %q", href, wantFile)
	}
	if got := top.Find(`[data-testid="object-namespace"]`).Text(); got != "media" {
		t.Errorf("namespace %q", got)
	}
	resHref, _ := top.Find(`[data-testid="object-resource"]`).Attr("href")
	if !strings.HasPrefix(resHref, "/repositories/owner60/home-ops/resources/") {
		t.Fatalf("resource link %q", resHref)
	}
	if r := user.get(resHref); r.StatusCode != http.StatusOK || !strings.Contains(r.doc(t).Find(`[data-testid="resource-title"]`).Text(), "shared") {
		t.Errorf("resource page %s: %d", resHref, r.StatusCode)
	}
	for i := range objs.Length() {
		if strings.Contains(objs.Eq(i).Text(), "owner61") || strings.Contains(objs.Eq(i).Text(), "owner62") {
			t.Errorf("hidden repository listed: %s", objs.Eq(i).Text())
		}
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != kindPath+"?name=shared&page=2" {
		t.Errorf("drill next page %q", href)
	}
	r = user.get(kindPath+"?name=shared&page=2&sort=repo", "HX-Request", "true", "HX-Target", "object-results")
	if strings.Contains(r.body, "<html") || r.doc(t).Find(`[data-testid="object-row"]`).Length() != 10 {
		t.Fatalf("htmx drill page 2:\n%.300s", r.body)
	}
	if got := r.doc(t).Find(`[data-testid="object-repo"]`).First().Text(); got != "owner55/home-ops" { // by owner as text: owner1, owner10..19, owner2, ..., owner5, owner50..54
		t.Errorf("sorted by repo, page 2 starts with %q", got)
	}
	if r := user.get(kindPath + "?name=shared&namespace=apps"); !strings.Contains(r.body, "in that namespace") {
		t.Error("empty drill-down in a namespace does not say why")
	}

	// A name full of URL syntax survives the round trip through its link.
	href, _ := user.get("/resources/core/ConfigMap").doc(t).Find(`[data-testid="name-link"]`).Attr("href")
	r = user.get(href)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("odd name %s: %d", href, r.StatusCode)
	}
	if got := r.doc(t).Find(`[data-testid="object-repo"]`).Text(); got != "owner3/home-ops" {
		t.Errorf("odd name %s lists %q", href, got)
	}
	if got := r.doc(t).Find(`[data-testid="kind-name"] code`).Text(); got != oddName {
		t.Errorf("odd name shown as %q", got)
	}
	if got := strconv.Itoa(r.doc(t).Find(`[data-testid="object-row"]`).Length()); got != "1" {
		t.Errorf("odd name rows %s", got)
	}
}

package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/handlers"
	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
)

// applyScanFacts stores a scan of owner<i>/home-ops that found the given images and deprecations.
func (e *env) applyScanFacts(i int, images []scan.Image, deps []scan.Deprecation) store.Repository {
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
	res := &scan.Result{Files: 1, Images: images, Deprecations: deps}
	if _, err := e.store.ApplyScan(ctx, r.ID, store.ScanCommit{OID: r.HeadOID, CommittedAt: &at, Result: res}); err != nil {
		e.t.Fatal(err)
	}
	r, _ = e.store.GetRepository(ctx, r.ID)
	return r
}

func (e *env) imgRepoAction(i int, a store.RepoAction) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.store.GetRepositoryByName(ctx, fmt.Sprintf("owner%d", i), "home-ops")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ApplyRepoAction(ctx, r.ID, a); err != nil {
		e.t.Fatal(err)
	}
}

func imageRef(file, registry, repository, tag, digest string) scan.Image {
	return scan.Image{File: file, Kind: "Deployment", Name: "app", Namespace: "apps", Source: "pod",
		Image: registry + "/" + repository + ":" + tag, Registry: registry, Repository: repository, Tag: tag, Digest: digest}
}

const hostileText = `<script>alert(1)</script>`

// seedImageScans: 70 repositories; repo i uses nginx with tag 1.<i%3> (every fifth pinned by digest,
// every seventh without a tag), repos 1..61 also use their own image ghcr.io/owner<i>/app; repo 61
// is blocked and 62 deleted (their images must not count); repo 5 carries hostile strings.
func seedImageScans(e *env) map[string]int {
	e.seedRepos(70, nil)
	nginxRepos := 0
	for i := 1; i <= 62; i++ {
		tag, digest := "1."+strconv.Itoa(i%3), ""
		if i%5 == 0 {
			digest = "sha256:" + strings.Repeat("ab", 32)
		}
		if i%7 == 0 {
			tag = ""
		}
		imgs := []scan.Image{imageRef("apps/web.yaml", "docker.io", "library/nginx", tag, digest)}
		if i <= 61 {
			imgs = append(imgs, imageRef("apps/own.yaml", "ghcr.io", fmt.Sprintf("owner%d/app", i), "v1", ""))
		}
		if i <= 60 {
			nginxRepos++
		}
		if i == 5 {
			hi := imageRef("apps/"+hostileText+".yaml", "ghcr.io", "evil/"+hostileText, hostileText, "")
			hi.Kind, hi.Name = hostileText, hostileText
			imgs = append(imgs, hi)
		}
		e.applyScanFacts(i, imgs, nil)
	}
	e.imgRepoAction(61, store.ActionBlock)
	e.imgRepoAction(62, store.ActionDelete)
	return map[string]int{"nginx": nginxRepos}
}

func TestImagePagesAccess(t *testing.T) {
	e := newEnv(t).withUsers()
	e.seedRepos(1, nil)
	e.applyScanFacts(1, []scan.Image{imageRef("a.yaml", "docker.io", "library/nginx", "1.27", "")}, nil)
	pub := newEnv(t, func(c *handlers.Config) { c.Public = true })
	pub.seedRepos(1, nil)
	pub.applyScanFacts(1, []scan.Image{imageRef("a.yaml", "docker.io", "library/nginx", "1.27", "")}, nil)
	user := e.client().mustLogin(userEmail)
	for _, tc := range []struct {
		name       string
		c          *client
		path       string
		wantStatus int
		want       string
	}{
		{"anonymous list", e.client(), "/images", http.StatusSeeOther, ""},
		{"anonymous image", e.client(), "/images/docker.io/library/nginx", http.StatusSeeOther, ""},
		{"user list", user, "/images", http.StatusOK, `data-testid="image-table"`},
		{"user image", user, "/images/docker.io/library/nginx", http.StatusOK, `data-testid="usage-table"`},
		{"user unknown image", user, "/images/docker.io/library/nope", http.StatusNotFound, "nothing here"},
		{"user unknown registry", user, "/images/quay.io/library/nginx", http.StatusNotFound, ""},
		{"user image without repository", user, "/images/docker.io/", http.StatusNotFound, ""},
		{"public list", pub.client(), "/images", http.StatusOK, `data-testid="image-table"`},
		{"public image", pub.client(), "/images/docker.io/library/nginx", http.StatusOK, `data-testid="usage-table"`},
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

func TestImagesList(t *testing.T) {
	e := newEnv(t).withUsers()
	user := e.client().mustLogin(userEmail)
	// Nothing scanned yet: the empty state says so.
	if r := user.get("/images"); !strings.Contains(r.body, `data-testid="image-empty"`) || !strings.Contains(r.body, "scanned yet") {
		t.Fatalf("empty images page does not say why:\n%.500s", r.body)
	}
	want := seedImageScans(e)

	r := user.get("/images")
	d := r.doc(t)
	// 60 own images + nginx + the hostileText one.
	if got := d.Find(`[data-testid="image-total"]`).Text(); got != "62 images" {
		t.Errorf("total: got %q, want 62 images", got)
	}
	rows := d.Find(`[data-testid="image-row"]`)
	if rows.Length() != 50 {
		t.Fatalf("rows: got %d, want 50", rows.Length())
	}
	first := rows.First()
	if name := first.Find(`[data-testid="image-link"]`).Text(); name != "docker.io/library/nginx" {
		t.Errorf("first image %q, want the most used", name)
	}
	if href, _ := first.Find(`[data-testid="image-link"]`).Attr("href"); href != "/images/docker.io/library/nginx" {
		t.Errorf("image link %q", href)
	}
	// Independent count from the fixture: of repos 1..60, digest for i%5==0, no tag (and no digest) for i%7==0.
	var tagOnly, digest, latest int
	for i := 1; i <= 60; i++ {
		switch {
		case i%5 == 0:
			digest++
		case i%7 == 0:
			latest++
		default:
			tagOnly++
		}
	}
	if got := first.Find(`[data-testid="image-repos"]`).Text(); got != strconv.Itoa(want["nginx"]) {
		t.Errorf("nginx repos: got %s, want %d", got, want["nginx"])
	}
	if got := first.Find(`[data-testid="image-tags"]`).Text(); got != "3" {
		t.Errorf("nginx tags: got %s, want 3", got)
	}
	for id, n := range map[string]int{"pin-tag": tagOnly, "pin-digest": digest, "pin-latest": latest} {
		got := first.Find(`[data-testid="` + id + `"]`).Text()
		if !strings.Contains(got, "("+strconv.Itoa(n)+")") || !strings.Contains(got, strconv.Itoa((n*100+30)/60)+"%") {
			t.Errorf("%s: got %q, want %d of 60", id, got, n)
		}
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != "/images?page=2" {
		t.Errorf("next page link %q", href)
	}
	if strings.Contains(r.body, hostileText) {
		t.Fatal("hostileText image name rendered as markup")
	}
	if d.Find(`select[name="registry"] option[value="ghcr.io"]`).Text() != "ghcr.io (61 images)" {
		t.Errorf("registry facet: %q", d.Find(`select[name="registry"] option[value="ghcr.io"]`).Text())
	}

	// Page 2 holds the rest; filters and sort live in the URL; htmx gets only the results.
	if n := user.get("/images?page=2").doc(t).Find(`[data-testid="image-row"]`).Length(); n != 12 {
		t.Errorf("page 2: %d rows, want 12", n)
	}
	r = user.get("/images?registry=ghcr.io&q=owner1&sort=name", "HX-Request", "true", "HX-Target", "image-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="image-results"`) {
		t.Fatalf("htmx request got a full page or no results:\n%.300s", r.body)
	}
	links := r.doc(t).Find(`[data-testid="image-link"]`)
	if links.Length() != 11 || links.First().Text() != "ghcr.io/owner1/app" || links.Eq(1).Text() != "ghcr.io/owner10/app" { // 1, 10..19
		t.Errorf("filtered: %d rows, first %q", links.Length(), links.First().Text())
	}
	if r := user.get("/images?pinning=digest"); r.doc(t).Find(`[data-testid="image-row"]`).Length() != 1 {
		t.Error("pinning=digest should leave only nginx")
	}
	if r := user.get("/images?q=nothing-matches"); !strings.Contains(r.body, "Clear the filters") {
		t.Error("empty filtered result does not say why")
	}
	if r := user.get("/images?pinning=bogus"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad pinning: got %d, want 400", r.StatusCode)
	}
	// Blocked and deleted repositories' images are gone.
	if r := user.get("/images?q=owner61"); r.doc(t).Find(`[data-testid="image-row"]`).Length() != 0 {
		t.Error("a blocked repository's image is listed")
	}
}

func TestImagePage(t *testing.T) {
	e := newEnv(t).withUsers()
	seedImageScans(e)
	user := e.client().mustLogin(userEmail)

	r := user.get("/images/docker.io/library/nginx")
	d := r.doc(t)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	// Tag distribution from the fixture (repos 1..60): tag 1.<i%3> unless i%7==0.
	tagRepos := map[string]int{}
	for i := 1; i <= 60; i++ {
		tag := "1." + strconv.Itoa(i%3)
		if i%7 == 0 {
			tag = "(no tag: latest)"
		}
		tagRepos[tag]++
	}
	rows := d.Find(`[data-testid="tag-row"]`)
	if rows.Length() != len(tagRepos) {
		t.Fatalf("tag rows: got %d, want %d", rows.Length(), len(tagRepos))
	}
	for i := range rows.Length() {
		row := rows.Eq(i)
		tag := row.Find(`[data-testid="tag-link"]`).Text()
		if got := row.Find(`[data-testid="tag-repos"]`).Text(); got != strconv.Itoa(tagRepos[tag]) {
			t.Errorf("tag %s: got %s repos, want %d", tag, got, tagRepos[tag])
		}
		if row.Find("progress").Length() != 1 {
			t.Errorf("tag %s has no bar", tag)
		}
	}
	if got := d.Find(`[data-testid="card-digest"] .stat-value`).Text(); got != "20%" {
		t.Errorf("digest share: got %q, want 20%% (12 of 60)", got)
	}
	usages := d.Find(`[data-testid="usage-row"]`)
	if usages.Length() != 50 || d.Find(`[data-testid="usage-total"]`).Text() == "" {
		t.Fatalf("usage rows: got %d, want 50", usages.Length())
	}
	// Most stars first: owner60 (stars 600); its file links to the scanned commit.
	if got := usages.First().Find(`[data-testid="usage-repo"]`).Text(); got != "owner60/home-ops" {
		t.Errorf("first usage %q", got)
	}
	wantFile := fmt.Sprintf("https://github.com/owner60/home-ops/blob/%040d/apps/web.yaml", 60)
	if href, _ := usages.First().Find(`[data-testid="file-link"]`).Attr("href"); href != wantFile {
		t.Errorf("file link %q, want %q", href, wantFile)
	}
	if href, _ := d.Find(`[data-testid="next-page"]`).Attr("href"); href != "/images/docker.io/library/nginx?page=2" {
		t.Errorf("next page %q", href)
	}

	// A tag filter, sort and page in the URL; htmx gets only the usage table.
	r = user.get("/images/docker.io/library/nginx?tag=1.1&sort=repo", "HX-Request", "true", "HX-Target", "usage-results")
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="usage-results"`) {
		t.Fatalf("htmx usage request: %.300s", r.body)
	}
	ud := r.doc(t)
	if n := ud.Find(`[data-testid="usage-row"]`).Length(); n != tagRepos["1.1"] {
		t.Errorf("tag 1.1: %d usages, want %d", n, tagRepos["1.1"])
	}
	if got := ud.Find(`[data-testid="usage-repo"]`).First().Text(); got != "owner1/home-ops" {
		t.Errorf("sorted by repo: first %q", got)
	}
	if n := user.get("/images/docker.io/library/nginx?tag=-").doc(t).Find(`[data-testid="usage-row"]`).Length(); n != tagRepos["(no tag: latest)"] {
		t.Errorf("untagged usages: %d, want %d", n, tagRepos["(no tag: latest)"])
	}
	if n := user.get("/images/docker.io/library/nginx?page=2").doc(t).Find(`[data-testid="usage-row"]`).Length(); n != 10 {
		t.Errorf("page 2: %d usages, want 10", n)
	}

	// Hostile strings from a repository are escaped everywhere on the page.
	r = user.get("/images/ghcr.io/evil/%3Cscript%3Ealert%281%29%3C%2Fscript%3E")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("hostileText image page: %d", r.StatusCode)
	}
	if strings.Contains(r.body, hostileText) || !strings.Contains(r.body, "&lt;script&gt;") {
		t.Fatal("hostileText image data rendered as markup")
	}
	// A blocked repository's only image is not found.
	if r := user.get("/images/ghcr.io/owner61/app"); r.StatusCode != http.StatusNotFound {
		t.Errorf("image of a blocked repo: %d", r.StatusCode)
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

// applyFacts stores a scan of repo id that found only the given images and deprecations.
func applyFacts(t *testing.T, s *store.Store, id int64, images []scan.Image, deps []scan.Deprecation) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.BeginSync(ctx, id); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	res := &scan.Result{Files: 1, Images: images, Deprecations: deps}
	if _, err := s.ApplyScan(ctx, id, store.ScanCommit{OID: fmt.Sprintf("%040x", id), CommittedAt: &at, Result: res}); err != nil {
		t.Fatal(err)
	}
}

func img(file, registry, repository, tag, digest string) scan.Image {
	ref := registry + "/" + repository
	if tag != "" {
		ref += ":" + tag
	}
	if digest != "" {
		ref += "@" + digest
	}
	return scan.Image{File: file, Kind: "Deployment", Name: "app", Namespace: "default", Source: "pod", Image: ref,
		Registry: registry, Repository: repository, Tag: tag, Digest: digest}
}

// imageFixture: four repositories; the third is blocked and the fourth deleted after their scans.
var imageFixture = map[int][]scan.Image{
	1: {
		img("a.yaml", "docker.io", "library/nginx", "1.27", ""),
		img("b.yaml", "docker.io", "library/nginx", "1.27", "sha256:aaa"),
		img("c.yaml", "ghcr.io", "onedr0p/sonarr", "", ""),
	},
	2: {
		img("a.yaml", "docker.io", "library/nginx", "1.26", ""),
		img("a.yaml", "docker.io", "library/nginx", "", ""),
		img("b.yaml", "ghcr.io", "onedr0p/sonarr", "4.0", "sha256:bbb"),
		img("c.yaml", "ghcr.io", "onedr0p/radarr_x%", "5", ""),
	},
	3: {img("a.yaml", "docker.io", "library/nginx", "1.25", "")},
	4: {img("a.yaml", "quay.io", "x/y", "1", "")},
}

func seedImages(t *testing.T) (*store.Store, map[int]store.Repository) {
	t.Helper()
	s := storetest.Open(t)
	ctx := context.Background()
	repos := map[int]store.Repository{}
	for i := 1; i <= 4; i++ {
		r := newSyncRepo(t, s, i)
		applyFacts(t, s, r.ID, imageFixture[i], nil)
		repos[i] = r
	}
	if err := s.ApplyRepoAction(ctx, repos[3].ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyRepoAction(ctx, repos[4].ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	return s, repos
}

// expectedImages recomputes the summaries from the fixture, by hand.
func expectedImages() map[string]store.ImageSummary {
	out := map[string]store.ImageSummary{}
	repos := map[string]map[int]bool{}
	tags := map[string]map[string]bool{}
	for i, imgs := range imageFixture {
		if i == 3 || i == 4 {
			continue
		}
		for _, m := range imgs {
			k := m.Registry + "/" + m.Repository
			sum := out[k]
			sum.Registry, sum.Repository = m.Registry, m.Repository
			sum.Usages++
			switch {
			case m.Digest != "":
				sum.Digest++
			case m.Tag != "":
				sum.TagOnly++
			default:
				sum.Latest++
			}
			if repos[k] == nil {
				repos[k], tags[k] = map[int]bool{}, map[string]bool{}
			}
			repos[k][i] = true
			if m.Tag != "" {
				tags[k][m.Tag] = true
			}
			out[k] = sum
		}
	}
	for k, sum := range out {
		sum.Repos, sum.Tags = len(repos[k]), len(tags[k])
		out[k] = sum
	}
	return out
}

func TestListImagesCountsAndExcludesHiddenRepos(t *testing.T) {
	s, _ := seedImages(t)
	ctx := context.Background()
	want := expectedImages()
	page, err := s.ListImages(ctx, store.ImageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != len(want) || len(page.Items) != len(want) {
		t.Fatalf("got %d images (total %d), want %d", len(page.Items), page.Total, len(want))
	}
	for _, got := range page.Items {
		if w, ok := want[got.Name()]; !ok || got != w {
			t.Errorf("image %s: got %+v, want %+v", got.Name(), got, w)
		}
	}
	// Default order: most repositories, then most usages, then name.
	if page.Items[0].Name() != "docker.io/library/nginx" || page.Items[1].Name() != "ghcr.io/onedr0p/sonarr" {
		t.Errorf("order: got %s, %s", page.Items[0].Name(), page.Items[1].Name())
	}

	names := func(f store.ImageFilter) []string {
		t.Helper()
		p, err := s.ListImages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range p.Items {
			out = append(out, m.Name())
		}
		if p.Total != len(out) {
			t.Errorf("%+v: total %d for %d items", f, p.Total, len(out))
		}
		return out
	}
	for _, tc := range []struct {
		f    store.ImageFilter
		want string
	}{
		{store.ImageFilter{Sort: "name"}, "[docker.io/library/nginx ghcr.io/onedr0p/radarr_x% ghcr.io/onedr0p/sonarr]"},
		{store.ImageFilter{Registry: "ghcr.io", Sort: "name"}, "[ghcr.io/onedr0p/radarr_x% ghcr.io/onedr0p/sonarr]"},
		{store.ImageFilter{Q: "ONEDR0P/S"}, "[ghcr.io/onedr0p/sonarr]"},
		{store.ImageFilter{Q: "x%"}, "[ghcr.io/onedr0p/radarr_x%]"},  // % is literal
		{store.ImageFilter{Q: "r_x"}, "[ghcr.io/onedr0p/radarr_x%]"}, // _ is literal
		{store.ImageFilter{Q: "quay"}, "[]"},                         // deleted repo's image
		{store.ImageFilter{Pinning: store.PinDigest}, "[docker.io/library/nginx ghcr.io/onedr0p/sonarr]"},
		{store.ImageFilter{Pinning: store.PinLatest}, "[docker.io/library/nginx ghcr.io/onedr0p/sonarr]"},
		{store.ImageFilter{Pinning: store.PinTag, Sort: "name"}, "[docker.io/library/nginx ghcr.io/onedr0p/radarr_x%]"},
	} {
		if got := fmt.Sprint(names(tc.f)); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.f, got, tc.want)
		}
	}
	if _, err := s.ListImages(ctx, store.ImageFilter{Pinning: "bogus"}); !errors.As(err, new(*store.ValidationError)) {
		t.Errorf("bad pinning: got %v, want a validation error", err)
	}

	// Paging: one per page, the total stays; past the end the total is still known.
	p2, err := s.ListImages(ctx, store.ImageFilter{Sort: "name", Page: 2, PerPage: 1})
	if err != nil || len(p2.Items) != 1 || p2.Items[0].Name() != "ghcr.io/onedr0p/radarr_x%" || p2.Total != 3 {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	p9, err := s.ListImages(ctx, store.ImageFilter{Page: 9, PerPage: 1})
	if err != nil || len(p9.Items) != 0 || p9.Total != 3 {
		t.Fatalf("page past the end: %+v %v", p9, err)
	}

	regs, err := s.ImageRegistries(ctx, 10)
	if err != nil || fmt.Sprint(regs) != "[{ghcr.io 2} {docker.io 1}]" {
		t.Fatalf("registries: %v %v", regs, err)
	}
}

func TestImageDetail(t *testing.T) {
	s, repos := seedImages(t)
	ctx := context.Background()
	want := expectedImages()["docker.io/library/nginx"]
	got, err := s.GetImage(ctx, "docker.io", "library/nginx")
	if err != nil || got != want {
		t.Fatalf("image: got %+v %v, want %+v", got, err, want)
	}
	if _, err := s.GetImage(ctx, "quay.io", "x/y"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("image of a deleted repo: got %v, want ErrNotFound", err)
	}
	if _, err := s.GetImage(ctx, "docker.io", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown image: got %v, want ErrNotFound", err)
	}

	tags, err := s.ImageTags(ctx, "docker.io", "library/nginx", 10)
	if err != nil {
		t.Fatal(err)
	}
	// From the fixture: 1.27 twice in repo 1 (one with a digest), 1.26 and untagged in repo 2.
	if fmt.Sprint(tags) != "[{1.27 1 2 1} { 1 1 0} {1.26 1 1 0}]" {
		t.Errorf("tags: got %v", tags)
	}

	uses, err := s.ListImageUsages(ctx, "docker.io", "library/nginx", store.ImageUsageFilter{})
	if err != nil || uses.Total != want.Usages || len(uses.Items) != want.Usages {
		t.Fatalf("usages: %+v %v", uses, err)
	}
	// Most stars first: repo 2 (stars 2) before repo 1.
	if uses.Items[0].RepoID != repos[2].ID || uses.Items[0].ScannedOID == "" || uses.Items[0].URL == "" {
		t.Errorf("first usage: %+v", uses.Items[0])
	}
	var files []string
	for _, u := range uses.Items {
		files = append(files, u.FullName()+":"+u.Path)
	}
	if !sort.StringsAreSorted(files[2:]) || len(files) != 4 {
		t.Errorf("usages of repo 1 by file: %v", files)
	}
	tag := "1.27"
	byTag, err := s.ListImageUsages(ctx, "docker.io", "library/nginx", store.ImageUsageFilter{Tag: &tag, Sort: "file", PerPage: 1, Page: 2})
	if err != nil || byTag.Total != 2 || len(byTag.Items) != 1 || byTag.Items[0].Path != "b.yaml" || byTag.Items[0].Digest != "sha256:aaa" {
		t.Fatalf("usages of 1.27, page 2: %+v %v", byTag, err)
	}
	none := ""
	untagged, err := s.ListImageUsages(ctx, "docker.io", "library/nginx", store.ImageUsageFilter{Tag: &none})
	if err != nil || untagged.Total != 1 {
		t.Fatalf("untagged usages: %+v %v", untagged, err)
	}
}

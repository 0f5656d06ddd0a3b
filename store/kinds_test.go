package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func kptr[T any](v T) *T { return &v }

// kindFixture is each repository's scanned objects. Repository 3 gets blocked and 4 deleted,
// so their objects (the only Secret, the only "only-hidden" name) must never be counted.
var kindFixture = map[int][]scan.Object{
	1: {
		obj("apps/a.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "media", "sonarr", "1"),
		obj("apps/b.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "media", "radarr_x%", "1"),
		obj("apps/ns.yaml", "v1", "Namespace", "", "media", "1"),
		obj("flux/ks.yaml", "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "cluster-apps", "1"),
	},
	2: {
		obj("k/sonarr.yaml", "helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "default", "sonarr", "2"),
		obj("k/sonarr2.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "media", "sonarr", "2"),
		obj("k/ns.yaml", "v1", "Namespace", "", "media", "2"),
		obj("k/cm.yaml", "v1", "ConfigMap", "media", "sonarr", "2"),
	},
	3: {
		obj("x.yaml", "v1", "Secret", "media", "only-hidden", "3"),
		obj("y.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease", "media", "sonarr", "3"),
	},
	4: {
		obj("x.yaml", "v1", "Secret", "media", "only-hidden", "4"),
		obj("y.yaml", "v1", "Namespace", "", "media", "4"),
	},
}

func seedKinds(t *testing.T) (*store.Store, map[int]store.Repository) {
	t.Helper()
	s := storetest.Open(t)
	ctx := context.Background()
	repos := map[int]store.Repository{}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 4; i++ {
		r := newSyncRepo(t, s, i)
		apply(t, s, r.ID, fmt.Sprintf("oid%d", i), at, kindFixture[i]...)
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

func kindRows(p store.KindPage) string {
	var out []string
	for _, k := range p.Items {
		out = append(out, fmt.Sprintf("%s/%s:%d/%d", k.Group, k.Kind, k.Repos, k.Objects))
	}
	return fmt.Sprint(out)
}

func TestListKindsCountsLiveRepos(t *testing.T) {
	s, _ := seedKinds(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    store.KindFilter
		want string
	}{
		// Unfiltered (kind_stats): the blocked and deleted repos' Secrets are gone.
		{"all", store.KindFilter{}, "[helm.toolkit.fluxcd.io/HelmRelease:2/4 /Namespace:2/2 /ConfigMap:1/1 kustomize.toolkit.fluxcd.io/Kustomization:1/1]"},
		{"by objects", store.KindFilter{Sort: "objects"}, "[helm.toolkit.fluxcd.io/HelmRelease:2/4 /Namespace:2/2 /ConfigMap:1/1 kustomize.toolkit.fluxcd.io/Kustomization:1/1]"},
		{"by name", store.KindFilter{Sort: "name"}, "[/ConfigMap:1/1 helm.toolkit.fluxcd.io/HelmRelease:2/4 kustomize.toolkit.fluxcd.io/Kustomization:1/1 /Namespace:2/2]"},
		{"core group", store.KindFilter{Group: kptr(""), Sort: "name"}, "[/ConfigMap:1/1 /Namespace:2/2]"},
		{"kind substring", store.KindFilter{Kind: "release"}, "[helm.toolkit.fluxcd.io/HelmRelease:2/4]"},
		{"hidden kind", store.KindFilter{Kind: "Secret"}, "[]"},
		// Object filters count from resources.
		{"namespace", store.KindFilter{Namespace: kptr("media"), Sort: "name"}, "[/ConfigMap:1/1 helm.toolkit.fluxcd.io/HelmRelease:2/3]"},
		{"no namespace", store.KindFilter{Namespace: kptr("")}, "[/Namespace:2/2]"},
		{"name contains", store.KindFilter{Name: "SONARR", Sort: "name"}, "[/ConfigMap:1/1 helm.toolkit.fluxcd.io/HelmRelease:2/3]"},
		{"name literal wildcards", store.KindFilter{Name: "x%"}, "[helm.toolkit.fluxcd.io/HelmRelease:1/1]"},
		{"name underscore literal", store.KindFilter{Name: "o_x"}, "[]"},
		{"hidden name", store.KindFilter{Name: "only-hidden"}, "[]"},
		{"repo owner", store.KindFilter{Repo: "OWNER2", Sort: "name"}, "[/ConfigMap:1/1 helm.toolkit.fluxcd.io/HelmRelease:1/2 /Namespace:1/1]"},
		{"repo full name", store.KindFilter{Repo: "owner1/Home-Ops", Kind: "Kustom"}, "[kustomize.toolkit.fluxcd.io/Kustomization:1/1]"},
		{"blocked repo", store.KindFilter{Repo: "owner3"}, "[]"},
		{"group and namespace", store.KindFilter{Group: kptr("helm.toolkit.fluxcd.io"), Namespace: kptr("default")}, "[helm.toolkit.fluxcd.io/HelmRelease:1/1]"},
		{"kind and name", store.KindFilter{Kind: "map", Name: "son"}, "[/ConfigMap:1/1]"},
	} {
		p, err := s.ListKinds(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := kindRows(p); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
		if p.Total != len(p.Items) {
			t.Errorf("%s: total %d for %d items", tc.name, p.Total, len(p.Items))
		}
	}

	// Paging, in both modes: the total stays, and is still known past the end.
	for _, f := range []store.KindFilter{{Sort: "name"}, {Sort: "name", Name: "a"}} {
		f.Page, f.PerPage = 2, 1
		p, err := s.ListKinds(ctx, f)
		if err != nil || len(p.Items) != 1 || p.Items[0].Kind != "HelmRelease" || p.Total != 4 {
			t.Fatalf("%+v: page 2: %s total %d, %v", f, kindRows(p), p.Total, err)
		}
		f.Page = 9
		p, err = s.ListKinds(ctx, f)
		if err != nil || len(p.Items) != 0 || p.Total != 4 {
			t.Fatalf("%+v: past the end: %s total %d, %v", f, kindRows(p), p.Total, err)
		}
	}

	groups, err := s.KindGroups(ctx, 10)
	if err != nil || fmt.Sprint(groups) != "[{ 2} {helm.toolkit.fluxcd.io 1} {kustomize.toolkit.fluxcd.io 1}]" {
		t.Fatalf("groups: %v %v", groups, err)
	}
}

func TestKindCountsFollowBlocking(t *testing.T) {
	s, repos := seedKinds(t)
	ctx := context.Background()
	if err := s.ApplyRepoAction(ctx, repos[2].ID, store.ActionBlock); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.KindFilter{{Sort: "name"}, {Sort: "name", Namespace: kptr("media")}} {
		p, err := s.ListKinds(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		want := "[helm.toolkit.fluxcd.io/HelmRelease:1/2 kustomize.toolkit.fluxcd.io/Kustomization:1/1 /Namespace:1/1]"
		if f.Namespace != nil {
			want = "[helm.toolkit.fluxcd.io/HelmRelease:1/2]"
		}
		if got := kindRows(p); got != want {
			t.Errorf("%+v after blocking owner2: got %s, want %s", f, got, want)
		}
	}
	if _, err := s.GetKind(ctx, "", "ConfigMap"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConfigMap only in a blocked repo: got %v, want ErrNotFound", err)
	}
	if err := s.ApplyRepoAction(ctx, repos[3].ID, store.ActionUnblock); err != nil {
		t.Fatal(err)
	}
	k, err := s.GetKind(ctx, "", "Secret")
	if err != nil || k.Repos != 1 || k.Objects != 1 {
		t.Errorf("Secret after unblocking owner3: %+v %v", k, err)
	}
}

func TestKindNamesAndObjects(t *testing.T) {
	s, repos := seedKinds(t)
	ctx := context.Background()
	k, err := s.GetKind(ctx, "helm.toolkit.fluxcd.io", "HelmRelease")
	if err != nil || k.Repos != 2 || k.Objects != 4 {
		t.Fatalf("HelmRelease: %+v %v", k, err)
	}
	for _, kind := range [][2]string{{"", "Secret"}, {"", "HelmRelease"}, {"nope", "Nope"}} {
		if _, err := s.GetKind(ctx, kind[0], kind[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%v: got %v, want ErrNotFound", kind, err)
		}
	}

	names := func(f store.KindNameFilter) string {
		t.Helper()
		p, err := s.ListKindNames(ctx, "helm.toolkit.fluxcd.io", "HelmRelease", f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range p.Items {
			out = append(out, fmt.Sprintf("%s:%d/%d", n.Name, n.Repos, n.Objects))
		}
		return fmt.Sprintf("%d %v", p.Total, out)
	}
	for _, tc := range []struct {
		f    store.KindNameFilter
		want string
	}{
		{store.KindNameFilter{}, "2 [sonarr:2/3 radarr_x%:1/1]"}, // the blocked repo's sonarr is not counted
		{store.KindNameFilter{Sort: "name"}, "2 [radarr_x%:1/1 sonarr:2/3]"},
		{store.KindNameFilter{Q: "X%"}, "1 [radarr_x%:1/1]"},
		{store.KindNameFilter{Namespace: kptr("default")}, "1 [sonarr:1/1]"},
		{store.KindNameFilter{Namespace: kptr("nowhere")}, "0 []"},
		{store.KindNameFilter{Page: 2, PerPage: 1}, "2 [radarr_x%:1/1]"},
		{store.KindNameFilter{Page: 5, PerPage: 1}, "2 []"},
	} {
		if got := names(tc.f); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.f, got, tc.want)
		}
	}

	objs := func(f store.KindObjectFilter) (store.KindObjectPage, string) {
		t.Helper()
		p, err := s.ListKindObjects(ctx, "helm.toolkit.fluxcd.io", "HelmRelease", "sonarr", f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range p.Items {
			out = append(out, fmt.Sprintf("%s %s %s %s", o.FullName(), o.Namespace, o.Path, o.APIVersion))
		}
		return p, fmt.Sprint(out)
	}
	p, got := objs(store.KindObjectFilter{Sort: "repo"})
	if want := "[owner1/home-ops media apps/a.yaml helm.toolkit.fluxcd.io/v2 owner2/home-ops default k/sonarr.yaml helm.toolkit.fluxcd.io/v2beta1 owner2/home-ops media k/sonarr2.yaml helm.toolkit.fluxcd.io/v2]"; got != want {
		t.Errorf("sonarr objects: got %s, want %s", got, want)
	}
	if p.Total != 3 || p.Repos != 2 {
		t.Errorf("sonarr totals: got %d objects in %d repos, want 3 in 2", p.Total, p.Repos)
	}
	o := p.Items[0]
	if o.RepoID != repos[1].ID || o.ScannedOID != "oid1" || o.Line != 1 || o.ResourceID == 0 {
		t.Errorf("object fields: %+v", o)
	}
	r, _, err := s.ResourceContent(ctx, o.RepoID, o.ResourceID)
	if err != nil || r.Name != "sonarr" || r.Path != "apps/a.yaml" {
		t.Errorf("resource %d: %+v %v", o.ResourceID, r, err)
	}
	if p, got := objs(store.KindObjectFilter{Namespace: kptr("default")}); p.Total != 1 || got != "[owner2/home-ops default k/sonarr.yaml helm.toolkit.fluxcd.io/v2beta1]" {
		t.Errorf("sonarr in default: %d %s", p.Total, got)
	}
	if p, got := objs(store.KindObjectFilter{Sort: "repo", Page: 2, PerPage: 2}); p.Total != 3 || got != "[owner2/home-ops media k/sonarr2.yaml helm.toolkit.fluxcd.io/v2]" {
		t.Errorf("sonarr page 2: %d %s", p.Total, got)
	}
}

// TestKindQueriesOnLoadDB times each Resources query on a generated database (read only).
// Set KUBESTATS_KINDS_DB to a migrated copy of a TestGenerateLoadDB database.
func TestKindQueriesOnLoadDB(t *testing.T) {
	path := os.Getenv("KUBESTATS_KINDS_DB")
	if path == "" {
		t.Skip("set KUBESTATS_KINDS_DB to a migrated copy of a generated database")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Path: path, Schema: storetest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const ks, kk = "kustomize.toolkit.fluxcd.io", "Kustomization"
	for _, q := range []struct {
		name string
		run  func() error
	}{
		{"ListKinds", func() error { _, err := s.ListKinds(ctx, store.KindFilter{}); return err }},
		{"ListKinds namespace=flux-system", func() error {
			_, err := s.ListKinds(ctx, store.KindFilter{Namespace: kptr("flux-system")})
			return err
		}},
		{"ListKinds name~cert", func() error { _, err := s.ListKinds(ctx, store.KindFilter{Name: "cert"}); return err }},
		{"ListKinds kind~Release name~cert", func() error {
			_, err := s.ListKinds(ctx, store.KindFilter{Kind: "Release", Name: "cert"})
			return err
		}},
		{"ListKinds repo=owner", func() error { _, err := s.ListKinds(ctx, store.KindFilter{Repo: "ahinko"}); return err }},
		{"KindGroups", func() error { _, err := s.KindGroups(ctx, 200); return err }},
		{"GetKind", func() error { _, err := s.GetKind(ctx, ks, kk); return err }},
		{"ListKindNames", func() error { _, err := s.ListKindNames(ctx, ks, kk, store.KindNameFilter{}); return err }},
		{"ListKindNames q=cert", func() error { _, err := s.ListKindNames(ctx, ks, kk, store.KindNameFilter{Q: "cert"}); return err }},
		{"ListKindNames ns=flux-system", func() error {
			_, err := s.ListKindNames(ctx, ks, kk, store.KindNameFilter{Namespace: kptr("flux-system")})
			return err
		}},
		{"ListKindObjects cluster-apps", func() error {
			_, err := s.ListKindObjects(ctx, ks, kk, "cluster-apps", store.KindObjectFilter{})
			return err
		}},
		{"ListKindObjects cluster-apps repo p40", func() error {
			_, err := s.ListKindObjects(ctx, ks, kk, "cluster-apps", store.KindObjectFilter{Sort: "repo", Page: 40})
			return err
		}},
	} {
		best := time.Hour
		for range 5 {
			start := time.Now()
			if err := q.run(); err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			best = min(best, time.Since(start))
		}
		t.Logf("%-40s %6.1f ms", q.name, float64(best.Microseconds())/1000)
	}
}

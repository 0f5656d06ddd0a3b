package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/kubestats/kubestats/scan"
	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/store/storetest"
)

func dep(file, apiVersion, kind, name, project, deprecatedIn, removedIn, replacement string) scan.Deprecation {
	return scan.Deprecation{File: file, APIVersion: apiVersion, Kind: kind, Name: name, Namespace: "default", Project: project,
		DeprecatedIn: deprecatedIn, RemovedIn: removedIn, Replacement: replacement}
}

var (
	depIngress = func(file, name string) scan.Deprecation {
		return dep(file, "extensions/v1beta1", "Ingress", name, "kubernetes", "v1.14", "v1.22", "networking.k8s.io/v1")
	}
	depHR = func(file, name string) scan.Deprecation {
		return dep(file, "helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", name, "flux", "v2.3", "", "helm.toolkit.fluxcd.io/v2")
	}
	depPSP = func(file, name string) scan.Deprecation {
		return dep(file, "policy/v1beta1", "PodSecurityPolicy", name, "kubernetes", "v1.21", "v1.25", "")
	}
)

// deprecationFixture: repo 3 is deleted after its scan and must not count.
var deprecationFixture = map[int][]scan.Deprecation{
	1: {depIngress("a.yaml", "web"), depIngress("a.yaml", "api"), depIngress("b.yaml", "admin"), depHR("hr.yaml", "app")},
	2: {depIngress("x.yaml", "web"), depHR("hr.yaml", "one"), depHR("hr2.yaml", "two")},
	3: {depPSP("psp.yaml", "restricted"), depHR("hr.yaml", "gone")},
}

func seedDeprecations(t *testing.T) (*store.Store, map[int]store.Repository) {
	t.Helper()
	s := storetest.Open(t)
	repos := map[int]store.Repository{}
	for i := 1; i <= 3; i++ {
		r := newSyncRepo(t, s, i)
		applyFacts(t, s, r.ID, nil, deprecationFixture[i])
		repos[i] = r
	}
	if err := s.ApplyRepoAction(context.Background(), repos[3].ID, store.ActionDelete); err != nil {
		t.Fatal(err)
	}
	return s, repos
}

func TestListDeprecatedAPIs(t *testing.T) {
	s, _ := seedDeprecations(t)
	ctx := context.Background()
	// Expected counts from the fixture, live repositories only.
	type key struct{ api, kind string }
	repos, objects := map[key]map[int]bool{}, map[key]int{}
	for i, ds := range deprecationFixture {
		if i == 3 {
			continue
		}
		for _, d := range ds {
			k := key{d.APIVersion, d.Kind}
			if repos[k] == nil {
				repos[k] = map[int]bool{}
			}
			repos[k][i] = true
			objects[k]++
		}
	}
	apis, err := s.ListDeprecatedAPIs(ctx, store.DeprecationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) != len(objects) {
		t.Fatalf("got %d apis, want %d: %+v", len(apis), len(objects), apis)
	}
	// Removed first, even though the HelmRelease is used by as many repositories.
	if apis[0].Kind != "Ingress" || !apis[0].Removed() || apis[1].Kind != "HelmRelease" || apis[1].Removed() {
		t.Fatalf("order: %+v", apis)
	}
	for _, a := range apis {
		k := key{a.APIVersion, a.Kind}
		if a.Repos != len(repos[k]) || a.Objects != objects[k] {
			t.Errorf("%s %s: got %d repos %d objects, want %d and %d", a.APIVersion, a.Kind, a.Repos, a.Objects, len(repos[k]), objects[k])
		}
	}
	if a := apis[0]; a.Project != "kubernetes" || a.DeprecatedIn != "v1.14" || a.RemovedIn != "v1.22" || a.Replacement != "networking.k8s.io/v1" {
		t.Errorf("ingress facts: %+v", a)
	}

	kinds := func(f store.DeprecationFilter) string {
		t.Helper()
		as, err := s.ListDeprecatedAPIs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Kind)
		}
		return fmt.Sprint(out)
	}
	for f, want := range map[store.DeprecationFilter]string{
		{Project: "flux"}:                          "[HelmRelease]",
		{Project: "kubernetes"}:                    "[Ingress]",
		{Status: "removed"}:                        "[Ingress]",
		{Status: "deprecated"}:                     "[HelmRelease]",
		{Project: "flux", Status: "removed"}:       "[]",
		{Project: "kubernetes", Status: "removed"}: "[Ingress]",
	} {
		if got := kinds(f); got != want {
			t.Errorf("%+v: got %s, want %s", f, got, want)
		}
	}
	for _, f := range []store.DeprecationFilter{{Project: "argo"}, {Status: "soon"}} {
		if _, err := s.ListDeprecatedAPIs(ctx, f); !errors.As(err, new(*store.ValidationError)) {
			t.Errorf("%+v: got %v, want a validation error", f, err)
		}
	}
}

func TestDeprecatedAPIRepos(t *testing.T) {
	s, repos := seedDeprecations(t)
	ctx := context.Background()
	a, err := s.GetDeprecatedAPI(ctx, "extensions/v1beta1", "Ingress")
	if err != nil || a.Repos != 2 || a.Objects != 4 || a.RemovedIn != "v1.22" {
		t.Fatalf("ingress: %+v %v", a, err)
	}
	if _, err := s.GetDeprecatedAPI(ctx, "policy/v1beta1", "PodSecurityPolicy"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("api used only by a deleted repo: got %v, want ErrNotFound", err)
	}

	page, err := s.ListDeprecatedAPIRepos(ctx, "extensions/v1beta1", "Ingress", 1, 50)
	if err != nil || page.Total != 2 || len(page.Items) != 2 {
		t.Fatalf("repos: %+v %v", page, err)
	}
	r1 := page.Items[0]
	if r1.ID != repos[1].ID || r1.Objects != 3 || r1.FileCount != 2 || fmt.Sprint(r1.Files) != "[{a.yaml 2} {b.yaml 1}]" || r1.ScannedOID == "" {
		t.Errorf("first repo: %+v", r1)
	}
	if r2 := page.Items[1]; r2.ID != repos[2].ID || r2.Objects != 1 || fmt.Sprint(r2.Files) != "[{x.yaml 1}]" {
		t.Errorf("second repo: %+v", r2)
	}
	p2, err := s.ListDeprecatedAPIRepos(ctx, "extensions/v1beta1", "Ingress", 2, 1)
	if err != nil || p2.Total != 2 || len(p2.Items) != 1 || p2.Items[0].ID != repos[2].ID {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	p3, err := s.ListDeprecatedAPIRepos(ctx, "extensions/v1beta1", "Ingress", 3, 1)
	if err != nil || p3.Total != 2 || len(p3.Items) != 0 {
		t.Fatalf("page past the end: %+v %v", p3, err)
	}
	hr, err := s.ListDeprecatedAPIRepos(ctx, "helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", 1, 50)
	if err != nil || hr.Total != 2 {
		t.Fatalf("helm release repos (deleted repo excluded): %+v %v", hr, err)
	}
}

// TestDeprecatedAPIsAcrossScannerTables: repositories scanned by releases whose deprecation
// tables differ (an API removed in a newer table) are counted per filter exactly as their usages
// say: the status filters split the API, the unfiltered list shows it once, as removed.
func TestDeprecatedAPIsAcrossScannerTables(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	older := func(d scan.Deprecation) scan.Deprecation { d.RemovedIn = ""; return d }
	applyFacts(t, s, newSyncRepo(t, s, 1).ID, nil, []scan.Deprecation{depIngress("a.yaml", "web"), depIngress("a.yaml", "api")})
	applyFacts(t, s, newSyncRepo(t, s, 2).ID, nil, []scan.Deprecation{older(depIngress("b.yaml", "web"))})
	applyFacts(t, s, newSyncRepo(t, s, 3).ID, nil, []scan.Deprecation{older(depIngress("c.yaml", "web")), depIngress("c.yaml", "api")})
	for f, want := range map[store.DeprecationFilter]string{
		{}:                     "[Ingress removed=v1.22 repos=3 objects=5]",
		{Status: "removed"}:    "[Ingress removed=v1.22 repos=2 objects=3]",
		{Status: "deprecated"}: "[Ingress removed= repos=2 objects=2]",
		{Project: "kubernetes", Status: "deprecated"}: "[Ingress removed= repos=2 objects=2]",
		{Project: "flux"}: "[]",
	} {
		apis, err := s.ListDeprecatedAPIs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range apis {
			got = append(got, fmt.Sprintf("%s removed=%s repos=%d objects=%d", a.Kind, a.RemovedIn, a.Repos, a.Objects))
		}
		if fmt.Sprint(got) != want {
			t.Errorf("%+v: got %v, want %s", f, got, want)
		}
	}
	a, err := s.GetDeprecatedAPI(ctx, "extensions/v1beta1", "Ingress")
	if err != nil || a.Repos != 3 || a.Objects != 5 || !a.Removed() {
		t.Errorf("the API: %+v %v, want 3 repositories, 5 objects, removed", a, err)
	}
}

package scan

import (
	"fmt"
	"strings"
	"testing"
)

func testCM(name string, ns ...string) string {
	meta := "{name: " + name + "}"
	if len(ns) > 0 {
		meta = "{name: " + name + ", namespace: " + ns[0] + "}"
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: " + meta + "\n"
}

func testFluxKS(name, path, target string) string {
	spec := "  sourceRef: {kind: GitRepository, name: flux-system}\n"
	if path != "-" {
		spec += "  path: " + path + "\n"
	}
	if target != "" {
		spec += "  targetNamespace: " + target + "\n"
	}
	return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\nspec:\n" + spec
}

func objectNamespaces(res *Result) map[string]string {
	out := map[string]string{}
	for _, o := range res.Objects {
		out[o.File+" "+o.Kind+"/"+o.Name] = o.Namespace
	}
	return out
}

func TestNamespaceInference(t *testing.T) {
	files := []string{
		// kustomization.yaml namespaces: nearest ancestor wins.
		"apps/kustomization.yaml", "namespace: apps\nresources: [a, b]\n",
		"apps/a/cm.yaml", testCM("a"),
		"apps/a/deep/er/cm.yaml", testCM("deep"),
		"apps/b/kustomization.yaml", "namespace: bee\n",
		"apps/b/cm.yaml", testCM("b"),
		"apps/b/explicit.yaml", testCM("explicit", "mine"),
		"apps/b/cluster.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: bee}\n",
		"apps/nons/kustomization.yaml", "resources: [x.yaml]\n",

		// Flux Kustomizations: the longest path wins, its own target does not apply to itself.
		"clusters/main/apps.yaml", testFluxKS("apps", "./kubernetes/apps", "") + "---\n" +
			testFluxKS("media", "./kubernetes/apps/media/", "media") + "---\n" +
			testFluxKS("selfish", "./clusters", "nope") + "---\n" +
			testFluxKS("templated", "./kubernetes/${CLUSTER}/tools", "tools") + "---\n" +
			testFluxKS("plex", "./kubernetes/apps/media/plex/app", "plex"),
		"kubernetes/apps/media/jellyfin/cm.yaml", testCM("jellyfin"),
		"kubernetes/apps/media/plex/app/cm.yaml", testCM("plex"),
		"kubernetes/apps/other/cm.yaml", testCM("other"),
		"kubernetes/main/tools/cm.yaml", testCM("tool"),
		"kubernetes/apps/media/kustomized/kustomization.yaml", "namespace: kust\n",
		"kubernetes/apps/media/kustomized/cm.yaml", testCM("kustomized"),
		"elsewhere/cm.yaml", testCM("elsewhere"),
	}
	res := scanFiles(t, Limits{}, files...)
	want := map[string]string{
		"apps/kustomization.yaml Kustomization/apps":                                                         "apps",
		"apps/a/cm.yaml ConfigMap/a":                                                                         "apps",
		"apps/a/deep/er/cm.yaml ConfigMap/deep":                                                              "apps",
		"apps/b/kustomization.yaml Kustomization/apps/b":                                                     "bee",
		"apps/b/cm.yaml ConfigMap/b":                                                                         "bee",
		"apps/b/explicit.yaml ConfigMap/explicit":                                                            "mine",
		"apps/b/cluster.yaml ClusterRole/reader":                                                             "",
		"apps/b/cluster.yaml Namespace/bee":                                                                  "",
		"apps/nons/kustomization.yaml Kustomization/apps/nons":                                               "",
		"clusters/main/apps.yaml Kustomization/apps":                                                         "flux-system",
		"clusters/main/apps.yaml Kustomization/media":                                                        "flux-system",
		"clusters/main/apps.yaml Kustomization/selfish":                                                      "flux-system",
		"clusters/main/apps.yaml Kustomization/templated":                                                    "flux-system",
		"clusters/main/apps.yaml Kustomization/plex":                                                         "flux-system",
		"kubernetes/apps/media/jellyfin/cm.yaml ConfigMap/jellyfin":                                          "media",
		"kubernetes/apps/media/plex/app/cm.yaml ConfigMap/plex":                                              "plex",
		"kubernetes/apps/other/cm.yaml ConfigMap/other":                                                      "",
		"kubernetes/main/tools/cm.yaml ConfigMap/tool":                                                       "tools",
		"kubernetes/apps/media/kustomized/kustomization.yaml Kustomization/kubernetes/apps/media/kustomized": "kust",
		"kubernetes/apps/media/kustomized/cm.yaml ConfigMap/kustomized":                                      "kust",
		"elsewhere/cm.yaml ConfigMap/elsewhere":                                                              "",
	}
	got := objectNamespaces(res)
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing object %s", k)
			continue
		}
		if g != w {
			t.Errorf("%s: got namespace %q, want %q", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d objects, want %d: %v", len(got), len(want), got)
	}
}

func TestFluxKustomizationWithoutNamespace(t *testing.T) {
	// A Kustomization without its own namespace whose path covers its own file: its target applies to
	// the files it deploys, not to itself; one at the root (path missing) covers everything.
	files := []string{
		"ks.yaml", strings.Replace(testFluxKS("root", "-", "everything"), ", namespace: flux-system", "", 1),
		"deploy/ks.yaml", strings.Replace(testFluxKS("deploy", "./deploy", "deployed"), ", namespace: flux-system", "", 1),
		"deploy/cm.yaml", testCM("d"),
		"top.yaml", testCM("top"),
	}
	got := objectNamespaces(scanFiles(t, Limits{}, files...))
	for k, w := range map[string]string{
		"ks.yaml Kustomization/root":          "",
		"deploy/ks.yaml Kustomization/deploy": "everything",
		"deploy/cm.yaml ConfigMap/d":          "deployed",
		"top.yaml ConfigMap/top":              "everything",
	} {
		if got[k] != w {
			t.Errorf("%s: got namespace %q, want %q", k, got[k], w)
		}
	}
}

func TestNamespaceInferenceOrderIndependent(t *testing.T) {
	files := []string{
		"a/kustomization.yaml", "namespace: from-yaml\n",
		"a/kustomization.yml", "namespace: from-yml\n",
		"a/cm.yaml", testCM("x"),
		"f1.yaml", testFluxKS("one", "./b", "zeta"),
		"f2.yaml", testFluxKS("two", "./b", "alpha"),
		"f3.yaml", testFluxKS("three", "./b", ""),
		"b/cm.yaml", testCM("why"),
	}
	var rev []string
	for i := len(files) - 2; i >= 0; i -= 2 {
		rev = append(rev, files[i], files[i+1])
	}
	for _, order := range [][]string{files, rev} {
		got := objectNamespaces(scanFiles(t, Limits{}, order...))
		if got["a/cm.yaml ConfigMap/x"] != "from-yaml" || got["b/cm.yaml ConfigMap/why"] != "alpha" {
			t.Errorf("got %v, want from-yaml (first file by name) and alpha (a target beats none, then by name)", got)
		}
	}
}

func TestCleanFluxPath(t *testing.T) {
	for in, want := range map[string]string{
		"": ".", "./": ".", ".": ".", "/": ".", "./kubernetes/apps/": "kubernetes/apps",
		"kubernetes//apps": "kubernetes/apps", "/abs/path": "abs/path", "./a/../b": "b", "../../escape": "escape",
	} {
		if got := cleanFluxPath(in); got != want {
			t.Errorf("cleanFluxPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeprecations(t *testing.T) {
	docs := []string{
		"apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: ing, namespace: web}\n",
		"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: dep}\n",
		"apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: psp}\n",
		"apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: cj}\n",
		"apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata: {name: hr}\n",
		"apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: oci}\n",
		"apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata: {name: git}\n",
		"apiVersion: notification.toolkit.fluxcd.io/v1beta2\nkind: Receiver\nmetadata: {name: rcv}\n",
		"apiVersion: notification.toolkit.fluxcd.io/v1beta2\nkind: Alert\nmetadata: {name: alert}\n",
		"apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: {name: pol}\n",
		"apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: {name: current}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: fine}\n",
		"apiVersion: v1\nkind: Endpoints\nmetadata: {name: ep}\n",
	}
	res := scanFiles(t, Limits{}, "old.yaml", strings.Join(docs, "---\n"))
	var got []string
	for _, d := range res.Deprecations {
		got = append(got, fmt.Sprintf("%s %s/%s %s: %s %s→%s use %s", d.APIVersion, d.Kind, d.Name, d.Namespace,
			d.Project, d.DeprecatedIn, d.RemovedIn, d.Replacement))
	}
	equalStrings(t, "deprecations", got, []string{
		"notification.toolkit.fluxcd.io/v1beta2 Alert/alert : flux 2.2→2.8 use notification.toolkit.fluxcd.io/v1beta3",
		"batch/v1beta1 CronJob/cj : kubernetes 1.21→1.25 use batch/v1",
		"extensions/v1beta1 Deployment/dep : kubernetes 1.8→1.16 use apps/v1",
		"v1 Endpoints/ep : kubernetes 1.33→ use discovery.k8s.io/v1",
		"source.toolkit.fluxcd.io/v1beta2 GitRepository/git : flux 2.0→2.8 use source.toolkit.fluxcd.io/v1",
		"helm.toolkit.fluxcd.io/v2beta1 HelmRelease/hr : flux 2.2→2.7 use helm.toolkit.fluxcd.io/v2",
		"image.toolkit.fluxcd.io/v1beta2 ImagePolicy/pol : flux 2.7→ use image.toolkit.fluxcd.io/v1",
		"extensions/v1beta1 Ingress/ing web: kubernetes 1.14→1.22 use networking.k8s.io/v1",
		"source.toolkit.fluxcd.io/v1beta2 OCIRepository/oci : flux 2.6→2.8 use source.toolkit.fluxcd.io/v1",
		"policy/v1beta1 PodSecurityPolicy/psp : kubernetes 1.21→1.25 use ",
		"notification.toolkit.fluxcd.io/v1beta2 Receiver/rcv : flux 2.0→2.8 use notification.toolkit.fluxcd.io/v1",
	})
}

func TestDeprecationTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range deprecatedAPIs {
		if d.project != projectKubernetes && d.project != projectFlux {
			t.Errorf("%s/%s: unknown project %q", d.group, d.version, d.project)
		}
		if d.deprecatedIn == "" {
			t.Errorf("%s/%s: no deprecation release", d.group, d.version)
		}
		gv := d.group + "/" + d.version
		kinds := d.kinds
		if len(kinds) == 0 {
			kinds = []string{"*"}
		}
		for _, k := range kinds {
			if seen[gv+" "+k] {
				t.Errorf("%s %s listed twice", gv, k)
			}
			seen[gv+" "+k] = true
		}
		if d.replacement == d.group+"/"+d.version {
			t.Errorf("%s replaces itself", gv)
		}
	}
}

package scan

import (
	"path"
	"strings"
)

// Namespace inference. An object without metadata.namespace gets, in this order:
//
//  1. the `namespace:` of the nearest kustomization.yaml in its directory or above (kustomize sets it on
//     the resources it lists, which normally sit beside it or below);
//  2. the spec.targetNamespace of the Flux Kustomization (kustomize.toolkit.fluxcd.io, any version) whose
//     spec.path is the longest one containing the object's directory — that Kustomization applies the
//     file. Paths are taken as relative to this repository ("./" and a missing path are its root); a
//     segment holding a ${VAR} substitution matches any directory name. A Kustomization's own target
//     never applies to itself, and when the Kustomization that applies a file has no targetNamespace
//     the file gets none (a shorter one does not take over);
//  3. nothing ("").
//
// Cluster-scoped kinds never get an inferred namespace, and kustomize's own kustomization objects keep
// just their own `namespace:` field.

// nsState collects what namespace inference needs from the whole tree.
type nsState struct {
	kustomize map[string]kustomizeNS // directory → its kustomization.yaml's namespace
	flux      []fluxTarget
}

type kustomizeNS struct{ file, ns string }

// fluxTarget is one Flux Kustomization: where it applies, and the namespace it forces.
type fluxTarget struct {
	obj    int      // its index in Result.Objects
	segs   []string // cleaned spec.path split at "/"; nil for the repository root
	target string   // spec.targetNamespace
}

const fluxKustomizeGroup = "kustomize.toolkit.fluxcd.io"

// addKustomization records the namespace of dir's kustomization file. With both kustomization.yaml and
// .yml in one directory (kustomize refuses that) the first file by name wins, whatever the reading order.
func (n *nsState) addKustomization(dir, file, ns string) {
	if n.kustomize == nil {
		n.kustomize = make(map[string]kustomizeNS)
	}
	if old, ok := n.kustomize[dir]; ok && old.file < file {
		return
	}
	n.kustomize[dir] = kustomizeNS{file: file, ns: ns}
}

// addObject notes Flux Kustomizations. o is only valid during the call.
func (n *nsState) addObject(o *Object, idx int, obj map[string]any) {
	if o.Group != fluxKustomizeGroup || o.Kind != "Kustomization" {
		return
	}
	spec, _ := obj["spec"].(map[string]any)
	p, _ := spec["path"].(string)
	target, _ := spec["targetNamespace"].(string)
	n.flux = append(n.flux, fluxTarget{obj: idx, segs: pathSegments(cleanFluxPath(p)), target: target})
}

// cleanFluxPath makes a Flux spec.path repository-relative: "./kubernetes/apps/" → "kubernetes/apps",
// "" and "./" → ".".
func cleanFluxPath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	if p == "/" {
		return "."
	}
	return p[1:]
}

// pathSegments splits a cleaned directory; nil for ".".
func pathSegments(dir string) []string {
	if dir == "." || dir == "" {
		return nil
	}
	return strings.Split(dir, "/")
}

// infer sets the namespace of every object that has none of its own.
func (n *nsState) infer(objs []Object) {
	isFlux := make(map[int]bool, len(n.flux))
	for _, t := range n.flux {
		isFlux[t.obj] = true
	}
	byDir := make(map[string]string) // inferred namespace per directory, for objects that are not Flux Kustomizations
	for i := range objs {
		o := &objs[i]
		if o.explicitNS || clusterScoped[o.Kind] {
			continue
		}
		dir := path.Dir(o.File)
		if isFlux[i] {
			o.Namespace = n.namespaceFor(dir, i)
			continue
		}
		ns, ok := byDir[dir]
		if !ok {
			ns = n.namespaceFor(dir, -1)
			byDir[dir] = ns
		}
		o.Namespace = ns
	}
}

// namespaceFor is the inferred namespace of an object in dir; self is the object's index when it is a
// Flux Kustomization (its own target does not apply to it), else -1.
func (n *nsState) namespaceFor(dir string, self int) string {
	for d := dir; ; d = path.Dir(d) {
		if k, ok := n.kustomize[d]; ok {
			return k.ns
		}
		if d == "." || d == "/" || d == "" {
			break
		}
	}
	segs := pathSegments(dir)
	best := -1
	for i, t := range n.flux {
		if t.obj == self || !segmentsCover(t.segs, segs) {
			continue
		}
		if best < 0 || betterFluxTarget(t, n.flux[best]) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return n.flux[best].target
}

// betterFluxTarget orders candidates: the longest path wins; among equal paths one with a target, then
// the smaller target, so the answer does not depend on reading order.
func betterFluxTarget(a, b fluxTarget) bool {
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	if (a.target == "") != (b.target == "") {
		return a.target != ""
	}
	return a.target < b.target
}

// segmentsCover reports whether the directory prefix covers dir (equal or an ancestor). A prefix segment
// with a ${…} substitution matches any one segment.
func segmentsCover(prefix, dir []string) bool {
	if len(prefix) > len(dir) {
		return false
	}
	for i, p := range prefix {
		if p != dir[i] && !strings.Contains(p, "${") {
			return false
		}
	}
	return true
}

// clusterScoped lists the kinds that have no namespace: built-in Kubernetes kinds and those of the
// controllers GitOps repositories commonly carry. Inference never gives them one.
var clusterScoped = map[string]bool{
	// Kubernetes
	"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true,
	"ClusterRole": true, "ClusterRoleBinding": true,
	"CustomResourceDefinition": true, "APIService": true,
	"StorageClass": true, "VolumeAttachment": true, "CSIDriver": true, "CSINode": true,
	"VolumeAttributesClass": true, "PriorityClass": true, "RuntimeClass": true, "IngressClass": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true,
	"PodSecurityPolicy": true, "CertificateSigningRequest": true, "ClusterTrustBundle": true,
	"FlowSchema": true, "PriorityLevelConfiguration": true, "StorageVersionMigration": true,
	"IPAddress": true, "ServiceCIDR": true, "DeviceClass": true, "ResourceSlice": true,
	"SelfSubjectReview": true, "TokenReview": true, "SubjectAccessReview": true, "SelfSubjectAccessReview": true,
	// Gateway API, volume snapshots
	"GatewayClass": true, "VolumeSnapshotClass": true, "VolumeSnapshotContent": true,
	// cert-manager, external-secrets
	"ClusterIssuer": true, "ClusterSecretStore": true, "ClusterExternalSecret": true, "ClusterGenerator": true,
	// Kyverno, Gatekeeper, policy reports, sigstore
	"ClusterPolicy": true, "ClusterCleanupPolicy": true, "ClusterPolicyReport": true,
	"ConstraintTemplate": true, "ClusterImagePolicy": true,
	// Cilium, Calico
	"CiliumClusterwideNetworkPolicy": true, "CiliumLoadBalancerIPPool": true, "CiliumNode": true,
	"CiliumBGPClusterConfig": true, "CiliumBGPPeerConfig": true, "CiliumBGPAdvertisement": true,
	"CiliumBGPNodeConfig": true, "CiliumBGPPeeringPolicy": true, "CiliumL2AnnouncementPolicy": true,
	"CiliumCIDRGroup": true, "GlobalNetworkPolicy": true, "GlobalNetworkSet": true, "FelixConfiguration": true,
	// Tekton, node-feature-discovery, KServe
	"ClusterTask": true, "ClusterTriggerBinding": true, "ClusterInterceptor": true,
	"NodeFeatureRule": true, "ClusterServingRuntime": true,
}

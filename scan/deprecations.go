package scan

// Deprecated and removed API versions, applied to every object by Result.
//
// Kubernetes: from the API lifecycle the API server itself reports (the prerelease-lifecycle tags in
// k8s.io/api, which are what `kubectl` warns with: "X is deprecated in v1.A+, unavailable in v1.B+") and
// the official Deprecated API Migration Guide. Only beta and GA versions are listed; alpha versions come
// and go without a deprecation period.
//
// Flux: from the controllers' changelogs and the Flux roadmap. A beta version is deprecated by the Flux
// release that brings its successor and removed (no longer served by the CRDs) later: the v1beta1/v2beta1
// APIs in Flux 2.7, the v1beta2/v2beta2 ones in Flux 2.8. Where the removal release is not settled, only
// the deprecation is given.
//
// Releases are written as "1.22" (Kubernetes) and "2.7" (Flux).

// deprecatedAPI is one deprecated group/version, for all its kinds or the listed ones.
type deprecatedAPI struct {
	project      string
	group        string // "" for the core group
	version      string
	kinds        []string // empty: every kind of group/version
	deprecatedIn string
	removedIn    string
	replacement  string // apiVersion to use instead; "" when there is none
}

const (
	projectKubernetes = "kubernetes"
	projectFlux       = "flux"
)

var deprecatedAPIs = []deprecatedAPI{
	// Kubernetes 1.16 removals.
	{projectKubernetes, "extensions", "v1beta1", []string{"Deployment", "DaemonSet", "ReplicaSet"}, "1.8", "1.16", "apps/v1"},
	{projectKubernetes, "extensions", "v1beta1", []string{"NetworkPolicy"}, "1.9", "1.16", "networking.k8s.io/v1"},
	{projectKubernetes, "extensions", "v1beta1", []string{"PodSecurityPolicy"}, "1.11", "1.16", "policy/v1beta1"},
	{projectKubernetes, "apps", "v1beta1", nil, "1.8", "1.16", "apps/v1"},
	{projectKubernetes, "apps", "v1beta2", nil, "1.9", "1.16", "apps/v1"},

	// Kubernetes 1.22 removals.
	{projectKubernetes, "extensions", "v1beta1", []string{"Ingress"}, "1.14", "1.22", "networking.k8s.io/v1"},
	{projectKubernetes, "networking.k8s.io", "v1beta1", []string{"Ingress", "IngressClass"}, "1.19", "1.22", "networking.k8s.io/v1"},
	{projectKubernetes, "admissionregistration.k8s.io", "v1beta1", nil, "1.16", "1.22", "admissionregistration.k8s.io/v1"},
	{projectKubernetes, "apiextensions.k8s.io", "v1beta1", nil, "1.16", "1.22", "apiextensions.k8s.io/v1"},
	{projectKubernetes, "apiregistration.k8s.io", "v1beta1", nil, "1.19", "1.22", "apiregistration.k8s.io/v1"},
	{projectKubernetes, "authentication.k8s.io", "v1beta1", nil, "1.19", "1.22", "authentication.k8s.io/v1"},
	{projectKubernetes, "authorization.k8s.io", "v1beta1", nil, "1.19", "1.22", "authorization.k8s.io/v1"},
	{projectKubernetes, "certificates.k8s.io", "v1beta1", nil, "1.19", "1.22", "certificates.k8s.io/v1"},
	{projectKubernetes, "coordination.k8s.io", "v1beta1", nil, "1.19", "1.22", "coordination.k8s.io/v1"},
	{projectKubernetes, "rbac.authorization.k8s.io", "v1beta1", nil, "1.17", "1.22", "rbac.authorization.k8s.io/v1"},
	{projectKubernetes, "scheduling.k8s.io", "v1beta1", nil, "1.14", "1.22", "scheduling.k8s.io/v1"},
	{projectKubernetes, "storage.k8s.io", "v1beta1", []string{"CSIDriver", "StorageClass", "VolumeAttachment"}, "1.19", "1.22", "storage.k8s.io/v1"},
	{projectKubernetes, "storage.k8s.io", "v1beta1", []string{"CSINode"}, "1.17", "1.22", "storage.k8s.io/v1"},

	// Kubernetes 1.25 removals.
	{projectKubernetes, "batch", "v1beta1", []string{"CronJob"}, "1.21", "1.25", "batch/v1"},
	{projectKubernetes, "discovery.k8s.io", "v1beta1", nil, "1.21", "1.25", "discovery.k8s.io/v1"},
	{projectKubernetes, "events.k8s.io", "v1beta1", nil, "1.22", "1.25", "events.k8s.io/v1"},
	{projectKubernetes, "autoscaling", "v2beta1", nil, "1.22", "1.25", "autoscaling/v2"},
	{projectKubernetes, "policy", "v1beta1", []string{"PodDisruptionBudget"}, "1.21", "1.25", "policy/v1"},
	{projectKubernetes, "policy", "v1beta1", []string{"PodSecurityPolicy"}, "1.21", "1.25", ""}, // Pod Security Admission replaces it
	{projectKubernetes, "node.k8s.io", "v1beta1", nil, "1.20", "1.25", "node.k8s.io/v1"},

	// Kubernetes 1.26 and later removals.
	{projectKubernetes, "autoscaling", "v2beta2", nil, "1.23", "1.26", "autoscaling/v2"},
	{projectKubernetes, "flowcontrol.apiserver.k8s.io", "v1beta1", nil, "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1"},
	{projectKubernetes, "storage.k8s.io", "v1beta1", []string{"CSIStorageCapacity"}, "1.24", "1.27", "storage.k8s.io/v1"},
	{projectKubernetes, "flowcontrol.apiserver.k8s.io", "v1beta2", nil, "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1"},
	{projectKubernetes, "flowcontrol.apiserver.k8s.io", "v1beta3", nil, "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1"},

	// Kubernetes kinds deprecated in a GA version, still served.
	{projectKubernetes, "", "v1", []string{"Endpoints"}, "1.33", "", "discovery.k8s.io/v1"},

	// Flux source-controller.
	{projectFlux, "source.toolkit.fluxcd.io", "v1beta1", nil, "0.28", "2.7", "source.toolkit.fluxcd.io/v1"},
	{projectFlux, "source.toolkit.fluxcd.io", "v1beta2", []string{"GitRepository"}, "2.0", "2.8", "source.toolkit.fluxcd.io/v1"},
	{projectFlux, "source.toolkit.fluxcd.io", "v1beta2", []string{"HelmRepository", "HelmChart"}, "2.3", "2.8", "source.toolkit.fluxcd.io/v1"},
	{projectFlux, "source.toolkit.fluxcd.io", "v1beta2", []string{"Bucket"}, "2.4", "2.8", "source.toolkit.fluxcd.io/v1"},
	{projectFlux, "source.toolkit.fluxcd.io", "v1beta2", []string{"OCIRepository"}, "2.6", "2.8", "source.toolkit.fluxcd.io/v1"},

	// Flux kustomize-controller.
	{projectFlux, "kustomize.toolkit.fluxcd.io", "v1beta1", nil, "0.18", "2.7", "kustomize.toolkit.fluxcd.io/v1"},
	{projectFlux, "kustomize.toolkit.fluxcd.io", "v1beta2", nil, "2.0", "2.8", "kustomize.toolkit.fluxcd.io/v1"},

	// Flux helm-controller.
	{projectFlux, "helm.toolkit.fluxcd.io", "v2beta1", nil, "2.2", "2.7", "helm.toolkit.fluxcd.io/v2"},
	{projectFlux, "helm.toolkit.fluxcd.io", "v2beta2", nil, "2.3", "2.8", "helm.toolkit.fluxcd.io/v2"},

	// Flux notification-controller: Receiver went GA (v1); Alert and Provider are at v1beta3.
	{projectFlux, "notification.toolkit.fluxcd.io", "v1beta1", []string{"Receiver"}, "0.38", "2.7", "notification.toolkit.fluxcd.io/v1"},
	{projectFlux, "notification.toolkit.fluxcd.io", "v1beta1", nil, "0.38", "2.7", "notification.toolkit.fluxcd.io/v1beta3"},
	{projectFlux, "notification.toolkit.fluxcd.io", "v1beta2", []string{"Receiver"}, "2.0", "2.8", "notification.toolkit.fluxcd.io/v1"},
	{projectFlux, "notification.toolkit.fluxcd.io", "v1beta2", nil, "2.2", "2.8", "notification.toolkit.fluxcd.io/v1beta3"},

	// Flux image automation.
	{projectFlux, "image.toolkit.fluxcd.io", "v1beta1", []string{"ImageUpdateAutomation"}, "2.3", "2.7", "image.toolkit.fluxcd.io/v1"},
	{projectFlux, "image.toolkit.fluxcd.io", "v1beta1", nil, "0.40", "2.7", "image.toolkit.fluxcd.io/v1"},
	{projectFlux, "image.toolkit.fluxcd.io", "v1beta2", nil, "2.7", "", "image.toolkit.fluxcd.io/v1"},
}

// deprecationIndex finds the table entry for an object quickly: group/version → entries in table order.
type deprecationIndex map[string][]*deprecatedAPI

func newDeprecationIndex() deprecationIndex {
	idx := make(deprecationIndex, len(deprecatedAPIs))
	for i := range deprecatedAPIs {
		d := &deprecatedAPIs[i]
		gv := d.version
		if d.group != "" {
			gv = d.group + "/" + d.version
		}
		idx[gv] = append(idx[gv], d)
	}
	return idx
}

// lookup returns the first entry for apiVersion that covers kind.
func (idx deprecationIndex) lookup(apiVersion, kind string) *deprecatedAPI {
	for _, d := range idx[apiVersion] {
		if len(d.kinds) == 0 {
			return d
		}
		for _, k := range d.kinds {
			if k == kind {
				return d
			}
		}
	}
	return nil
}

// findDeprecations lists the objects whose apiVersion is deprecated or removed (namespaces must be final).
func findDeprecations(objs []Object) []Deprecation {
	idx := newDeprecationIndex()
	var out []Deprecation
	for i := range objs {
		o := &objs[i]
		d := idx.lookup(o.APIVersion, o.Kind)
		if d == nil {
			continue
		}
		out = append(out, Deprecation{
			File: o.File, APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: o.Namespace,
			Project: d.project, DeprecatedIn: d.deprecatedIn, RemovedIn: d.removedIn, Replacement: d.replacement,
		})
	}
	return out
}

package scan

import "cmp"

// fluxRelease is what chart resolution needs from a Flux HelmRelease.
type fluxRelease struct {
	objRef
	name string
	// from spec.chart.spec, or spec.chartRef when chartRef is set
	chartRef                bool
	chart, version          string
	refKind, refName, refNS string // refNS "" means the release's own namespace
	values                  []byte
	valuesFrom              []string
}

// sourceKey finds Flux source objects by kind and name; namespaces are compared in finish.
type sourceKey struct{ kind, name string }

// fluxSource is what chart resolution needs from a Flux source object.
type fluxSource struct {
	objRef
	kind string
	url  string
	// OCIRepository: the ref as written (tag, else semver, else digest). HelmChart: spec.version.
	version string
	// HelmChart only: the chart (name or path) and its source, in the HelmChart's namespace.
	chart            string
	refKind, refName string
}

func (f *factState) addHelmRelease(o *Object, ref objRef, obj map[string]any, emit func(imageRef)) {
	spec := mapAt(obj, "spec")
	r := fluxRelease{objRef: ref, name: o.Name}
	if cr := mapAt(spec, "chartRef"); cr != nil {
		r.chartRef = true
		r.refKind, r.refName, r.refNS = str(cr, "kind"), str(cr, "name"), str(cr, "namespace")
	} else if cs := mapAt(spec, "chart", "spec"); cs != nil {
		r.chart, r.version = str(cs, "chart"), str(cs, "version")
		sr := mapAt(cs, "sourceRef")
		r.refKind, r.refName, r.refNS = str(sr, "kind"), str(sr, "name"), str(sr, "namespace")
	}
	values := spec["values"]
	valuesImages(values, emit)
	if !r.chartRef && r.chart == "" && r.refName == "" {
		return // no chart to record (invalid or partial release); its values images still count
	}
	r.values = f.valuesJSON(values)
	vf, _ := spec["valuesFrom"].([]any)
	for _, v := range vf {
		if n := str(asMap(v), "name"); n != "" {
			r.valuesFrom = append(r.valuesFrom, n)
		}
	}
	f.releases = append(f.releases, r)
}

func (f *factState) addSource(o *Object, ref objRef, obj map[string]any) {
	spec := mapAt(obj, "spec")
	s := &fluxSource{objRef: ref, kind: o.Kind, url: str(spec, "url")}
	switch o.Kind {
	case "HelmRepository", "GitRepository":
		// The URL is all resolution needs: a HelmRepository of type oci has an oci:// URL and its charts
		// are url/chart just like the default type; a GitRepository's ref says nothing about the chart version.
	case "OCIRepository":
		r := mapAt(spec, "ref")
		s.version = cmp.Or(str(r, "tag"), str(r, "semver"), str(r, "digest"))
	case "HelmChart":
		s.chart, s.version = str(spec, "chart"), str(spec, "version")
		sr := mapAt(spec, "sourceRef")
		s.refKind, s.refName = str(sr, "kind"), str(sr, "name")
	default:
		return
	}
	if f.sources == nil {
		f.sources = make(map[sourceKey][]*fluxSource)
	}
	k := sourceKey{o.Kind, o.Name}
	f.sources[k] = append(f.sources[k], s)
}

// fluxChartName is the chart's name: a HelmRepository chart as written, a GitRepository or Bucket chart
// (a path in the source) its last path element.
func fluxChartName(sourceKind, chart string) string {
	if sourceKind == "GitRepository" || sourceKind == "Bucket" {
		return lastSegment(cleanChartPath(chart))
	}
	return chart
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

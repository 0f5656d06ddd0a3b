package scan

import (
	"cmp"
	"path"
	"strings"
)

// Chart resolution within a repository, Flux semantics: a release's sourceRef (or chartRef) names a source
// object by kind and name, in sourceRef.namespace or else the release's own namespace.
//
//   - exactly one candidate in that namespace: it is the source;
//   - several there, or none there but some elsewhere (namespace inference can miss, e.g. a source file
//     outside any kustomization): the nearest by file path wins (longest common directory with the
//     release's file, then the shallowest, then file and document order), and the chart is Ambiguous
//     unless every candidate would give the same facts (URL, and for an OCIRepository its ref);
//   - none: the release's own chart, version and sourceRef are kept, with no URLs.
//
// A chartRef to a HelmChart is followed to the HelmChart's own source, in the HelmChart's namespace;
// ambiguity at either step marks the chart.

// resolveRelease builds the Chart of one HelmRelease.
func (f *factState) resolveRelease(res *Result, r *fluxRelease) Chart {
	ns := finalNS(res, r.objRef)
	c := Chart{
		File: r.file, Kind: "HelmRelease", Name: r.name, Namespace: ns, Tool: ToolFlux,
		Values: r.values, ValuesFrom: r.valuesFrom,
	}
	refNS := cmp.Or(r.refNS, ns)
	c.SourceKind, c.SourceName, c.SourceNamespace = r.refKind, r.refName, refNS
	if !r.chartRef {
		c.Chart, c.Version = fluxChartName(r.refKind, r.chart), r.version
	}
	src, ambiguous := f.pick(res, r.refKind, r.refName, refNS, r.file)
	c.Ambiguous = ambiguous
	if src == nil {
		return c
	}
	chartPath := r.chart
	if src.kind == "HelmChart" {
		hcNS := finalNS(res, src.objRef)
		c.Chart, c.Version = fluxChartName(src.refKind, src.chart), src.version
		c.SourceKind, c.SourceName, c.SourceNamespace = src.refKind, src.refName, hcNS
		chartPath = src.chart
		var amb bool
		src, amb = f.pick(res, src.refKind, src.refName, hcNS, src.file)
		c.Ambiguous = c.Ambiguous || amb
		if src == nil {
			return c
		}
	}
	c.SourceURL = src.url
	switch src.kind {
	case "HelmRepository":
		if src.url != "" && chartPath != "" {
			c.ChartURL = strings.TrimSuffix(src.url, "/") + "/" + chartPath
		}
	case "OCIRepository":
		// The artifact is the chart: its name is the URL's last element, its version the ref.
		c.Chart, c.ChartURL, c.Version = lastSegment(src.url), src.url, src.version
	case "GitRepository":
		c.ChartURL = gitChartURL(src.url, chartPath)
	}
	return c
}

// pick chooses the source object of kind and name for a reference from file whose namespace is ns.
func (f *factState) pick(res *Result, kind, name, ns, file string) (src *fluxSource, ambiguous bool) {
	all := f.sources[sourceKey{kind, name}]
	if len(all) == 0 {
		return nil, false
	}
	var inNS []*fluxSource
	for _, s := range all {
		if finalNS(res, s.objRef) == ns {
			inNS = append(inNS, s)
		}
	}
	pool := inNS
	switch len(inNS) {
	case 1:
		return inNS[0], false
	case 0:
		pool = all
	}
	dir := dirSegments(file)
	var best *fluxSource
	var bestCommon, bestDepth int
	for _, s := range pool {
		sd := dirSegments(s.file)
		common := commonPrefix(dir, sd)
		if best == nil || common > bestCommon || common == bestCommon && (len(sd) < bestDepth ||
			len(sd) == bestDepth && (s.file < best.file || s.file == best.file && s.doc < best.doc)) {
			best, bestCommon, bestDepth = s, common, len(sd)
		}
	}
	for _, s := range pool {
		if strings.TrimSuffix(s.url, "/") != strings.TrimSuffix(best.url, "/") || s.version != best.version || s.chart != best.chart ||
			s.refKind != best.refKind || s.refName != best.refName {
			return best, true
		}
	}
	return best, false
}

// dirSegments splits a file's directory into its elements ("a/b/c.yaml" → [a b]; "c.yaml" → []).
func dirSegments(file string) []string {
	d := path.Dir(file)
	if d == "." || d == "/" {
		return nil
	}
	return strings.Split(strings.Trim(d, "/"), "/")
}

func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

package scan

import (
	"cmp"
	"encoding/json"
	"path"
	"slices"
	"strings"
)

// maxValuesBytes caps one chart's inline values (canonical JSON), and maxValuesTotal all values one
// scan keeps: values must wait in memory until the whole tree is read, so this is what bounds memory
// on hostile or generated repositories. Bigger values are dropped; the chart is still recorded. Real
// values are a few KiB, a large home-ops repository keeps about 1 MiB.
const (
	maxValuesBytes = 256 << 10
	maxValuesTotal = 32 << 20
)

// factState collects, per object, only the small facts that chart resolution and image listing need;
// whole objects are never kept. Namespaces may still change until finish (inference needs the whole tree),
// so every fact remembers its object's index in Result.Objects.
type factState struct {
	// lim bounds the parsing of Argo CD helm.values strings; zero fields take the defaults.
	lim Limits

	releases []fluxRelease
	sources  map[sourceKey][]*fluxSource
	argo     []pendingChart
	images   []pendingImage
	done     bool

	valuesKept   int // bytes of values kept so far
	valuesBudget int // bytes of values a scan may keep; maxValuesTotal when 0
}

// objRef identifies the object a fact came from.
type objRef struct {
	idx  int    // index in Result.Objects
	doc  int    // document index in its file, for a stable order
	file string // the object's file
	ns   string // namespace when added; the final one is read from Result.Objects in finish
}

type pendingChart struct {
	objRef
	pos   int // source position within the object (Argo multi-source)
	chart Chart
}

type pendingImage struct {
	objRef
	img Image
}

// add records the facts of one parsed, redacted object. o is only valid during the call.
func (f *factState) add(o *Object, idx int, obj map[string]any) {
	ref := objRef{idx: idx, doc: o.Doc, file: o.File, ns: o.Namespace}
	var seen map[string]bool
	emit := func(source string) func(imageRef) {
		return func(r imageRef) {
			if seen[r.image] {
				return
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[r.image] = true
			f.images = append(f.images, pendingImage{objRef: ref, img: Image{
				File: o.File, Kind: o.Kind, Name: o.Name, Source: source,
				Image: r.image, Registry: r.registry, Repository: r.repository, Tag: r.tag, Digest: r.digest,
			}})
		}
	}

	podImages(o, obj, emit(ImageFromPod))
	switch objectGroup(o) {
	case "helm.toolkit.fluxcd.io":
		if o.Kind == "HelmRelease" {
			f.addHelmRelease(o, ref, obj, emit(ImageFromValues))
		}
	case "source.toolkit.fluxcd.io":
		f.addSource(o, ref, obj)
	case "argoproj.io":
		f.addArgo(o, ref, obj, emit(ImageFromValues))
	}
}

// finish resolves chart sources (namespaces are final by now) and appends Charts and Images to res,
// each in a deterministic order. It runs once; later calls do nothing.
func (f *factState) finish(res *Result) {
	if f.done {
		return
	}
	f.done = true

	// On a big tree this is where a scan's heap peaks: every list exists twice here, pending and final.
	// Each pending list is dropped as soon as it is copied, and the final ones are allocated once at
	// their size rather than grown.
	charts := make([]pendingChart, 0, len(f.releases)+len(f.argo))
	for i := range f.releases {
		r := &f.releases[i]
		charts = append(charts, pendingChart{objRef: r.objRef, chart: f.resolveRelease(res, r)})
	}
	for _, c := range f.argo {
		c.chart.Namespace = finalNS(res, c.objRef)
		charts = append(charts, c)
	}
	f.releases, f.sources, f.argo = nil, nil, nil
	slices.SortStableFunc(charts, func(a, b pendingChart) int {
		return cmp.Or(
			cmp.Compare(a.chart.File, b.chart.File),
			cmp.Compare(a.chart.Name, b.chart.Name),
			cmp.Compare(a.doc, b.doc),
			cmp.Compare(a.pos, b.pos),
		)
	})
	res.Charts = slices.Grow(res.Charts, len(charts))
	for _, c := range charts {
		res.Charts = append(res.Charts, c.chart)
	}

	for i := range f.images {
		f.images[i].img.Namespace = finalNS(res, f.images[i].objRef)
	}
	slices.SortStableFunc(f.images, func(a, b pendingImage) int {
		return cmp.Or(
			cmp.Compare(a.img.File, b.img.File),
			cmp.Compare(a.img.Image, b.img.Image),
			cmp.Compare(a.doc, b.doc),
			cmp.Compare(a.img.Source, b.img.Source),
		)
	})
	res.Images = slices.Grow(res.Images, len(f.images))
	for _, im := range f.images {
		res.Images = append(res.Images, im.img)
	}
	f.images = nil
}

// finalNS is the object's namespace after inference.
func finalNS(res *Result, r objRef) string {
	if r.idx >= 0 && r.idx < len(res.Objects) && res.Objects[r.idx].File == r.file {
		return res.Objects[r.idx].Namespace
	}
	return r.ns
}

// objectGroup is the API group ("" for the core group).
func objectGroup(o *Object) string {
	if o.Group != "" {
		return o.Group
	}
	g, _, ok := strings.Cut(o.APIVersion, "/")
	if !ok {
		return ""
	}
	return g
}

// valuesJSON returns inline Helm values as canonical JSON, or nil when there are none or they are too big
// (alone, or for what the scan has kept already).
func (f *factState) valuesJSON(v any) json.RawMessage {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	b, err := canonicalJSON(m)
	budget := cmp.Or(f.valuesBudget, maxValuesTotal)
	if err != nil || len(b) > maxValuesBytes || f.valuesKept+len(b) > budget {
		return nil
	}
	f.valuesKept += len(b)
	return b
}

// mapAt walks nested maps; nil when a step is missing or not a map.
func mapAt(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
		if m == nil {
			return nil
		}
	}
	return m
}

// str is the string (or number, as written) at m[key]; "" otherwise.
func str(m map[string]any, key string) string {
	s, _ := scalarString(m[key])
	return s
}

// lastSegment is the last slash-separated element of a URL or path ("" for "", ".", "/").
func lastSegment(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	if s == "." || strings.HasSuffix(s, ":") {
		return ""
	}
	return s
}

// cleanChartPath normalises a chart path inside a git repository: "./charts/app/" → "charts/app".
// Templated paths are only trimmed, never cleaned, so the template text stays as written.
func cleanChartPath(p string) string {
	if p == "" {
		return ""
	}
	if !hasTemplate(p) {
		p = path.Clean("/" + p)[1:]
	} else {
		p = strings.TrimRight(strings.TrimPrefix(p, "./"), "/")
	}
	if p == "" {
		return "."
	}
	return p
}

// gitChartURL locates a chart directory in a git repository: url#path (url alone for the repository root).
func gitChartURL(url, chartPath string) string {
	if url == "" {
		return ""
	}
	p := cleanChartPath(chartPath)
	if p == "" || p == "." {
		return url
	}
	return url + "#" + p
}

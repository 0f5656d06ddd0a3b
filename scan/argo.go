package scan

import "strings"

// addArgo records the chart usages of an Argo CD Application (spec) or ApplicationSet (spec.template.spec).
// Multi-source spec.sources wins over spec.source, as in Argo CD. Templated strings ("{{.name}}") are kept as
// written.
func (f *factState) addArgo(o *Object, ref objRef, obj map[string]any, emit func(imageRef)) {
	var spec map[string]any
	switch o.Kind {
	case "Application":
		spec = mapAt(obj, "spec")
	case "ApplicationSet":
		spec = mapAt(obj, "spec", "template", "spec")
	default:
		return
	}
	sources, _ := spec["sources"].([]any)
	if len(sources) == 0 {
		if s := mapAt(spec, "source"); s != nil {
			sources = []any{s}
		}
	}
	for pos, s := range sources {
		src := asMap(s)
		c, ok := f.argoSource(src, emit)
		if !ok {
			continue
		}
		c.File, c.Kind, c.Name, c.Tool = o.File, o.Kind, o.Name, ToolArgo
		f.argo = append(f.argo, pendingChart{objRef: ref, pos: pos, chart: c})
	}
}

// argoSource turns one Argo CD source into a chart usage:
//   - with `chart`: a Helm repository chart. SourceKind "oci" when repoURL is oci://… or has no scheme
//     (Argo CD writes Helm OCI registries without one), else "helm"; ChartURL is repoURL/chart, with oci://
//     for OCI. A templated repoURL without a scheme ("{{.repo}}") leaves SourceKind and ChartURL empty.
//   - without `chart` but with a non-empty `helm` block: a chart directory. From an oci:// repoURL (Argo CD
//     3.1 OCI sources) the artifact is the chart: SourceKind "oci", Chart its last element, ChartURL repoURL.
//     From git: SourceKind "git", Chart the path's last element ("" at the repository root),
//     ChartURL repoURL#path.
//   - otherwise (plain git directory, kustomize, a `ref:` values source): not a chart.
//
// Version is targetRevision as written. Values: helm.valuesObject, else helm.values (a YAML string, parsed
// and redacted here; one that does not parse is ignored, the chart still counts). Images come from both.
func (f *factState) argoSource(src map[string]any, emit func(imageRef)) (Chart, bool) {
	repoURL, chart, pth := str(src, "repoURL"), str(src, "chart"), str(src, "path")
	helm := mapAt(src, "helm")
	c := Chart{Chart: chart, Version: str(src, "targetRevision"), SourceURL: repoURL}
	switch {
	case chart != "":
		switch {
		case repoURL == "":
		case strings.HasPrefix(repoURL, "oci://"):
			c.SourceKind, c.ChartURL = "oci", strings.TrimSuffix(repoURL, "/")+"/"+chart
		case strings.Contains(repoURL, "://"):
			c.SourceKind, c.ChartURL = "helm", strings.TrimSuffix(repoURL, "/")+"/"+chart
		case !hasTemplate(repoURL):
			c.SourceKind, c.ChartURL = "oci", "oci://"+strings.TrimSuffix(repoURL, "/")+"/"+chart
		}
	case len(helm) > 0 && strings.HasPrefix(repoURL, "oci://"):
		c.SourceKind, c.Chart, c.ChartURL = "oci", lastSegment(repoURL), repoURL
	case len(helm) > 0 && pth != "":
		c.SourceKind, c.Chart, c.ChartURL = "git", lastSegment(cleanChartPath(pth)), gitChartURL(repoURL, pth)
	default:
		return Chart{}, false
	}

	vo, _ := helm["valuesObject"].(map[string]any)
	var parsed map[string]any
	switch v := helm["values"].(type) {
	case string:
		if v != "" && v != Redacted {
			if tree, err := decodeDocument([]byte(v), f.lim.withDefaults()); err == nil {
				parsed, _ = redactValues(tree).(map[string]any)
			}
		}
	case map[string]any: // not Argo CD's schema, but seen in the wild; already redacted with its object
		parsed = v
	}
	valuesImages(vo, emit)
	valuesImages(parsed, emit)
	switch {
	case len(vo) > 0 && len(parsed) > 0:
		c.Values = f.valuesJSON(mergeValues(parsed, vo)) // valuesObject wins, as in Argo CD
	case len(vo) > 0:
		c.Values = f.valuesJSON(vo)
	default:
		c.Values = f.valuesJSON(parsed)
	}
	return c, true
}

// mergeValues deep-merges over into base (which it modifies and returns); over wins, maps merge.
func mergeValues(base, over map[string]any) map[string]any {
	for k, v := range over {
		bm, bok := base[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			base[k] = mergeValues(bm, om)
			continue
		}
		base[k] = v
	}
	return base
}

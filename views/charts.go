package views

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/a-h/templ"

	"github.com/kubestats/kubestats/store"
)

// ChartsList is the charts page's data.
type ChartsList struct {
	Filter  store.ChartFilter
	Page    store.ChartListPage
	Results templ.Component // ChartsResults of this page, rendered once per load of the list
}

// URL is the charts page's URL with some parameters changed ("" removes one).
func (v ChartsList) URL(kv ...string) string {
	q := url.Values{}
	if v.Filter.Q != "" {
		q.Set("q", v.Filter.Q)
	}
	if v.Filter.Sort != "" && v.Filter.Sort != "repos" {
		q.Set("sort", v.Filter.Sort)
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	return withParams("/charts", q, kv)
}

// Pages is the number of pages.
func (v ChartsList) Pages() int { return pages(v.Page.Total, v.Filter.PerPage) }

// ChartAdoptionData is the adoption chart, columnar for uPlot (x in unix seconds).
type ChartAdoptionData struct {
	X     []int64 `json:"x"`
	Repos []int   `json:"repos"`
}

// ChartDetail is one chart's page.
type ChartDetail struct {
	Overview store.ChartOverview
	Filter   store.ChartRepoFilter
	Repos    store.ChartRepoPage
	Months   []store.ChartMonth
	Unknown  int // repositories without a recorded creation of their release
	Adoption ChartAdoptionData
	Keys     []store.ChartValuesKey
	Also     []store.ChartCount
	Example  string // YAML of the most common values; "" when there are none
	// Head, Tail and ReposHTML are ChartHead, ChartTail and ChartReposView of this chart
	// and page, rendered once for every request that shows them.
	Head, Tail, ReposHTML templ.Component
}

// URL is the chart page's URL with some parameters changed ("" removes one).
func (v ChartDetail) URL(kv ...string) string {
	q := url.Values{}
	if v.Filter.Sort != "" && v.Filter.Sort != "stars" {
		q.Set("sort", v.Filter.Sort)
	}
	if v.Filter.Page > 1 {
		q.Set("page", strconv.Itoa(v.Filter.Page))
	}
	return withParams(chartPath(v.Overview.Chart), q, kv)
}

// Pages is the number of pages of repositories.
func (v ChartDetail) Pages() int { return pages(v.Repos.Total, v.Filter.PerPage) }

// chartPath is a chart's page; the name is one path segment whatever it holds.
func chartPath(name string) string { return "/charts/" + url.PathEscape(name) }

// chartSourceText is a source for people: its URL, or its kind when the URL is unknown.
func chartSourceText(s store.ChartSource) string {
	if s.URL != "" {
		return s.URL
	}
	return s.Kind + " (not resolved)"
}

// chartPercent is n of total as a whole percentage, for bars and their text.
func chartPercent(n, total int) int {
	if total <= 0 {
		return 0
	}
	return (n*100 + total/2) / total
}

// chartValueText shows a value as written, cut to a readable length.
func chartValueText(v store.ChartValue) string {
	s := v.Value
	switch v.Type {
	case "true":
		s = "true"
	case "false":
		s = "false"
	case "null":
		s = "null"
	case "text":
		if s == "" {
			s = `""`
		}
	}
	if utf8.RuneCountInString(s) > 120 {
		s = string([]rune(s)[:119]) + "…"
	}
	return s
}

// splitValuesPath splits a json_tree path such as controllers.app."app.kubernetes.io/name"
// into its keys.
func splitValuesPath(p string) []string {
	var keys []string
	for p != "" {
		if p[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(p) && p[i] != '"'; i++ {
				if p[i] == '\\' && i+1 < len(p) {
					i++
				}
				b.WriteByte(p[i])
			}
			keys = append(keys, b.String())
			p = strings.TrimPrefix(p[min(i+1, len(p)):], ".")
			continue
		}
		k, rest, _ := strings.Cut(p, ".")
		keys = append(keys, k)
		p = rest
	}
	return keys
}

// chartValue turns a stored value back into data for YAML.
func chartValue(v store.ChartValue) (any, bool) {
	switch v.Type {
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	case "text":
		return v.Value, true
	case "integer":
		n, err := strconv.ParseInt(v.Value, 10, 64)
		return n, err == nil
	case "real":
		f, err := strconv.ParseFloat(v.Value, 64)
		return f, err == nil
	case "array":
		var a []any
		err := json.Unmarshal([]byte(v.Value), &a)
		return a, err == nil
	}
	return nil, false
}

// ChartValuesExample builds a values file from the keys set by most repositories, each with
// its most common value. Keys whose values are all redacted have no value and are left out,
// as are keys that clash with an earlier one (a scalar in one repo, a map in another).
func ChartValuesExample(keys []store.ChartValuesKey, limit int) string {
	root := map[string]any{}
	n := 0
	for _, k := range keys {
		if n >= limit {
			break
		}
		if len(k.Top) == 0 {
			continue
		}
		val, ok := chartValue(k.Top[0])
		if !ok {
			continue
		}
		if setValuesPath(root, splitValuesPath(k.Path), val) {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	b, err := yaml.Marshal(root)
	if err != nil {
		return ""
	}
	return string(b)
}

func setValuesPath(m map[string]any, keys []string, val any) bool {
	if len(keys) == 0 {
		return false
	}
	for _, k := range keys[:len(keys)-1] {
		next, exists := m[k]
		if !exists {
			child := map[string]any{}
			m[k] = child
			m = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return false
		}
		m = child
	}
	last := keys[len(keys)-1]
	if _, exists := m[last]; exists {
		return false
	}
	m[last] = val
	return true
}

package views

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/kubestats/kubestats/store"
)

// SearchView is the data of the search page and of the header's suggestions.
type SearchView struct {
	Input   string // what was typed, prefix included
	Query   store.SearchQuery
	Results store.SearchResults
	Limit   int // hits per section
}

// SearchURL is the full results page for what was typed.
func SearchURL(input string) string {
	if strings.TrimSpace(input) == "" {
		return "/search"
	}
	return "/search?q=" + url.QueryEscape(input)
}

// seeAllURL is the list page of a section with the term as its search.
func (v SearchView) seeAllURL(list string) string {
	return list + "?q=" + url.QueryEscape(v.Query.Term)
}

// everywhereURL searches every section for the term, without the prefix.
func (v SearchView) everywhereURL() string { return SearchURL(v.Query.Term) }

func repoHitPath(r store.RepoHit) string {
	return "/repositories/" + url.PathEscape(r.Owner) + "/" + url.PathEscape(r.Name)
}

// scopeLabel names the one section a prefixed query searches.
func (v SearchView) scopeLabel() string {
	switch v.Query.Scope {
	case store.ScopeRepos:
		return "repositories"
	case store.ScopeCharts:
		return "Helm charts"
	case store.ScopeImages:
		return "container images"
	}
	return ""
}

// nothingText says that the search found nothing, and where it looked.
func (v SearchView) nothingText() string {
	if l := v.scopeLabel(); l != "" {
		return "Nothing matches “" + v.Query.Term + "” in " + l + "."
	}
	return "Nothing matches “" + v.Query.Term + "”."
}

// plural is "1 chart", "2 charts".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// suggestStatus is what the live region announces after suggestions arrive.
func (v SearchView) suggestStatus() string {
	if v.Query.Term == "" {
		return ""
	}
	r := v.Results
	if r.Count() == 0 {
		return "No suggestions."
	}
	var parts []string
	if len(r.Repos) > 0 {
		parts = append(parts, plural(len(r.Repos), "repository", "repositories"))
	}
	if len(r.Charts) > 0 {
		parts = append(parts, plural(len(r.Charts), "chart", "charts"))
	}
	if len(r.Images) > 0 {
		parts = append(parts, plural(len(r.Images), "image", "images"))
	}
	return plural(r.Count(), "suggestion", "suggestions") + ": " + strings.Join(parts, ", ") + "."
}

// hlPart is a piece of a highlighted string: the text and whether it matched the search.
type hlPart struct {
	Text  string
	Match bool
}

// highlight splits s around the case-insensitive occurrences of the needles, so that the
// template can mark them while still escaping every piece.
func highlight(s string, needles ...string) []hlPart {
	lower := strings.ToLower(s)
	if len(lower) != len(s) { // a case change altered byte lengths: offsets would not line up
		lower = s
	}
	var ns []string
	for _, n := range needles {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			ns = append(ns, n)
		}
	}
	var out []hlPart
	start, i := 0, 0
	for i < len(s) {
		best := 0
		for _, n := range ns {
			if len(n) > best && strings.HasPrefix(lower[i:], n) {
				best = len(n)
			}
		}
		if best == 0 {
			i++
			continue
		}
		if i > start {
			out = append(out, hlPart{Text: s[start:i]})
		}
		out = append(out, hlPart{Text: s[i : i+best], Match: true})
		i += best
		start = i
	}
	if start < len(s) {
		out = append(out, hlPart{Text: s[start:]})
	}
	return out
}

// termWords are the words of the term, which the repository search matches as prefixes.
func (v SearchView) termWords() []string { return strings.Fields(v.Query.Term) }

package store

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search scopes: which sections a query looks in. ScopeAll searches every section.
const (
	ScopeAll    = ""
	ScopeRepos  = "repos"
	ScopeCharts = "charts"
	ScopeImages = "images"
)

// searchPrefixes are the words that, written first, narrow a search to one section
// ("image nginx", "helm cert-manager", "repo home-ops").
var searchPrefixes = map[string]string{
	"repo": ScopeRepos, "repos": ScopeRepos, "repository": ScopeRepos, "repositories": ScopeRepos,
	"chart": ScopeCharts, "charts": ScopeCharts, "helm": ScopeCharts,
	"image": ScopeImages, "images": ScopeImages,
}

// maxSearchTerm bounds the term: nothing real is longer, and LIKE cost grows with it.
const maxSearchTerm = 200

// SearchQuery is a parsed search: the section it is limited to and the text to find.
type SearchQuery struct {
	Scope string // one of the Scope constants
	Term  string
}

// In reports whether the query searches the given section.
func (q SearchQuery) In(scope string) bool { return q.Scope == ScopeAll || q.Scope == scope }

// ParseSearch reads a prefix word (see searchPrefixes) and the text after it. A prefix
// only counts when text follows it, so a search for the word "helm" alone still finds it.
func ParseSearch(input string) SearchQuery {
	input = strings.TrimSpace(input)
	q := SearchQuery{Term: input}
	if i := strings.IndexFunc(input, unicode.IsSpace); i > 0 {
		if scope, ok := searchPrefixes[strings.ToLower(input[:i])]; ok {
			q = SearchQuery{Scope: scope, Term: strings.TrimSpace(input[i:])}
		}
	}
	if len(q.Term) > maxSearchTerm {
		q.Term = q.Term[:maxSearchTerm]
		for !utf8.ValidString(q.Term) { // do not cut a character in half
			q.Term = q.Term[:len(q.Term)-1]
		}
	}
	return q
}

// RepoHit is a repository found by search: just what a result line shows.
type RepoHit struct {
	Owner       string
	Name        string
	Description string
	Stars       int
	Blocked     bool // only superusers are shown blocked repositories
}

// FullName is owner/name.
func (r RepoHit) FullName() string { return r.Owner + "/" + r.Name }

// ChartHit is a chart name found by search with the live repositories using it.
type ChartHit struct {
	Chart string
	Repos int
}

// ImageHit is an image found by search with its live totals.
type ImageHit struct {
	Registry   string
	Repository string
	Repos      int
	Usages     int
}

// Name is registry/repository.
func (m ImageHit) Name() string { return m.Registry + "/" + m.Repository }

// SearchOptions bound a search.
type SearchOptions struct {
	Limit          int  // per section; 1..50, default 10
	IncludeBlocked bool // superusers also find blocked repositories (deleted ones never)
	Totals         bool // count every repository match, not only those returned (one more query)
}

// SearchResults are the hits per section, each with how many matched in all (for
// repositories only with SearchOptions.Totals; else the number returned).
type SearchResults struct {
	Query       SearchQuery
	Repos       []RepoHit
	ReposTotal  int
	Charts      []ChartHit
	ChartsTotal int
	Images      []ImageHit
	ImagesTotal int
}

// Count is the number of hits returned over all sections.
func (r SearchResults) Count() int { return len(r.Repos) + len(r.Charts) + len(r.Images) }

// Search looks in each section the query covers: an indexed query for repositories (two with
// opts.Totals), one over the per-image totals and one over the per-chart totals.
func (s *Store) Search(ctx context.Context, q SearchQuery, opts SearchOptions) (SearchResults, error) {
	res := SearchResults{Query: q}
	if strings.TrimSpace(q.Term) == "" {
		return res, nil
	}
	var err error
	if q.In(ScopeRepos) {
		if res.Repos, res.ReposTotal, err = s.SearchRepositories(ctx, q.Term, opts); err != nil {
			return SearchResults{}, err
		}
	}
	if q.In(ScopeCharts) {
		if res.Charts, res.ChartsTotal, err = s.SearchCharts(ctx, q.Term, opts.Limit); err != nil {
			return SearchResults{}, err
		}
	}
	if q.In(ScopeImages) {
		if res.Images, res.ImagesTotal, err = s.SearchImages(ctx, q.Term, opts.Limit); err != nil {
			return SearchResults{}, err
		}
	}
	return res, nil
}

func searchLimit(n int) int {
	if n <= 0 {
		return 10
	}
	return min(n, 50)
}

// SearchRepositories finds repositories with the same full-text match as the repositories
// list (every word a prefix of a word in name, description or topics), most stars first,
// and with opts.Totals how many matched. Deleted repositories never match; blocked ones only
// with opts.IncludeBlocked.
func (s *Store) SearchRepositories(ctx context.Context, term string, opts SearchOptions) ([]RepoHit, int, error) {
	match := ftsQuery(term)
	if match == "" {
		return nil, 0, nil
	}
	cond, hidden := "r.deleted_at IS NULL AND r.blocked_at IS NULL", hiddenRepos
	if opts.IncludeBlocked {
		cond, hidden = "r.deleted_at IS NULL", "SELECT id FROM repositories WHERE deleted_at IS NOT NULL"
	}
	// The match set goes into an IN list and the stars index is walked until enough rows are
	// in it ("+" keeps the planner from looking each match up by id and sorting them all):
	// a common word matches thousands of repositories, of which we need the top few.
	rows, err := s.query(ctx, `
		SELECT r.owner, r.name, r.description, r.stars, r.blocked_at IS NOT NULL FROM repositories r
		WHERE +r.id IN (SELECT rowid FROM repositories_fts WHERE repositories_fts MATCH ?) AND `+cond+`
		ORDER BY r.stars DESC, r.id LIMIT ?`, match, searchLimit(opts.Limit))
	if err != nil {
		return nil, 0, fmt.Errorf("store: search repositories: %w", err)
	}
	defer rows.Close()
	var out []RepoHit
	for rows.Next() {
		var h RepoHit
		if err := rows.Scan(&h.Owner, &h.Name, &h.Description, &h.Stars, &h.Blocked); err != nil {
			return nil, 0, fmt.Errorf("store: search repositories: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: search repositories: %w", err)
	}
	total := len(out)
	if opts.Totals && total == searchLimit(opts.Limit) {
		// Counted from the FTS index alone: the hidden repositories are few.
		err := s.queryRow(ctx, `SELECT count(*) FROM repositories_fts
			WHERE repositories_fts MATCH ? AND rowid NOT IN (`+hidden+`)`, match).Scan(&total)
		if err != nil {
			return nil, 0, fmt.Errorf("store: count repository matches: %w", err)
		}
	}
	return out, total, nil
}

// SearchCharts finds charts whose name contains term, ignoring case, most used first, from the
// per-chart totals kept on the write path (live repositories only).
func (s *Store) SearchCharts(ctx context.Context, term string, limit int) ([]ChartHit, int, error) {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil, 0, nil
	}
	rows, err := s.query(ctx, `
		SELECT chart, repos, count(*) OVER () FROM chart_stats
		WHERE chart LIKE ? ESCAPE '\' AND repos > 0
		ORDER BY repos DESC, chart LIMIT ?`, likeContains(term), searchLimit(limit))
	if err != nil {
		return nil, 0, fmt.Errorf("store: search charts: %w", err)
	}
	defer rows.Close()
	var out []ChartHit
	total := 0
	for rows.Next() {
		var h ChartHit
		if err := rows.Scan(&h.Chart, &h.Repos, &total); err != nil {
			return nil, 0, fmt.Errorf("store: search charts: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: search charts: %w", err)
	}
	return out, total, nil
}

// SearchImages finds images whose registry/repository contains term, most used first,
// from the precomputed per-image totals (live repositories only, a few thousand rows).
func (s *Store) SearchImages(ctx context.Context, term string, limit int) ([]ImageHit, int, error) {
	rows, err := s.query(ctx, `
		SELECT registry, repository, repos, usages, count(*) OVER () FROM image_stats
		WHERE (registry || '/' || repository) LIKE ? ESCAPE '\' AND repos > 0
		ORDER BY repos DESC, usages DESC, registry, repository LIMIT ?`, likeContains(term), searchLimit(limit))
	if err != nil {
		return nil, 0, fmt.Errorf("store: search images: %w", err)
	}
	defer rows.Close()
	var out []ImageHit
	total := 0
	for rows.Next() {
		var h ImageHit
		if err := rows.Scan(&h.Registry, &h.Repository, &h.Repos, &h.Usages, &total); err != nil {
			return nil, 0, fmt.Errorf("store: search images: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: search images: %w", err)
	}
	return out, total, nil
}

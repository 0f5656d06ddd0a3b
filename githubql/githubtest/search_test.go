package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSearchReturnsGitHubShapes(t *testing.T) {
	clock := NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := New(t, WithNow(clock.Now))
	full := Repo{
		DatabaseID: 123456789, Owner: "onedr0p", Name: "home-ops", OwnerIsOrg: false,
		Description: "Wife approved HomeOps", HomepageURL: "https://onedr0p.github.io", Language: "Shell",
		LicenseSPDX: "WTFPL", Topics: []string{"k8s-at-home", "kubernetes", "flux"},
		DefaultBranch: "main", HeadOID: strings.Repeat("ab", 20), HeadCommittedAt: date("2026-02-27"),
		CreatedAt: date("2020-05-01"), PushedAt: date("2026-02-27"), UpdatedAt: date("2026-02-28"),
		DiskUsageKB: 4242, Stars: 2500, Forks: 250, Watchers: 40, OpenIssues: 3,
	}
	empty := Repo{Owner: "someone", Name: "empty", Topics: []string{"k8s-at-home"}, CreatedAt: date("2021-01-01")}
	s.AddRepos(full, empty)

	var d searchData
	query(t, s, searchQuery, map[string]any{"q": "topic:k8s-at-home", "first": 10, "after": nil}, &d)
	if d.Search.RepositoryCount != 2 || len(d.Search.Nodes) != 2 {
		t.Fatalf("got count %d and %d nodes, want 2 and 2", d.Search.RepositoryCount, len(d.Search.Nodes))
	}
	got := d.Search.Nodes[0]
	if got.ID != "R_kgDOB1vNFQ" {
		t.Errorf("got id %q, want R_kgDOB1vNFQ (msgpack of databaseId 123456789)", got.ID)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"databaseId", *got.DatabaseID, int64(123456789)},
		{"nameWithOwner", got.NameWithOwner, "onedr0p/home-ops"},
		{"owner", got.Owner.Login, "onedr0p"},
		{"url", got.URL, "https://github.com/onedr0p/home-ops"},
		{"homepageUrl", *got.HomepageURL, "https://onedr0p.github.io"},
		{"language", got.PrimaryLang.Name, "Shell"},
		{"topics", got.Topics.TotalCount, 3},
		{"topic 1", got.Topics.Nodes[1].Topic.Name, "kubernetes"},
		{"license spdx", *got.LicenseInfo.SpdxID, "WTFPL"},
		{"license key", got.LicenseInfo.Key, "wtfpl"},
		{"license name", got.LicenseInfo.Name, "Do What The F*ck You Want To Public License"},
		{"branch", got.DefaultBranchRef.Name, "main"},
		{"oid", got.DefaultBranchRef.Target.Oid, strings.Repeat("ab", 20)},
		{"committedDate", got.DefaultBranchRef.Target.CommittedDate, "2026-02-27T00:00:00Z"},
		{"createdAt", got.CreatedAt, "2020-05-01T00:00:00Z"},
		{"pushedAt", *got.PushedAt, "2026-02-27T00:00:00Z"},
		{"diskUsage", *got.DiskUsage, 4242},
		{"stars", got.StargazerCount, 2500},
		{"forks", got.ForkCount, 250},
		{"watchers", got.Watchers.TotalCount, 40},
		{"issues", got.Issues.TotalCount, 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	e := d.Search.Nodes[1]
	if e.DefaultBranchRef != nil || e.LicenseInfo != nil || e.PrimaryLang != nil || e.Description != nil || e.PushedAt != nil || e.DiskUsage != nil {
		t.Errorf("empty repo: got %+v, want null defaultBranchRef, licenseInfo, primaryLanguage, description, pushedAt, diskUsage", e)
	}
	if d.RateLimit.Cost != 1 || d.RateLimit.Limit != 5000 || d.RateLimit.Remaining != 4999 || d.RateLimit.Used != 1 {
		t.Errorf("got rateLimit %+v, want cost 1, limit 5000, remaining 4999, used 1", d.RateLimit)
	}
	if want := clock.Now().Add(time.Hour); !d.RateLimit.ResetAt.Equal(want) {
		t.Errorf("got resetAt %v, want %v", d.RateLimit.ResetAt, want)
	}
	if d.RateLimit.NodeCount != 10+10*20 {
		t.Errorf("got nodeCount %d, want %d (search first 10, topics first 20 each)", d.RateLimit.NodeCount, 10+10*20)
	}
}

// searchAll pages through one query with first 100, returning node ids in order and the reported count.
func searchAll(t *testing.T, s *Server, q string) (ids []string, count int) {
	t.Helper()
	var after any
	for page := 0; ; page++ {
		if page > 30 {
			t.Fatalf("%q: more than 30 pages", q)
		}
		var d searchData
		query(t, s, searchQuery, map[string]any{"q": q, "first": 100, "after": after}, &d)
		count = d.Search.RepositoryCount
		for _, n := range d.Search.Nodes {
			ids = append(ids, n.ID)
		}
		if !d.Search.PageInfo.HasNextPage {
			return ids, count
		}
		if d.Search.PageInfo.EndCursor == nil {
			t.Fatalf("%q: hasNextPage without endCursor", q)
		}
		after = *d.Search.PageInfo.EndCursor
	}
}

func countOnly(t *testing.T, s *Server, q string) int {
	t.Helper()
	var d struct{ Search struct{ RepositoryCount int } }
	query(t, s, `query($q: String!) { search(query: $q, type: REPOSITORY, first: 1) { repositoryCount } }`, map[string]any{"q": q}, &d)
	return d.Search.RepositoryCount
}

func TestSearchDateSplittingFindsEveryRepoOnce(t *testing.T) {
	s := New(t)
	repos := GenerateRepos(2500, "k8s-at-home", epoch, 1)
	s.AddRepos(repos...)
	// Noise that the topic qualifier must keep out.
	s.AddRepos(GenerateRepos(50, "kubesearch", epoch, 2)...)

	seen := map[string]int{}
	queries := 0
	var split func(from, to time.Time)
	split = func(from, to time.Time) { // [from, to)
		q := fmt.Sprintf("topic:k8s-at-home fork:true created:%s..%s", from.Format(time.RFC3339), to.Add(-time.Second).Format(time.RFC3339))
		queries++
		if n := countOnly(t, s, q); n > searchCap {
			mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
			split(from, mid)
			split(mid, to)
			return
		}
		ids, _ := searchAll(t, s, q)
		for _, id := range ids {
			seen[id]++
		}
	}
	split(epoch, epoch.AddDate(7, 0, 0))
	if queries < 3 {
		t.Errorf("got %d queries, want the range split at least once", queries)
	}
	for _, r := range repos {
		if seen[r.ID] != 1 {
			t.Errorf("%s (%s, created %s): seen %d times, want 1", r.ID, r.NameWithOwner(), r.CreatedAt, seen[r.ID])
		}
	}
	if len(seen) != len(repos) {
		t.Errorf("got %d distinct repos, want %d", len(seen), len(repos))
	}
}

func TestSearchStopsAt1000Results(t *testing.T) {
	s := New(t)
	s.AddRepos(GenerateRepos(2500, "k8s-at-home", epoch, 1)...)

	ids, count := searchAll(t, s, "topic:k8s-at-home fork:true")
	if count != 2500 {
		t.Errorf("got repositoryCount %d, want 2500", count)
	}
	if len(ids) != searchCap {
		t.Errorf("got %d results, want %d", len(ids), searchCap)
	}
	if len(ids) != len(slices.Compact(slices.Clone(ids))) {
		t.Error("results repeat across pages")
	}

	// A cursor past the cap reaches nothing, as on GitHub.
	var d searchData
	query(t, s, searchQuery, map[string]any{"q": "topic:k8s-at-home fork:true", "first": 100, "after": encodeCursor(1000)}, &d)
	if len(d.Search.Nodes) != 0 || d.Search.PageInfo.HasNextPage || d.Search.RepositoryCount != 2500 {
		t.Errorf("after cursor 1000: got %d nodes, hasNextPage %v, count %d; want 0, false, 2500",
			len(d.Search.Nodes), d.Search.PageInfo.HasNextPage, d.Search.RepositoryCount)
	}
	query(t, s, searchQuery, map[string]any{"q": "topic:k8s-at-home fork:true", "first": 100, "after": encodeCursor(950)}, &d)
	if len(d.Search.Nodes) != 50 || d.Search.PageInfo.HasNextPage {
		t.Errorf("after cursor 950: got %d nodes, hasNextPage %v; want 50, false", len(d.Search.Nodes), d.Search.PageInfo.HasNextPage)
	}
}

func TestSearchQualifiers(t *testing.T) {
	s := New(t)
	mk := func(name string, created string, topics ...string) Repo {
		return Repo{Owner: "o", Name: name, Topics: topics, DefaultBranch: "main", CreatedAt: date(created), Stars: len(name)}
	}
	plain := mk("plain", "2020-01-10", "k8s-at-home")
	both := mk("both", "2020-06-15", "k8s-at-home", "kubesearch")
	fork := mk("fork", "2021-02-01", "k8s-at-home")
	fork.IsFork = true
	archived := mk("archived", "2021-03-01", "k8s-at-home", "kubesearch")
	archived.IsArchived = true
	private := mk("private", "2022-01-01", "k8s-at-home")
	private.IsPrivate = true
	late := mk("late", "2022-06-30", "kubesearch")
	late.CreatedAt = time.Date(2022, 6, 30, 23, 59, 59, 0, time.UTC)
	late.Stars = 6
	s.AddRepos(plain, both, fork, archived, private, late)

	cases := []struct {
		q    string
		want []string
	}{
		{"topic:k8s-at-home", []string{"plain", "both", "archived", "private"}}, // forks excluded by default
		{"topic:k8s-at-home fork:true", []string{"plain", "both", "fork", "archived", "private"}},
		{"topic:k8s-at-home fork:only", []string{"fork"}},
		{"topic:k8s-at-home fork:false", []string{"plain", "both", "archived", "private"}},
		{"topic:k8s-at-home topic:kubesearch", []string{"both", "archived"}},
		{"TOPIC:Kubesearch", []string{"both", "archived", "late"}},
		{"topic:k8s-at-home archived:false", []string{"plain", "both", "private"}},
		{"topic:k8s-at-home archived:true", []string{"archived"}},
		{"topic:k8s-at-home is:public", []string{"plain", "both", "archived"}},
		{"topic:nope", nil},
		{"created:2020-01-01..2020-12-31", []string{"plain", "both"}},
		{"created:2020-01-10..2020-01-10", []string{"plain"}},
		{"created:>=2021-03-01 fork:true", []string{"archived", "private", "late"}},
		{"created:>2021-03-01", []string{"private", "late"}},
		{"created:<=2020-06-15", []string{"plain", "both"}},
		{"created:<2020-06-15", []string{"plain"}},
		{"created:2022-06-30", []string{"late"}},
		{"created:2022-06-30T00:00:00Z..2022-06-30T23:59:58Z", nil},
		{"created:2022-06-30T23:59:59Z..2022-07-01T00:00:00Z", []string{"late"}},
		{"created:2022-07-01T01:59:59+02:00..*", []string{"late"}},
		{"created:*..2020-01-10", []string{"plain"}},
		{"created:not-a-date", nil},
		{"topic:kubesearch stars:>4", []string{"archived", "late"}},
		{"topic:kubesearch stars:4..6", []string{"both", "late"}},
		{"topic:kubesearch sort:stars-desc", []string{"archived", "late", "both"}},
		{"topic:k8s-at-home sort:created-asc madeup:qualifier", []string{"plain", "both", "archived", "private"}},
		{"topic:k8s-at-home sort:created-desc", []string{"private", "archived", "both", "plain"}},
		{"plain", []string{"plain"}},
		{"user:o repo:o/both", []string{"both"}},
	}
	for _, c := range cases {
		var d searchData
		query(t, s, searchQuery, map[string]any{"q": c.q, "first": 100}, &d)
		var got []string
		for _, n := range d.Search.Nodes {
			got = append(got, n.Name)
		}
		if !slices.Equal(got, c.want) || d.Search.RepositoryCount != len(c.want) {
			t.Errorf("%q: got %v (count %d), want %v", c.q, got, d.Search.RepositoryCount, c.want)
		}
	}
}

func TestSearchRejectsBadPagination(t *testing.T) {
	s := New(t)
	s.AddRepos(GenerateRepos(5, "k8s-at-home", epoch, 3)...)
	cases := []struct {
		name     string
		query    string
		vars     map[string]any
		wantType string
		wantMsg  string
	}{
		{"first 101", searchQuery, map[string]any{"q": "x", "first": 101}, "EXCESSIVE_PAGINATION", "exceeds the `first` limit of 100 records"},
		{"first 0", searchQuery, map[string]any{"q": "x", "first": 0}, "INVALID_PAGINATION", "`first` on the `search` connection must be between 1 and 100"},
		{"no first", `{ search(query: "x", type: REPOSITORY) { nodes { ... on Repository { id } } } }`, nil, "MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value"},
		{"bad cursor", searchQuery, map[string]any{"q": "x", "first": 10, "after": "garbage"}, "INVALID_CURSOR_ARGUMENTS", "does not appear to be a valid cursor"},
		{"topics first 101", `{ search(query: "topic:k8s-at-home", type: REPOSITORY, first: 5) { nodes { ... on Repository { repositoryTopics(first: 101) { nodes { topic { name } } } } } } }`, nil, "EXCESSIVE_PAGINATION", "`repositoryTopics` connection"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := post(t, s.GraphQLURL(), s.Token(), c.query, c.vars)
			if a.Status != http.StatusOK || len(a.Errors) != 1 {
				t.Fatalf("got status %d, errors %+v; want 200 with one error", a.Status, a.Errors)
			}
			if e := a.Errors[0]; e.Type != c.wantType || !strings.Contains(e.Message, c.wantMsg) {
				t.Errorf("got error %+v, want type %s and message containing %q", e, c.wantType, c.wantMsg)
			}
			if string(a.Data) != "null" {
				t.Errorf("got data %s, want null", a.Data)
			}
		})
	}
	// Counting without nodes needs no bounds, as on GitHub.
	if n := countOnly(t, s, "topic:k8s-at-home fork:true"); n != 5 {
		t.Errorf("got count %d, want 5", n)
	}
}

func TestUnknownFieldIsRejected(t *testing.T) {
	s := New(t)
	a := post(t, s.GraphQLURL(), s.Token(), `{ search(query: "x", type: REPOSITORY, first: 1) { nodes { ... on Repository { stars } } } }`, nil)
	if a.Status != http.StatusOK || len(a.Errors) != 1 || a.Data != nil {
		t.Fatalf("got status %d, data %s, errors %+v; want 200, no data, one error", a.Status, a.Data, a.Errors)
	}
	e := a.Errors[0]
	if e.Message != "Field 'stars' doesn't exist on type 'Repository'" || e.Ext["code"] != "undefinedField" {
		t.Errorf("got %+v, want GitHub's undefinedField error", e)
	}
	// Validation errors cost nothing.
	if _, remaining, _, _ := s.RateLimitState(); remaining != 5000 {
		t.Errorf("got remaining %d, want 5000", remaining)
	}
	// The enum is GitHub's: a wrong value is a validation error too.
	a = post(t, s.GraphQLURL(), s.Token(), `{ search(query: "x", type: REPOS, first: 1) { repositoryCount } }`, nil)
	if len(a.Errors) == 0 {
		t.Errorf("type: REPOS: got no error, data %s", a.Data)
	}
}

func TestRepositoryAndNodeFields(t *testing.T) {
	s := New(t)
	s.AddRepos(Repo{Owner: "Org", Name: "Repo", OwnerIsOrg: true, DefaultBranch: "main", Topics: []string{"a", "b", "c"}})
	id := s.Repos()[0].ID
	var d struct {
		Repository struct {
			ID    string
			Owner struct {
				Typename string `json:"__typename"`
				Login    string
			}
			RepositoryTopics struct {
				Edges []struct {
					Cursor string
					Node   struct{ Topic struct{ Name string } }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		Node struct {
			Typename string `json:"__typename"`
			ID       string
		}
	}
	query(t, s, `query($id: ID!) {
  repository(owner: "org", name: "repo") { id owner { __typename login } repositoryTopics(first: 2) { edges { cursor node { topic { name } } } pageInfo { hasNextPage endCursor } } }
  node(id: $id) { __typename id }
}`, map[string]any{"id": id}, &d)
	if d.Repository.ID != id || d.Node.ID != id || d.Node.Typename != "Repository" {
		t.Errorf("got repository %s and node %+v, want id %s", d.Repository.ID, d.Node, id)
	}
	if d.Repository.Owner.Typename != "Organization" || d.Repository.Owner.Login != "Org" {
		t.Errorf("got owner %+v, want Organization Org", d.Repository.Owner)
	}
	tp := d.Repository.RepositoryTopics
	if len(tp.Edges) != 2 || tp.Edges[1].Node.Topic.Name != "b" || !tp.PageInfo.HasNextPage || tp.PageInfo.EndCursor != tp.Edges[1].Cursor {
		b, _ := json.Marshal(tp)
		t.Errorf("got topics %s, want a, b and a next page", b)
	}
}

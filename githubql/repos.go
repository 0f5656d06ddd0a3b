package githubql

import (
	"context"
	"fmt"
	"time"

	"github.com/shurcooL/githubv4"
)

// Repo is what Kubestats reads about a repository in one query.
type Repo struct {
	ID              string
	DatabaseID      int64
	Owner           string
	Name            string
	Description     string
	URL             string
	Homepage        string
	Language        string
	Topics          []string
	License         string
	DefaultBranch   string
	IsArchived      bool
	IsFork          bool
	IsPrivate       bool
	CreatedAt       time.Time
	PushedAt        *time.Time
	UpdatedAt       time.Time
	DiskUsageKB     int
	Stars           int
	Forks           int
	Watchers        int
	OpenIssues      int
	HeadOID         string // "" for an empty repository
	HeadCommittedAt *time.Time
}

// repoFields is the selection set, shared by search and nodes(ids:).
type repoFields struct {
	ID              githubv4.ID
	DatabaseID      *int64 `graphql:"databaseId"`
	Name            string
	Owner           struct{ Login string }
	Description     *string
	URL             string  `graphql:"url"`
	HomepageURL     *string `graphql:"homepageUrl"`
	PrimaryLanguage *struct{ Name string }
	// 20 is GitHub's own maximum number of topics per repository.
	RepositoryTopics struct {
		Nodes []struct{ Topic struct{ Name string } }
	} `graphql:"repositoryTopics(first: 20)"`
	LicenseInfo *struct {
		SpdxID *string `graphql:"spdxId"`
	}
	DefaultBranchRef *struct {
		Name   string
		Target *struct {
			Commit struct {
				Oid           githubv4.GitObjectID
				CommittedDate githubv4.DateTime
			} `graphql:"... on Commit"`
		}
	}
	IsArchived     bool
	IsFork         bool
	IsPrivate      bool
	CreatedAt      githubv4.DateTime
	PushedAt       *githubv4.DateTime
	UpdatedAt      githubv4.DateTime
	DiskUsage      *int
	StargazerCount int
	ForkCount      int
	Watchers       struct{ TotalCount int }
	Issues         struct{ TotalCount int } `graphql:"issues(states: OPEN)"`
}

func (f repoFields) repo() Repo {
	r := Repo{
		ID: fmt.Sprint(f.ID), Name: f.Name, Owner: f.Owner.Login, URL: f.URL,
		IsArchived: f.IsArchived, IsFork: f.IsFork, IsPrivate: f.IsPrivate,
		CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC(),
		Stars: f.StargazerCount, Forks: f.ForkCount, Watchers: f.Watchers.TotalCount, OpenIssues: f.Issues.TotalCount,
	}
	if f.DatabaseID != nil {
		r.DatabaseID = *f.DatabaseID
	}
	if f.Description != nil {
		r.Description = *f.Description
	}
	if f.HomepageURL != nil {
		r.Homepage = *f.HomepageURL
	}
	if f.PrimaryLanguage != nil {
		r.Language = f.PrimaryLanguage.Name
	}
	for _, n := range f.RepositoryTopics.Nodes {
		r.Topics = append(r.Topics, n.Topic.Name)
	}
	if f.LicenseInfo != nil && f.LicenseInfo.SpdxID != nil {
		r.License = *f.LicenseInfo.SpdxID
	}
	if b := f.DefaultBranchRef; b != nil {
		r.DefaultBranch = b.Name
		if b.Target != nil && b.Target.Commit.Oid != "" {
			r.HeadOID = string(b.Target.Commit.Oid)
			t := b.Target.Commit.CommittedDate.UTC()
			r.HeadCommittedAt = &t
		}
	}
	if f.PushedAt != nil {
		t := f.PushedAt.UTC()
		r.PushedAt = &t
	}
	if f.DiskUsage != nil {
		r.DiskUsageKB = *f.DiskUsage
	}
	return r
}

// SearchPage is one page of repository search results.
type SearchPage struct {
	Total     int // repositoryCount: may exceed the 1,000 results GitHub lets one query reach
	Repos     []Repo
	HasNext   bool
	EndCursor string
}

// SearchPerPage is GitHub's maximum page size.
const SearchPerPage = 100

// SearchRepositories returns one page of `search(type: REPOSITORY)` for query.
func (c *Client) SearchRepositories(ctx context.Context, query, after string) (SearchPage, error) {
	var q struct {
		Search struct {
			RepositoryCount int
			PageInfo        struct {
				HasNextPage bool
				EndCursor   *string
			}
			Nodes []struct {
				Repository repoFields `graphql:"... on Repository"`
			}
		} `graphql:"search(query: $q, type: REPOSITORY, first: $first, after: $after)"`
		RateLimit rateLimitFields
	}
	var cursor *githubv4.String
	if after != "" {
		cursor = githubv4.NewString(githubv4.String(after))
	}
	vars := map[string]any{"q": githubv4.String(query), "first": githubv4.Int(SearchPerPage), "after": cursor}
	if _, err := c.query(ctx, &q, vars, &q.RateLimit); err != nil {
		return SearchPage{}, fmt.Errorf("search %q: %w", query, err)
	}
	p := SearchPage{Total: q.Search.RepositoryCount, HasNext: q.Search.PageInfo.HasNextPage}
	if q.Search.PageInfo.EndCursor != nil {
		p.EndCursor = *q.Search.PageInfo.EndCursor
	}
	for _, n := range q.Search.Nodes {
		if n.Repository.ID != nil {
			p.Repos = append(p.Repos, n.Repository.repo())
		}
	}
	return p, nil
}

// MaxNodes is GitHub's limit of ids per nodes(ids:) query.
const MaxNodes = 100

// RepositoriesByID reads up to MaxNodes repositories by node id. Ids GitHub no longer
// resolves (deleted, made private, blocked) come back in missing; the rest are found.
func (c *Client) RepositoriesByID(ctx context.Context, ids []string) (found []Repo, missing []string, err error) {
	if len(ids) > MaxNodes {
		return nil, nil, fmt.Errorf("githubql: %d ids in one nodes query, the limit is %d", len(ids), MaxNodes)
	}
	var q struct {
		Nodes []struct {
			Repository repoFields `graphql:"... on Repository"`
		} `graphql:"nodes(ids: $ids)"`
		RateLimit rateLimitFields
	}
	gids := make([]githubv4.ID, len(ids))
	for i, id := range ids {
		gids[i] = githubv4.ID(id)
	}
	if _, err := c.query(ctx, &q, map[string]any{"ids": gids}, &q.RateLimit); err != nil {
		return nil, nil, fmt.Errorf("nodes: %w", err)
	}
	got := map[string]bool{}
	for _, n := range q.Nodes {
		if n.Repository.ID == nil {
			continue
		}
		r := n.Repository.repo()
		got[r.ID] = true
		if r.IsPrivate {
			continue // visible to this token but not public: treat as gone
		}
		found = append(found, r)
	}
	for _, id := range ids {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	for _, r := range q.Nodes {
		if r.Repository.ID != nil && r.Repository.IsPrivate {
			missing = append(missing, fmt.Sprint(r.Repository.ID))
		}
	}
	return found, missing, nil
}

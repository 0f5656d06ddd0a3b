package githubtest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shurcooL/githubv4"
)

// v4Repo is the client's repository selection as githubv4 structs.
type v4Repo struct {
	ID               githubv4.ID
	DatabaseID       int64 `graphql:"databaseId"`
	Name             string
	NameWithOwner    string
	Owner            struct{ Login string }
	Description      *string
	URL              githubv4.URI
	HomepageURL      *githubv4.URI `graphql:"homepageUrl"`
	PrimaryLanguage  *struct{ Name string }
	RepositoryTopics struct {
		TotalCount int
		Nodes      []struct{ Topic struct{ Name string } }
	} `graphql:"repositoryTopics(first: 20)"`
	LicenseInfo *struct {
		SpdxID *string `graphql:"spdxId"`
		Name   string
		Key    string
	}
	DefaultBranchRef *struct {
		Name   string
		Target struct {
			Oid    githubv4.GitObjectID
			Commit struct {
				Oid           githubv4.GitObjectID
				CommittedDate githubv4.DateTime
			} `graphql:"... on Commit"`
		}
	}
	IsArchived, IsFork, IsPrivate, IsDisabled, IsLocked, IsMirror, IsTemplate bool
	CreatedAt                                                                 githubv4.DateTime
	PushedAt                                                                  *githubv4.DateTime
	UpdatedAt                                                                 githubv4.DateTime
	DiskUsage                                                                 *int
	StargazerCount, ForkCount                                                 int
	Watchers                                                                  struct{ TotalCount int }
	Issues                                                                    struct{ TotalCount int } `graphql:"issues(states: OPEN)"`
}

type v4RateLimit struct {
	Cost, Limit, Remaining, Used int
	ResetAt                      githubv4.DateTime
}

func TestGithubv4StructQueriesWork(t *testing.T) {
	s := New(t)
	repos := GenerateRepos(150, "k8s-at-home", epoch, 7)
	s.AddRepos(repos...)
	hc := &http.Client{Transport: authTransport{s.Token()}}
	gh := githubv4.NewEnterpriseClient(s.GraphQLURL(), hc)
	ctx := context.Background()

	var ids []githubv4.ID
	vars := map[string]any{
		"q":     githubv4.String("topic:k8s-at-home fork:true created:2018-01-01..2030-12-31"),
		"first": githubv4.Int(100),
		"after": (*githubv4.String)(nil),
	}
	for {
		var q struct {
			Search struct {
				RepositoryCount int
				PageInfo        struct {
					HasNextPage bool
					EndCursor   githubv4.String
				}
				Nodes []struct {
					Repository v4Repo `graphql:"... on Repository"`
				}
			} `graphql:"search(query: $q, type: REPOSITORY, first: $first, after: $after)"`
			RateLimit struct {
				v4RateLimit
				NodeCount int
			}
		}
		if err := gh.Query(ctx, &q, vars); err != nil {
			t.Fatalf("search: %v", err)
		}
		if q.Search.RepositoryCount != 150 {
			t.Errorf("got repositoryCount %d, want 150", q.Search.RepositoryCount)
		}
		for _, n := range q.Search.Nodes {
			ids = append(ids, n.Repository.ID)
		}
		if !q.Search.PageInfo.HasNextPage {
			break
		}
		vars["after"] = githubv4.NewString(q.Search.PageInfo.EndCursor)
	}
	if len(ids) != 150 {
		t.Fatalf("got %d repos, want 150", len(ids))
	}

	s.RemoveRepo(ids[1].(string))
	var n struct {
		Nodes []struct {
			Repository v4Repo `graphql:"... on Repository"`
		} `graphql:"nodes(ids: $ids)"`
		RateLimit v4RateLimit
	}
	err := gh.Query(ctx, &n, map[string]any{"ids": ids[:3]})
	if err == nil || !strings.Contains(err.Error(), "Could not resolve to a node") {
		t.Fatalf("got error %v, want NOT_FOUND's message", err)
	}
	// githubv4 still decodes the partial data; the missing node is a zero struct.
	if len(n.Nodes) != 3 || n.Nodes[0].Repository.ID != ids[0] || n.Nodes[1].Repository.ID != nil || n.Nodes[2].Repository.ID != ids[2] {
		t.Errorf("got nodes %+v, want [repo, zero, repo]", n.Nodes)
	}
	r := n.Nodes[0].Repository
	want := repos[0]
	if r.NameWithOwner != want.NameWithOwner() || r.DefaultBranchRef == nil || string(r.DefaultBranchRef.Target.Commit.Oid) != want.HeadOID ||
		!r.DefaultBranchRef.Target.Commit.CommittedDate.Equal(want.HeadCommittedAt) || r.RepositoryTopics.TotalCount != len(want.Topics) ||
		r.StargazerCount != want.Stars || r.Issues.TotalCount != want.OpenIssues || !r.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("got %+v, want the fields of %+v", r, want)
	}
	if n.RateLimit.Remaining != 5000-3 {
		t.Errorf("got remaining %d, want %d", n.RateLimit.Remaining, 5000-3)
	}
}

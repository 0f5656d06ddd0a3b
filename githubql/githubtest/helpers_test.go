package githubtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// repoFields is the selection the client makes on each repository (githubv4 inlines it).
const repoFields = `
id databaseId name nameWithOwner owner { login } description url homepageUrl
primaryLanguage { name } repositoryTopics(first: 20) { totalCount nodes { topic { name } } }
licenseInfo { spdxId name key } defaultBranchRef { name target { oid ... on Commit { oid committedDate } } }
isArchived isFork isPrivate isDisabled isLocked isMirror isTemplate createdAt pushedAt updatedAt diskUsage
stargazerCount forkCount watchers { totalCount } issues(states: OPEN) { totalCount }`

const searchQuery = `query($q: String!, $first: Int!, $after: String) {
  search(query: $q, type: REPOSITORY, first: $first, after: $after) {
    repositoryCount
    pageInfo { hasNextPage endCursor }
    nodes { ... on Repository {` + repoFields + ` } }
  }
  rateLimit { cost limit remaining used resetAt nodeCount }
}`

const nodesQuery = `query($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Repository {` + repoFields + ` } }
  rateLimit { cost limit remaining used resetAt }
}`

// Answer types for the tests, decoded with encoding/json.

type gqlAnswer struct {
	Status int
	Header http.Header
	Data   json.RawMessage
	Errors []gqlError
}

type gqlError struct {
	Type      string         `json:"type"`
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Path      []any          `json:"path"`
	Locations []ghLocation   `json:"locations"`
	Ext       map[string]any `json:"extensions"`
}

type repoJSON struct {
	ID            string
	DatabaseID    *int64
	Name          string
	NameWithOwner string
	Owner         struct{ Login string }
	Description   *string
	URL           string
	HomepageURL   *string
	PrimaryLang   *struct{ Name string } `json:"primaryLanguage"`
	Topics        struct {
		TotalCount int
		Nodes      []struct{ Topic struct{ Name string } }
	} `json:"repositoryTopics"`
	LicenseInfo *struct {
		SpdxID *string
		Name   string
		Key    string
	}
	DefaultBranchRef *struct {
		Name   string
		Target struct {
			Oid           string
			CommittedDate string
		}
	}
	IsArchived, IsFork, IsPrivate, IsDisabled, IsLocked, IsMirror, IsTemplate bool
	CreatedAt                                                                 string
	PushedAt                                                                  *string
	UpdatedAt                                                                 string
	DiskUsage                                                                 *int
	StargazerCount, ForkCount                                                 int
	Watchers, Issues                                                          struct{ TotalCount int }
}

type rateLimitJSON struct {
	Cost, Limit, Remaining, Used, NodeCount int
	ResetAt                                 time.Time
}

type searchData struct {
	Search struct {
		RepositoryCount int
		PageInfo        struct {
			HasNextPage bool
			EndCursor   *string
		}
		Nodes []repoJSON
	}
	RateLimit rateLimitJSON
}

type nodesData struct {
	Nodes     []*repoJSON
	RateLimit rateLimitJSON
}

// post sends one GraphQL request with the given token ("" sends no Authorization header).
func post(t testing.TB, url, token, query string, vars map[string]any) gqlAnswer {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := gqlAnswer{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		var out struct {
			Data   json.RawMessage
			Errors []gqlError
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("decoding %s: %v", raw, err)
		}
		a.Data, a.Errors = out.Data, out.Errors
	} else {
		a.Data = raw
	}
	return a
}

// query posts with the server's token and decodes data into v, failing on any GraphQL error.
func query(t testing.TB, s *Server, q string, vars map[string]any, v any) {
	t.Helper()
	a := post(t, s.GraphQLURL(), s.Token(), q, vars)
	if a.Status != http.StatusOK || len(a.Errors) > 0 {
		t.Fatalf("got status %d, errors %+v, data %s; want 200 without errors", a.Status, a.Errors, a.Data)
	}
	if err := json.Unmarshal(a.Data, v); err != nil {
		t.Fatalf("decoding %s: %v", a.Data, err)
	}
}

var epoch = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

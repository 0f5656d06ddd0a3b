package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestNodesRemovedIDGivesPartialData(t *testing.T) {
	s := New(t)
	repos := GenerateRepos(3, "k8s-at-home", epoch, 4)
	s.AddRepos(repos...)
	s.RemoveRepo(repos[1].ID)
	ids := []string{repos[0].ID, repos[1].ID, repos[2].ID}

	a := post(t, s.GraphQLURL(), s.Token(), nodesQuery, map[string]any{"ids": ids})
	if a.Status != http.StatusOK {
		t.Fatalf("got status %d, want 200", a.Status)
	}
	var d nodesData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatalf("decoding %s: %v", a.Data, err)
	}
	if len(d.Nodes) != 3 || d.Nodes[0] == nil || d.Nodes[1] != nil || d.Nodes[2] == nil {
		t.Fatalf("got nodes %s, want [repo, null, repo]", a.Data)
	}
	if d.Nodes[0].ID != ids[0] || d.Nodes[2].ID != ids[2] || d.Nodes[2].NameWithOwner != repos[2].NameWithOwner() {
		t.Errorf("got %s and %s, want %s and %s", d.Nodes[0].ID, d.Nodes[2].ID, ids[0], ids[2])
	}
	if len(a.Errors) != 1 {
		t.Fatalf("got errors %+v, want one", a.Errors)
	}
	e := a.Errors[0]
	wantMsg := fmt.Sprintf("Could not resolve to a node with the global id of '%s'.", ids[1])
	if e.Type != "NOT_FOUND" || e.Message != wantMsg || !slices.Equal(e.Path, []any{"nodes", float64(1)}) {
		t.Errorf("got %+v, want NOT_FOUND at [nodes 1] with %q", e, wantMsg)
	}
	if len(e.Locations) != 1 || e.Locations[0].Line != 2 {
		t.Errorf("got locations %+v, want line 2", e.Locations)
	}
	if d.RateLimit.Remaining != 4999 {
		t.Errorf("got remaining %d, want 4999: partial answers cost like any other", d.RateLimit.Remaining)
	}
}

func TestNodesErrorPathUsesAlias(t *testing.T) {
	s := New(t)
	s.AddRepos(Repo{Owner: "o", Name: "n"})
	id := s.Repos()[0].ID
	a := post(t, s.GraphQLURL(), s.Token(), `query($x: [ID!]!) {
  first: nodes(ids: $x) { id }
  second: nodes(ids: ["gone", "gone2"]) { id }
}`, map[string]any{"x": []string{id}})
	if len(a.Errors) != 2 {
		t.Fatalf("got errors %+v, want two", a.Errors)
	}
	for i, e := range a.Errors {
		if want := []any{"second", float64(i)}; !slices.Equal(e.Path, want) {
			t.Errorf("error %d: got path %v, want %v", i, e.Path, want)
		}
	}
	var d struct{ First, Second []*struct{ ID string } }
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.First) != 1 || d.First[0].ID != id || len(d.Second) != 2 || d.Second[0] != nil {
		t.Errorf("got %s, want first [%s], second [null null]", a.Data, id)
	}
}

func TestNodesOver100IDsIsArgumentLimit(t *testing.T) {
	s := New(t)
	repos := GenerateRepos(101, "k8s-at-home", epoch, 5)
	s.AddRepos(repos...)
	ids := make([]string, len(repos))
	for i, r := range repos {
		ids[i] = r.ID
	}

	a := post(t, s.GraphQLURL(), s.Token(), nodesQuery, map[string]any{"ids": ids})
	if a.Status != http.StatusOK || len(a.Errors) != 1 {
		t.Fatalf("got status %d, errors %+v; want 200 with one error", a.Status, a.Errors)
	}
	e := a.Errors[0]
	if e.Type != "ARGUMENT_LIMIT" || !strings.Contains(e.Message, "more than 100 node ids") || !slices.Equal(e.Path, []any{"nodes"}) {
		t.Errorf("got %+v, want ARGUMENT_LIMIT at [nodes] about 100 node ids", e)
	}
	if string(a.Data) != "null" {
		t.Errorf("got data %s, want null", a.Data)
	}

	var d nodesData
	query(t, s, nodesQuery, map[string]any{"ids": ids[:100]}, &d)
	if len(d.Nodes) != 100 || d.Nodes[99].ID != ids[99] {
		t.Errorf("100 ids: got %d nodes, want 100 in order", len(d.Nodes))
	}
}

func TestUpdateRepoShowsInNextAnswer(t *testing.T) {
	s := New(t)
	s.AddRepos(Repo{Owner: "o", Name: "n", Stars: 1, DefaultBranch: "main"})
	id := s.Repos()[0].ID
	oldHead := s.Repos()[0].HeadOID
	s.UpdateRepo(id, func(r *Repo) {
		r.Stars = 7
		r.HeadOID = strings.Repeat("c", 40)
		r.Topics = append(r.Topics, "new")
	})
	var d nodesData
	query(t, s, nodesQuery, map[string]any{"ids": []string{id}}, &d)
	n := d.Nodes[0]
	if n.StargazerCount != 7 || n.DefaultBranchRef.Target.Oid == oldHead || n.Topics.TotalCount != 1 {
		t.Errorf("got stars %d, oid %s, %d topics; want 7, cccc…, 1", n.StargazerCount, n.DefaultBranchRef.Target.Oid, n.Topics.TotalCount)
	}
	if r, _ := s.Repo(id); r.Stars != 7 {
		t.Errorf("Repo: got stars %d, want 7", r.Stars)
	}
}

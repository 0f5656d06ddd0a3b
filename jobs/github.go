package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubestats/kubestats/githubql"
	"github.com/kubestats/kubestats/store"
)

// ErrNoToken explains why the GitHub jobs do nothing.
var ErrNoToken = errors.New("discovery is paused: no GitHub token is configured (set GITHUB_TOKEN)")

// searchCap is GitHub's limit of results reachable through one search query.
const searchCap = 1000

// githubEpoch is before the oldest repository GitHub has.
var githubEpoch = time.Date(2007, 10, 1, 0, 0, 0, 0, time.UTC)

func toRepoData(r githubql.Repo) store.RepoData {
	d := store.RepoData{
		GitHubID: r.ID, DatabaseID: r.DatabaseID, Owner: r.Owner, Name: r.Name, Description: r.Description,
		URL: r.URL, Homepage: r.Homepage, Language: r.Language, Topics: r.Topics, License: r.License,
		DefaultBranch: r.DefaultBranch, IsArchived: r.IsArchived, IsFork: r.IsFork, PushedAt: r.PushedAt,
		DiskUsageKB: r.DiskUsageKB, Stars: r.Stars, Forks: r.Forks, Watchers: r.Watchers, OpenIssues: r.OpenIssues,
		HeadOID: r.HeadOID, HeadCommittedAt: r.HeadCommittedAt,
	}
	created, updated := r.CreatedAt, r.UpdatedAt
	d.CreatedAt, d.UpdatedAt = &created, &updated
	return d
}

// Discover finds every public repository with the configured topics and upserts it.
// A topic with more results than one search can reach is walked in created: date
// slices, halved until each slice is under the cap. Each page is written in its own
// transaction, so a cancelled run keeps whole pages and the next run simply repeats.
func (r *Runner) Discover(ctx context.Context) (Counts, error) {
	if !r.gh.Configured() {
		return nil, ErrNoToken
	}
	c := Counts{"found": 0, "created": 0, "updated": 0, "tombstoned": 0, "snapshots": 0, "queries": 0, "slices": 0}
	found := map[string]bool{} // across topics, for the "found" count
	for _, topic := range r.cfg.Topics {
		// Results shift while paging: upsert each repository once per topic.
		seen := map[string]bool{}
		base := "topic:" + topic
		if r.cfg.IncludeForks {
			base += " fork:true"
		}
		if err := r.discoverRange(ctx, topic, base, githubEpoch, r.now().UTC().Add(24*time.Hour), c, seen); err != nil {
			return c, fmt.Errorf("discover %s: %w", topic, err)
		}
		for id := range seen {
			found[id] = true
		}
		c["found"] = len(found)
	}
	return c, nil
}

// discoverRange pages through `base created:lo..hi`, splitting the range when its
// total exceeds the search cap. The first page of a range doubles as the count probe.
func (r *Runner) discoverRange(ctx context.Context, topic, base string, lo, hi time.Time, c Counts, seen map[string]bool) error {
	q := fmt.Sprintf("%s created:%s..%s", base, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
	page, err := r.gh.SearchRepositories(ctx, q, "")
	c["queries"]++
	if err != nil {
		return err
	}
	if page.Total > searchCap && hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if err := r.discoverRange(ctx, topic, base, lo, mid, c, seen); err != nil {
			return err
		}
		return r.discoverRange(ctx, topic, base, mid.Add(time.Second), hi, c, seen)
	}
	c["slices"]++
	for {
		if err := r.upsertPage(ctx, topic, page.Repos, c, seen); err != nil {
			return err
		}
		if !page.HasNext {
			return nil
		}
		page, err = r.gh.SearchRepositories(ctx, q, page.EndCursor)
		c["queries"]++
		if err != nil {
			return err
		}
	}
}

func (r *Runner) upsertPage(ctx context.Context, topic string, repos []githubql.Repo, c Counts, seen map[string]bool) error {
	batch := make([]store.RepoData, 0, len(repos))
	for _, repo := range repos {
		if repo.IsPrivate || (repo.IsFork && !r.cfg.IncludeForks) || seen[repo.ID] {
			continue
		}
		seen[repo.ID] = true
		batch = append(batch, toRepoData(repo))
	}
	if len(batch) == 0 {
		return nil
	}
	res, err := r.store.UpsertDiscovered(ctx, topic, batch, r.cfg.MaxRepoSizeMB*1024)
	if err != nil {
		return err
	}
	c["created"] += res.Created
	c["updated"] += res.Updated
	c["tombstoned"] += res.Tombstone
	c["snapshots"] += res.Snapshots
	return nil
}

// Refresh reads every known repository through nodes(ids:), 100 per query, and writes
// each batch in one transaction. A batch that fails writes nothing, so no snapshot ever
// repeats old numbers as new; the run stops there and the next run starts over.
func (r *Runner) Refresh(ctx context.Context) (Counts, error) {
	if !r.gh.Configured() {
		return nil, ErrNoToken
	}
	ids, err := r.store.RefreshTargets(ctx)
	if err != nil {
		return nil, err
	}
	c := Counts{"repositories": len(ids), "updated": 0, "snapshots": 0, "gone": 0, "due_sync": 0, "batches": 0}
	for start := 0; start < len(ids); start += githubql.MaxNodes {
		batch := ids[start:min(start+githubql.MaxNodes, len(ids))]
		found, missing, err := r.gh.RepositoriesByID(ctx, batch)
		if err != nil {
			return c, fmt.Errorf("refresh batch %d: %w", c["batches"]+1, err)
		}
		data := make([]store.RepoData, len(found))
		for i, f := range found {
			data[i] = toRepoData(f)
		}
		res, err := r.store.ApplyRefresh(ctx, data, missing, r.cfg.MaxRepoSizeMB*1024)
		if err != nil {
			return c, err
		}
		c["batches"]++
		c["updated"] += res.Updated
		c["snapshots"] += res.Snapshots
		c["gone"] += res.Gone
		c["due_sync"] += res.DueSync
	}
	return c, nil
}

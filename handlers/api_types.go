package handlers

import (
	"encoding/json"
	"time"

	"github.com/kubestats/kubestats/jobs"
	"github.com/kubestats/kubestats/store"
)

// The API's JSON shapes. They are declared here rather than marshalled from store structs so
// that renaming a store field can never rename an API field: openapi.json documents exactly these.

// apiList is the envelope of every list: one page of items and the total that matched.
type apiList[T any] struct {
	Data    []T `json:"data"`
	Count   int `json:"count"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// apiItem is the envelope of a single object.
type apiItem[T any] struct {
	Data T `json:"data"`
}

// apiTime formats a time as RFC 3339 in UTC, second precision.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func apiTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := apiTime(*t)
	return &s
}

type apiRepoCounts struct {
	Objects      int `json:"objects"`
	Charts       int `json:"charts"`
	Images       int `json:"images"`
	Deprecations int `json:"deprecations"`
	Errors       int `json:"errors"`
	Skipped      int `json:"skipped"`
}

type apiRepository struct {
	Owner           string        `json:"owner"`
	Name            string        `json:"name"`
	FullName        string        `json:"full_name"`
	Description     string        `json:"description"`
	URL             string        `json:"url"`
	Homepage        string        `json:"homepage"`
	Language        string        `json:"language"`
	Topics          []string      `json:"topics"`
	License         string        `json:"license"`
	DefaultBranch   string        `json:"default_branch"`
	Archived        bool          `json:"archived"`
	Fork            bool          `json:"fork"`
	CreatedAt       *string       `json:"created_at"`
	PushedAt        *string       `json:"pushed_at"`
	Stars           int           `json:"stars"`
	Forks           int           `json:"forks"`
	Watchers        int           `json:"watchers"`
	OpenIssues      int           `json:"open_issues"`
	DiskUsageKB     int           `json:"disk_usage_kb"`
	Status          string        `json:"status"`
	SyncStatus      string        `json:"sync_status"`
	HeadOID         string        `json:"head_oid"`
	HeadCommittedAt *string       `json:"head_committed_at"`
	ScannedOID      string        `json:"scanned_oid"`
	ScannedAt       *string       `json:"scanned_at"`
	FirstSeenAt     string        `json:"first_seen_at"`
	Counts          apiRepoCounts `json:"counts"`
}

func newAPIRepository(r store.Repository) apiRepository {
	topics := r.Topics
	if topics == nil {
		topics = []string{}
	}
	return apiRepository{
		Owner: r.Owner, Name: r.Name, FullName: r.FullName(), Description: r.Description, URL: r.URL,
		Homepage: r.Homepage, Language: r.Language, Topics: topics, License: r.License, DefaultBranch: r.DefaultBranch,
		Archived: r.IsArchived, Fork: r.IsFork, CreatedAt: apiTimePtr(r.CreatedAt), PushedAt: apiTimePtr(r.PushedAt),
		Stars: r.Stars, Forks: r.Forks, Watchers: r.Watchers, OpenIssues: r.OpenIssues, DiskUsageKB: r.DiskUsageKB,
		Status: r.Status(), SyncStatus: r.SyncStatus, HeadOID: r.HeadOID, HeadCommittedAt: apiTimePtr(r.HeadCommittedAt),
		ScannedOID: r.ScannedOID, ScannedAt: apiTimePtr(r.ScannedAt), FirstSeenAt: apiTime(r.FirstSeenAt),
		Counts: apiRepoCounts{Objects: r.ObjectCount, Charts: r.ChartCount, Images: r.ImageCount,
			Deprecations: r.DeprecationCount, Errors: r.ErrorCount, Skipped: r.SkippedCount},
	}
}

// apiMetricValues is one set of statistics, or the change of one over a period.
type apiMetricValues struct {
	Stars      int `json:"stars"`
	Forks      int `json:"forks"`
	Watchers   int `json:"watchers"`
	OpenIssues int `json:"open_issues"`
}

type apiLatestMetrics struct {
	apiMetricValues
	// Changes against the last snapshot 7 and 30 days ago, as the repository page's cards show; null without one.
	Change7d  *apiMetricValues `json:"change_7d"`
	Change30d *apiMetricValues `json:"change_30d"`
}

type apiSync struct {
	Status     string  `json:"status"`
	Error      string  `json:"error"`
	Attempts   int     `json:"attempts"`
	NextSyncAt *string `json:"next_sync_at"`
	StartedAt  *string `json:"started_at"`
	Queued     bool    `json:"queued"`
}

type apiScan struct {
	OID         string  `json:"oid"`
	At          *string `json:"at"`
	CommittedAt *string `json:"committed_at"`
	Files       int     `json:"files"`
	Documents   int     `json:"documents"`
	Bytes       int64   `json:"bytes"`
	DurationMS  int64   `json:"duration_ms"`
}

type apiRepositoryDetail struct {
	apiRepository
	DiscoveryTopics []string         `json:"discovery_topics"`
	LastSeenAt      string           `json:"last_seen_at"`
	RefreshedAt     *string          `json:"refreshed_at"`
	GoneAt          *string          `json:"gone_at"`
	Metrics         apiLatestMetrics `json:"metrics"`
	Sync            apiSync          `json:"sync"`
	Scan            apiScan          `json:"scan"`
}

type apiMetric struct {
	RecordedAt  string `json:"recorded_at"`
	Stars       int    `json:"stars"`
	Forks       int    `json:"forks"`
	Watchers    int    `json:"watchers"`
	OpenIssues  int    `json:"open_issues"`
	DiskUsageKB int    `json:"disk_usage_kb"`
}

type apiResource struct {
	ID          int64           `json:"id"`
	File        string          `json:"file"`
	Doc         int             `json:"doc"`
	Line        int             `json:"line"`
	APIVersion  string          `json:"api_version"`
	Kind        string          `json:"kind"`
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	ContentHash string          `json:"content_hash"`
	Content     json.RawMessage `json:"content,omitempty"`
}

type apiEvent struct {
	Type          string  `json:"type"`
	APIVersion    string  `json:"api_version"`
	Kind          string  `json:"kind"`
	Namespace     string  `json:"namespace"`
	Name          string  `json:"name"`
	File          string  `json:"file"`
	OldFile       string  `json:"old_file"`
	OldAPIVersion string  `json:"old_api_version"`
	ContentHash   string  `json:"content_hash"`
	CommitOID     string  `json:"commit_oid"`
	CommittedAt   *string `json:"committed_at"`
	DetectedAt    string  `json:"detected_at"`
}

type apiRepoChart struct {
	File            string   `json:"file"`
	Tool            string   `json:"tool"`
	Kind            string   `json:"kind"`
	Release         string   `json:"release"`
	Namespace       string   `json:"namespace"`
	Chart           string   `json:"chart"`
	Version         string   `json:"version"`
	SourceKind      string   `json:"source_kind"`
	SourceName      string   `json:"source_name"`
	SourceNamespace string   `json:"source_namespace"`
	SourceURL       string   `json:"source_url"`
	ChartURL        string   `json:"chart_url"`
	Ambiguous       bool     `json:"ambiguous"`
	ValuesFrom      []string `json:"values_from"`
}

type apiRepoImage struct {
	File       string `json:"file"`
	Kind       string `json:"kind"`
	Object     string `json:"object"`
	Namespace  string `json:"namespace"`
	Source     string `json:"source"`
	Image      string `json:"image"`
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
}

type apiScanError struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

type apiRepoDeprecation struct {
	File         string `json:"file"`
	APIVersion   string `json:"api_version"`
	Kind         string `json:"kind"`
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Project      string `json:"project"`
	DeprecatedIn string `json:"deprecated_in"`
	RemovedIn    string `json:"removed_in"`
	Replacement  string `json:"replacement"`
}

type apiChartSource struct {
	Kind  string `json:"kind"`
	URL   string `json:"url"`
	Repos int    `json:"repos"`
}

func newAPIChartSources(in []store.ChartSource) []apiChartSource {
	out := make([]apiChartSource, 0, len(in))
	for _, s := range in {
		out = append(out, apiChartSource{Kind: s.Kind, URL: s.URL, Repos: s.Repos})
	}
	return out
}

type apiChart struct {
	Name     string           `json:"name"`
	Repos    int              `json:"repos"`
	Releases int              `json:"releases"`
	Growth   int              `json:"growth"`
	Newest   string           `json:"newest"`
	Versions int              `json:"versions"`
	Sources  []apiChartSource `json:"sources"`
}

type apiChartVersion struct {
	Version  string `json:"version"`
	Repos    int    `json:"repos"`
	Releases int    `json:"releases"`
}

type apiChartRepo struct {
	Owner      string `json:"owner"`
	Name       string `json:"name"`
	FullName   string `json:"full_name"`
	URL        string `json:"url"`
	Stars      int    `json:"stars"`
	Version    string `json:"version"`
	File       string `json:"file"`
	Kind       string `json:"kind"`
	Release    string `json:"release"`
	Namespace  string `json:"namespace"`
	SourceKind string `json:"source_kind"`
	SourceURL  string `json:"source_url"`
	Releases   int    `json:"releases"`
}

type apiChartDetail struct {
	Name         string                `json:"name"`
	Repos        int                   `json:"repos"`
	Releases     int                   `json:"releases"`
	Newest       string                `json:"newest"`
	NewestRepos  int                   `json:"newest_repos"`
	Sources      []apiChartSource      `json:"sources"`
	Versions     []apiChartVersion     `json:"versions"`
	Repositories apiList[apiChartRepo] `json:"repositories"`
}

type apiPinning struct {
	Tag    int `json:"tag"`
	Digest int `json:"digest"`
	Latest int `json:"latest"`
}

type apiImage struct {
	Registry   string     `json:"registry"`
	Repository string     `json:"repository"`
	Name       string     `json:"name"`
	Repos      int        `json:"repos"`
	Usages     int        `json:"usages"`
	Tags       int        `json:"tags"`
	Pinning    apiPinning `json:"pinning"`
}

func newAPIImage(m store.ImageSummary) apiImage {
	return apiImage{Registry: m.Registry, Repository: m.Repository, Name: m.Name(), Repos: m.Repos, Usages: m.Usages,
		Tags: m.Tags, Pinning: apiPinning{Tag: m.TagOnly, Digest: m.Digest, Latest: m.Latest}}
}

type apiImageTag struct {
	Tag    string `json:"tag"`
	Repos  int    `json:"repos"`
	Usages int    `json:"usages"`
	Digest int    `json:"digest"`
}

type apiImageUse struct {
	Owner     string `json:"owner"`
	Name      string `json:"name"`
	FullName  string `json:"full_name"`
	URL       string `json:"url"`
	Stars     int    `json:"stars"`
	File      string `json:"file"`
	Kind      string `json:"kind"`
	Object    string `json:"object"`
	Namespace string `json:"namespace"`
	Source    string `json:"source"`
	Tag       string `json:"tag"`
	Digest    string `json:"digest"`
}

type apiImageDetail struct {
	apiImage
	TopTags      []apiImageTag        `json:"top_tags"`
	Repositories apiList[apiImageUse] `json:"repositories"`
}

type apiEcosystemDay struct {
	Day          string `json:"day"`
	Repos        int64  `json:"repos"`
	ScannedRepos int64  `json:"scanned_repos"`
	Stars        int64  `json:"stars"`
	Forks        int64  `json:"forks"`
	Resources    int64  `json:"resources"`
	Created      int64  `json:"created"`
	Modified     int64  `json:"modified"`
	Moved        int64  `json:"moved"`
	Deleted      int64  `json:"deleted"`
}

type apiBreakdownRow struct {
	Key     string `json:"key"`
	Repos   int64  `json:"repos"`
	Objects int64  `json:"objects"`
}

type apiEcosystem struct {
	Days      int                          `json:"days"`
	LatestDay *string                      `json:"latest_day"`
	Series    []apiEcosystemDay            `json:"series"`
	Breakdown map[string][]apiBreakdownRow `json:"breakdown"`
}

type apiDeprecatedAPI struct {
	APIVersion   string `json:"api_version"`
	Kind         string `json:"kind"`
	Project      string `json:"project"`
	DeprecatedIn string `json:"deprecated_in"`
	RemovedIn    string `json:"removed_in"`
	Removed      bool   `json:"removed"`
	Replacement  string `json:"replacement"`
	Repos        int    `json:"repos"`
	Objects      int    `json:"objects"`
}

type apiJobInfo struct {
	Name         string  `json:"name"`
	Description  string  `json:"description"`
	EverySeconds int64   `json:"every_seconds"`
	NextRun      *string `json:"next_run"`
	Running      bool    `json:"running"`
	Enabled      bool    `json:"enabled"`
}

func newAPIJobInfo(in jobs.Info) apiJobInfo {
	return apiJobInfo{Name: in.Name, Description: in.Describe, EverySeconds: int64(in.Every / time.Second),
		NextRun: apiTimePtr(in.NextRun), Running: in.Running, Enabled: in.Enabled}
}

type apiJobRun struct {
	ID              int64          `json:"id"`
	Job             string         `json:"job"`
	Trigger         string         `json:"trigger"`
	Status          string         `json:"status"`
	Error           string         `json:"error"`
	StartedAt       string         `json:"started_at"`
	FinishedAt      *string        `json:"finished_at"`
	Counts          map[string]int `json:"counts"`
	GraphQLRequests int            `json:"graphql_requests"`
	GraphQLPoints   int            `json:"graphql_points"`
	Retries         int            `json:"retries"`
}

type apiRateLimit struct {
	Known        bool    `json:"known"`
	Limit        int     `json:"limit"`
	Remaining    int     `json:"remaining"`
	Used         int     `json:"used"`
	ResetAt      *string `json:"reset_at"`
	WaitingUntil *string `json:"waiting_until"`
}

type apiJobs struct {
	Jobs           []apiJobInfo `json:"jobs"`
	Runs           []apiJobRun  `json:"runs"`
	GitHubTokenSet bool         `json:"github_token_set"`
	RateLimit      apiRateLimit `json:"rate_limit"`
}

type apiSyncQueued struct {
	StatusURL string `json:"status_url"`
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Pinning says how an image reference fixes what runs: by digest (with or without a tag),
// by tag only, or not at all (the registry's "latest" is implied).
const (
	PinDigest = "digest"
	PinTag    = "tag"
	PinLatest = "latest"
)

// ImagePinnings lists the pinning filter values.
var ImagePinnings = []string{PinTag, PinDigest, PinLatest}

// liveRepoUsage keeps usages of deleted or blocked repositories out of every statistic. The
// subquery runs once (it has no correlation) and is probed by hash, which is far cheaper than
// a join per usage row.
const liveRepoUsage = "repository_id NOT IN (SELECT id FROM repositories WHERE deleted_at IS NOT NULL OR blocked_at IS NOT NULL)"

// ImageFilter selects and orders a page of images. Zero values mean "any".
type ImageFilter struct {
	Q        string // substring of registry/repository
	Registry string
	Pinning  string // one of ImagePinnings: images with at least one usage pinned that way
	Sort     string // repos, usages, name
	Page     int    // 1-based
	PerPage  int
}

// ImageSorts maps each sort key to its ORDER BY; the name tiebreak keeps pages stable.
var ImageSorts = map[string]string{
	"repos":  "repos DESC, usages DESC, registry, repository",
	"usages": "usages DESC, repos DESC, registry, repository",
	"name":   "registry, repository",
}

// ImageSummary is one image (registry + repository) with how the scanned repositories use it.
type ImageSummary struct {
	Registry   string
	Repository string
	Repos      int // distinct repositories referencing it
	Usages     int // references
	Tags       int // distinct tags
	TagOnly    int // references pinned by tag only
	Digest     int // references pinned by digest (with or without a tag)
	Latest     int // references with neither tag nor digest
}

// Name is registry/repository, the image as people write it.
func (m ImageSummary) Name() string { return m.Registry + "/" + m.Repository }

// ImagePage is one page of images and the total that matched.
type ImagePage struct {
	Items []ImageSummary
	Total int
}

// likeContains turns input into a LIKE pattern matching it anywhere, wildcards escaped with \.
func likeContains(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// ListImages returns one page of images with how live repositories use them, read from the
// totals kept in image_stats.
func (s *Store) ListImages(ctx context.Context, f ImageFilter) (ImagePage, error) {
	where, args := []string{"1 = 1"}, []any{}
	if q := strings.TrimSpace(f.Q); q != "" {
		where, args = append(where, `(registry || '/' || repository) LIKE ? ESCAPE '\'`), append(args, likeContains(q))
	}
	if f.Registry != "" {
		where, args = append(where, "registry = ?"), append(args, f.Registry)
	}
	switch f.Pinning {
	case "":
	case PinTag:
		where = append(where, "tag_only > 0")
	case PinDigest:
		where = append(where, "digest > 0")
	case PinLatest:
		where = append(where, "latest > 0")
	default:
		return ImagePage{}, &ValidationError{Field: "pinning", Msg: fmt.Sprintf("unknown pinning %q", f.Pinning)}
	}
	order, ok := ImageSorts[f.Sort]
	if !ok {
		order = ImageSorts["repos"]
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	cond := strings.Join(where, " AND ")
	var page ImagePage
	if err := s.queryRow(ctx, `SELECT count(*) FROM image_stats WHERE `+cond, args...).Scan(&page.Total); err != nil {
		return ImagePage{}, fmt.Errorf("store: count images: %w", err)
	}
	rows, err := s.query(ctx, `
		SELECT registry, repository, repos, usages, tags, tag_only, digest, latest
		FROM image_stats WHERE `+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return ImagePage{}, fmt.Errorf("store: list images: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m ImageSummary
		if err := rows.Scan(&m.Registry, &m.Repository, &m.Repos, &m.Usages, &m.Tags, &m.TagOnly, &m.Digest, &m.Latest); err != nil {
			return ImagePage{}, fmt.Errorf("store: list images: %w", err)
		}
		page.Items = append(page.Items, m)
	}
	if err := rows.Err(); err != nil {
		return ImagePage{}, fmt.Errorf("store: list images: %w", err)
	}
	return page, nil
}

// ImageRegistries counts distinct images per registry, most first, for the filter menu.
func (s *Store) ImageRegistries(ctx context.Context, limit int) ([]Facet, error) {
	out, err := s.facets(ctx, `
		SELECT registry, count(*) AS n FROM image_stats GROUP BY registry ORDER BY n DESC, registry LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: image registries: %w", err)
	}
	return out, nil
}

// GetImage summarises one image across live repositories, or returns ErrNotFound.
func (s *Store) GetImage(ctx context.Context, registry, repository string) (ImageSummary, error) {
	m := ImageSummary{Registry: registry, Repository: repository}
	err := s.queryRow(ctx, `
		SELECT repos, usages, tags, tag_only, digest, latest FROM image_stats WHERE registry = ? AND repository = ?`,
		registry, repository).Scan(&m.Repos, &m.Usages, &m.Tags, &m.TagOnly, &m.Digest, &m.Latest)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return ImageSummary{}, fmt.Errorf("store: image %s/%s: %w", registry, repository, err)
	}
	return m, nil
}

// TagCount is one tag of an image ("" when none is written) with its use.
type TagCount struct {
	Tag    string
	Repos  int
	Usages int
	Digest int // of the usages, how many also pin a digest
}

// ImageTags returns an image's most used tags, by repositories then usages.
func (s *Store) ImageTags(ctx context.Context, registry, repository string, limit int) ([]TagCount, error) {
	rows, err := s.query(ctx, `
		SELECT tag, count(DISTINCT repository_id) AS repos, count(*) AS usages, sum(digest <> '')
		FROM image_usages WHERE registry = ? AND repository = ? AND `+liveRepoUsage+`
		GROUP BY tag ORDER BY repos DESC, usages DESC, tag LIMIT ?`, registry, repository, limit)
	if err != nil {
		return nil, fmt.Errorf("store: image tags: %w", err)
	}
	defer rows.Close()
	var out []TagCount
	for rows.Next() {
		var t TagCount
		if err := rows.Scan(&t.Tag, &t.Repos, &t.Usages, &t.Digest); err != nil {
			return nil, fmt.Errorf("store: image tags: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: image tags: %w", err)
	}
	return out, nil
}

// ImageUsageFilter selects and orders a page of one image's usages.
type ImageUsageFilter struct {
	Tag     *string // nil: any tag; "" selects usages without a tag
	Sort    string  // stars, repo, tag, file
	Page    int
	PerPage int
}

// ImageUsageSorts maps each sort key to its ORDER BY; the usage id keeps pages stable.
var ImageUsageSorts = map[string]string{
	"stars": "r.stars DESC, r.owner COLLATE NOCASE, r.name COLLATE NOCASE, u.path, u.id",
	"repo":  "r.owner COLLATE NOCASE, r.name COLLATE NOCASE, u.path, u.id",
	"tag":   "u.tag DESC, r.stars DESC, u.id",
	"file":  "u.path, r.owner COLLATE NOCASE, r.name COLLATE NOCASE, u.id",
}

// ImageUse is one reference to an image with the repository that makes it.
type ImageUse struct {
	RepoID     int64
	Owner      string
	Name       string
	URL        string
	Stars      int
	ScannedOID string
	Path       string
	Kind       string
	ObjectName string
	Namespace  string
	Source     string
	Tag        string
	Digest     string
}

// FullName is the repository's owner/name.
func (u ImageUse) FullName() string { return u.Owner + "/" + u.Name }

// ImageUsePage is one page of an image's usages and the total that matched.
type ImageUsePage struct {
	Items []ImageUse
	Total int
}

// ListImageUsages returns a page of the references to one image in live repositories.
func (s *Store) ListImageUsages(ctx context.Context, registry, repository string, f ImageUsageFilter) (ImageUsePage, error) {
	cond, args := "u.registry = ? AND u.repository = ? AND r.deleted_at IS NULL AND r.blocked_at IS NULL", []any{registry, repository}
	if f.Tag != nil {
		cond, args = cond+" AND u.tag = ?", append(args, *f.Tag)
	}
	order, ok := ImageUsageSorts[f.Sort]
	if !ok {
		order = ImageUsageSorts["stars"]
	}
	f.Page, f.PerPage = pageBounds(f.Page, f.PerPage, 50, 200)
	const from = " FROM image_usages u JOIN repositories r ON r.id = u.repository_id WHERE "
	var page ImageUsePage
	if err := s.queryRow(ctx, "SELECT count(*)"+from+cond, args...).Scan(&page.Total); err != nil {
		return ImageUsePage{}, fmt.Errorf("store: count image usages: %w", err)
	}
	rows, err := s.query(ctx, `
		SELECT r.id, r.owner, r.name, r.url, r.stars, r.scanned_oid, u.path, u.kind, u.object_name, u.namespace, u.source,
			u.tag, u.digest`+from+cond+" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, f.PerPage, (f.Page-1)*f.PerPage)...)
	if err != nil {
		return ImageUsePage{}, fmt.Errorf("store: list image usages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u ImageUse
		if err := rows.Scan(&u.RepoID, &u.Owner, &u.Name, &u.URL, &u.Stars, &u.ScannedOID, &u.Path, &u.Kind, &u.ObjectName,
			&u.Namespace, &u.Source, &u.Tag, &u.Digest); err != nil {
			return ImageUsePage{}, fmt.Errorf("store: list image usages: %w", err)
		}
		page.Items = append(page.Items, u)
	}
	if err := rows.Err(); err != nil {
		return ImageUsePage{}, fmt.Errorf("store: list image usages: %w", err)
	}
	return page, nil
}

// ScannedRepositoryCount counts live repositories with at least one scan, so that empty
// views can tell "nothing uses it" from "nothing was scanned yet".
func (s *Store) ScannedRepositoryCount(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM repositories
		WHERE scanned_oid <> '' AND deleted_at IS NULL AND blocked_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count scanned repositories: %w", err)
	}
	return n, nil
}

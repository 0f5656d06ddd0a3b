// Package scan turns a tree of files into the Kubernetes objects it declares and the facts Kubestats keeps
// about them (Helm chart usages, container images, deprecated APIs), plus readable per-file errors.
// It is pure: bytes in, results out; no database, no network.
package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Tools that deploy a chart.
const (
	ToolFlux = "flux"
	ToolArgo = "argo"
)

// Where an image reference was found.
const (
	ImageFromPod    = "pod"    // a container of a workload's pod spec
	ImageFromValues = "values" // Helm values of a HelmRelease or an Argo CD Application
)

// Limits bound what one scan may read, so hostile input costs bounded time and memory.
type Limits struct {
	MaxFileBytes    int64 // a bigger .yaml file is skipped with a per-file error
	MaxDocsPerFile  int   // documents after this one are ignored, with a per-file error
	MaxDepth        int   // nesting deeper than this makes the document an error
	MaxNodes        int   // values in one document after alias expansion; more makes the document an error
	MaxArchiveBytes int64 // uncompressed bytes read from one archive; more fails the whole scan
	MaxEntries      int   // entries in one archive; more fails the whole scan
}

// DefaultLimits are generous for real GitOps repositories (the largest seen hold a few thousand manifests).
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes:    1 << 20,
		MaxDocsPerFile:  1000,
		MaxDepth:        64,
		MaxNodes:        200_000,
		MaxArchiveBytes: 2 << 30,
		MaxEntries:      500_000,
	}
}

// withDefaults fills zero limits with the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxDocsPerFile <= 0 {
		l.MaxDocsPerFile = d.MaxDocsPerFile
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxArchiveBytes <= 0 {
		l.MaxArchiveBytes = d.MaxArchiveBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// Options configure a scan.
type Options struct {
	Limits Limits
	// Content, when set, receives each object's redacted canonical JSON as soon as its file is parsed, and
	// the Result keeps only the hash: memory then stays bounded by one file whatever the tree holds.
	// When nil, Object.Content carries it. An error from Content stops the scan.
	Content func(hash string, content []byte) error
}

// Result is everything a scan found. Its JSON form is what `kubestats scan --json` prints.
type Result struct {
	Files        int           `json:"files"`     // .yaml/.yml files read
	Bytes        int64         `json:"bytes"`     // bytes of those files
	Documents    int           `json:"documents"` // non-empty YAML documents
	Objects      []Object      `json:"objects"`
	Charts       []Chart       `json:"charts"`
	Images       []Image       `json:"images"`
	Deprecations []Deprecation `json:"deprecations"`
	Errors       []FileError   `json:"errors"`  // files (or documents) that could not be read as manifests
	Skipped      []FileError   `json:"skipped"` // entries not read at all, and why (too big, symlink, …)
}

// Object is one Kubernetes-style object (a mapping with apiVersion, kind and metadata.name).
type Object struct {
	File       string `json:"file"` // slash-separated path from the tree's root
	Doc        int    `json:"doc"`  // 0-based index of the document in its file
	Line       int    `json:"line"` // 1-based line where the document starts
	APIVersion string `json:"apiVersion"`
	Group      string `json:"group"` // API group; "" for the core group
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"` // explicit or inferred (see the package's namespace rules)
	Name       string `json:"name"`
	Hash       string `json:"hash"` // hex SHA-256 of Content
	// Content is the redacted object as canonical JSON (sorted keys, no insignificant space).
	// Nil when Options.Content received it instead.
	Content json.RawMessage `json:"-"`

	explicitNS bool // metadata.namespace was set: inference does not apply
}

// Chart is one Helm chart deployed by a Flux HelmRelease or an Argo CD Application/ApplicationSet.
type Chart struct {
	File            string   `json:"file"`
	Kind            string   `json:"kind"`                 // HelmRelease, Application or ApplicationSet
	Name            string   `json:"name"`                 // the release's or application's own name
	Namespace       string   `json:"namespace"`            // the release's or application's namespace
	Tool            string   `json:"tool"`                 // ToolFlux or ToolArgo
	Chart           string   `json:"chart"`                // chart name, e.g. "app-template"
	Version         string   `json:"version"`              // version, semver range, tag, digest or targetRevision as written
	SourceKind      string   `json:"sourceKind"`           // HelmRepository, OCIRepository, GitRepository, or for Argo "helm", "oci", "git"
	SourceName      string   `json:"sourceName"`           // Flux source object name
	SourceNamespace string   `json:"sourceNamespace"`      // Flux source object namespace
	SourceURL       string   `json:"sourceUrl"`            // repository URL of the source
	ChartURL        string   `json:"chartUrl"`             // "https://…/chart" or "oci://…/chart" when resolvable
	Ambiguous       bool     `json:"ambiguous"`            // several candidate sources matched; the nearest was picked
	ValuesFrom      []string `json:"valuesFrom,omitempty"` // ConfigMap/Secret names the values also come from
	// Values are the inline Helm values, redacted, as canonical JSON; nil when there are none.
	Values json.RawMessage `json:"-"`
}

// Image is one container image reference.
type Image struct {
	File       string `json:"file"`
	Kind       string `json:"kind"` // kind of the object that holds it
	Name       string `json:"name"` // name of the object that holds it
	Namespace  string `json:"namespace"`
	Source     string `json:"source"` // ImageFromPod or ImageFromValues
	Image      string `json:"image"`  // normalised full reference, e.g. docker.io/library/nginx:1.27
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
}

// Deprecation is one object whose apiVersion is deprecated or removed.
type Deprecation struct {
	File         string `json:"file"`
	APIVersion   string `json:"apiVersion"`
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Project      string `json:"project"`      // "kubernetes" or "flux"
	DeprecatedIn string `json:"deprecatedIn"` // release that deprecated it
	RemovedIn    string `json:"removedIn"`    // release that removed it; "" while it is only deprecated
	Replacement  string `json:"replacement"`  // apiVersion to use instead
}

// FileError says why a file (or one document of it) was not read, or not fully.
type FileError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// LimitError is an archive-level limit: the whole scan stops, since a partial tree would look like deletions.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return "scan: " + e.Msg }

// ErrLimit matches any *LimitError with errors.Is.
var ErrLimit = errors.New("scan: limit exceeded")

// Is lets errors.Is(err, ErrLimit) match.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Scanner accumulates files one at a time; Result resolves what needs the whole tree
// (namespaces, chart sources). Not safe for concurrent use.
type Scanner struct {
	opts  Options
	res   Result
	ns    nsState   // namespace.go
	facts factState // facts.go
	final *Result   // what Result returned; set once the scan is finished
}

// New returns a Scanner with opts (zero limits take their defaults).
func New(opts Options) *Scanner {
	opts.Limits = opts.Limits.withDefaults()
	return &Scanner{opts: opts, facts: factState{lim: opts.Limits}}
}

// IsManifest reports whether name is a file the scanner reads (.yaml or .yml, any case).
func IsManifest(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// Skip records an entry that was not read, and why.
func (s *Scanner) Skip(file, reason string) {
	s.res.Skipped = append(s.res.Skipped, FileError{File: file, Message: reason})
}

// fileError records a per-file (or per-document when line > 0) error.
func (s *Scanner) fileError(file string, line int, format string, args ...any) {
	s.res.Errors = append(s.res.Errors, FileError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

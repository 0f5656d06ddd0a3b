package scan

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrCorruptArchive matches the error TarGz returns for an archive that is truncated or not a gzip tar.
var ErrCorruptArchive = errors.New("scan: archive truncated or corrupt")

// TarGz scans a gzip-compressed tar as GitHub's tarball endpoint serves it: one top directory
// (owner-repo-<sha>/) that is stripped from every path, and a pax_global_header that is ignored.
// The archive is streamed: nothing is written to disk and memory stays bounded by one file.
//
// Regular .yaml/.yml files up to Limits.MaxFileBytes are read; bigger ones are listed in
// Result.Skipped. Other regular files are passed over silently. Never read, and listed in
// Result.Skipped with the reason: absolute paths, paths that escape the root or are not canonical,
// names that are not UTF-8 or hold control characters, entries outside the top directory, repeats
// of a manifest path (the first one counts), hard links, devices, FIFOs and other special types (git
// never writes these, so they are always listed), and symlinks whose name or target is a manifest
// (other symlinks are common in repositories and not worth a line). Each name is listed once, with
// its first entry's reason; an entry skipped for its name is listed under the whole entry name (top
// directory included), since no repository path fits it.
//
// Exceeding Limits.MaxEntries or Limits.MaxArchiveBytes (uncompressed) returns a *LimitError: a
// partial tree would look like deletions. A truncated or corrupt archive returns an error matching
// ErrCorruptArchive; an error reading r is returned wrapped as it is (so a cancelled download keeps
// its cause); an error from Options.Content aborts the scan with that error.
func TarGz(ctx context.Context, r io.Reader, opts Options) (*Result, error) {
	s := New(opts)
	return tarGz(ctx, r, s, s.AddFile)
}

// tarGz is TarGz with the file reader as a parameter, so tests can watch what is read.
func tarGz(ctx context.Context, r io.Reader, s *Scanner, add func(file string, r io.Reader) error) (*Result, error) {
	lim := s.opts.Limits
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan: archive: %w", err)
	}
	in := &archiveInput{r: r}
	cnt := &archiveCounter{ctx: ctx, max: lim.MaxArchiveBytes}
	a := &archiveScan{s: s, add: add, in: in, cnt: cnt, seen: map[string]bool{}, listed: map[string]bool{}}
	zr, err := gzip.NewReader(in)
	if err != nil {
		return nil, a.fail(err)
	}
	defer zr.Close()
	cnt.r = zr
	tr := tar.NewReader(cnt)

	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("scan: archive: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return nil, a.fail(err) // we check paths ourselves; any other error is fatal
		}
		entries++
		if entries > lim.MaxEntries {
			return nil, &LimitError{Msg: fmt.Sprintf("archive has more than %d entries", lim.MaxEntries)}
		}
		if err := a.entry(hdr, tr); err != nil {
			return nil, err
		}
	}
	if !cnt.endMarker() {
		return nil, fmt.Errorf("%w: tar ends without its end-of-archive marker", ErrCorruptArchive)
	}
	// Read to the end so gzip checks its trailer (CRC and length): a download cut short fails here.
	if _, err := io.Copy(io.Discard, cnt); err != nil {
		return nil, a.fail(err)
	}
	if a.root == "" {
		return nil, fmt.Errorf("%w: archive has no top directory", ErrCorruptArchive)
	}
	return s.Result(), nil
}

// archiveScan is the state of one TarGz call.
type archiveScan struct {
	s      *Scanner
	add    func(file string, r io.Reader) error
	in     *archiveInput
	cnt    *archiveCounter
	root   string          // the top directory, from the first entry with a valid name
	seen   map[string]bool // manifest paths already met
	listed map[string]bool // names already listed as skipped
}

// entry handles one tar header.
func (a *archiveScan) entry(hdr *tar.Header, tr *tar.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, ok := a.relPath(hdr)
	if !ok || rel == "" { // skipped, or the top directory itself
		return nil
	}
	manifest := IsManifest(rel)
	if hdr.Typeflag == tar.TypeDir {
		return nil
	}
	if manifest {
		if a.seen[rel] {
			a.skip(rel, "duplicate entry: the archive holds this path more than once")
			return nil
		}
		a.seen[rel] = true
	}
	switch hdr.Typeflag {
	case tar.TypeReg, typeRegA:
		if !manifest {
			return nil
		}
		if max := a.s.opts.Limits.MaxFileBytes; hdr.Size > max {
			a.skip(rel, tooBigReason(max)) // the same words as AddFile and Dir use
			return nil
		}
		er := &archiveEntry{r: tr}
		err := a.add(rel, er)
		if er.err != nil {
			return a.fail(er.err) // the archive broke while the file was read, whatever AddFile made of it
		}
		if err != nil {
			return fmt.Errorf("scan: %s: %w", rel, err)
		}
	case tar.TypeSymlink:
		if manifest || IsManifest(hdr.Linkname) {
			a.skip(rel, "symlink to "+strconv.Quote(clip(hdr.Linkname)))
		}
	case tar.TypeLink:
		a.skip(rel, "hard link to "+strconv.Quote(clip(hdr.Linkname)))
	case tar.TypeChar:
		a.skip(rel, "character device")
	case tar.TypeBlock:
		a.skip(rel, "block device")
	case tar.TypeFifo:
		a.skip(rel, "named pipe (FIFO)")
	default:
		a.skip(rel, fmt.Sprintf("unsupported tar entry type %q", hdr.Typeflag))
	}
	return nil
}

// typeRegA is the legacy regular-file type ('\x00'); archive/tar maps it to TypeReg on read,
// spelled out here in case an entry still carries it.
const typeRegA = '\x00'

// relPath strips the top directory from hdr.Name. It returns ok=false for an entry it skipped
// (with the reason recorded), and rel="" for the top directory itself.
//
// An entry skipped for its name is listed under that whole name, top directory included: it is no
// path of the repository, and a shortened name could collide with another entry's (top/../x.yaml
// and ../x.yaml are different entries). The name is checked before it can set the top directory, so
// a hostile first entry cannot take the root's place.
func (a *archiveScan) relPath(hdr *tar.Header) (rel string, ok bool) {
	name := hdr.Name
	skip := func(shown, reason string) (string, bool) {
		a.skip(clip(shown), reason)
		return "", false
	}
	switch {
	case !utf8.ValidString(name):
		return skip(strings.ToValidUTF8(name, "\uFFFD"), "name is not valid UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return skip(strconv.QuoteToASCII(name), "name contains control characters")
	case strings.HasPrefix(name, "/"):
		return skip(name, "absolute path")
	}
	switch nameShape(strings.TrimSuffix(name, "/")) {
	case escapes:
		return skip(name, "path escapes the archive root")
	case notCanonical:
		return skip(name, "path is not canonical (empty, \".\" or \"..\" parts)")
	}
	top, rest, nested := strings.Cut(strings.TrimSuffix(name, "/"), "/")
	if !nested && hdr.Typeflag != tar.TypeDir {
		return skip(name, "outside the archive's top directory") // a file beside it
	}
	if a.root == "" {
		a.root = top
	}
	if top != a.root {
		return skip(name, "outside the archive's top directory "+strconv.Quote(a.root+"/"))
	}
	return rest, true
}

// Shapes of an entry name, for relPath.
const (
	canonical    = iota
	notCanonical // an empty, "." or ".." part that stays inside the top directory
	escapes      // a ".." part that climbs to the archive root or above it, out of the top directory
)

// nameShape classifies a relative entry name (without its trailing slash). The archive root itself
// is outside the repository: the repository is the top directory below it.
func nameShape(name string) int {
	shape, depth := canonical, 0
	for part := range strings.SplitSeq(name, "/") {
		switch part {
		case "..":
			if depth--; depth <= 0 {
				return escapes
			}
			shape = notCanonical
		case "", ".":
			shape = notCanonical
		default:
			depth++
		}
	}
	return shape
}

// skip lists an entry that is not read, once per name: a repeat of a name already listed (a second
// symlink, a manifest path met again after its first entry was skipped) adds nothing, so each name
// shows once with the first entry's reason.
func (a *archiveScan) skip(file, reason string) {
	if a.listed[file] {
		return
	}
	a.listed[file] = true
	a.s.Skip(file, reason)
}

// fail turns an error met while reading the archive into what TarGz returns.
func (a *archiveScan) fail(err error) error {
	if c := a.cnt.err; c != nil {
		var le *LimitError
		if errors.As(c, &le) {
			return le
		}
		if cerr := a.cnt.ctx.Err(); cerr != nil && errors.Is(c, cerr) {
			return fmt.Errorf("scan: archive: %w", c)
		}
	}
	if in := a.in.err; in != nil {
		if errors.Is(in, io.ErrUnexpectedEOF) { // the download ended early
			return fmt.Errorf("%w: %w", ErrCorruptArchive, in)
		}
		return fmt.Errorf("scan: reading archive: %w", in)
	}
	return fmt.Errorf("%w: %w", ErrCorruptArchive, err)
}

// archiveInput remembers the first error of the compressed input, so a failed download is not
// mistaken for a corrupt archive.
type archiveInput struct {
	r   io.Reader
	err error
}

func (in *archiveInput) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if err != nil && err != io.EOF && in.err == nil {
		in.err = err
	}
	return n, err
}

// archiveCounter sits between gzip and tar: it counts uncompressed bytes against the limit, stops
// on ctx even inside a huge entry, and keeps the last two tar blocks to tell a tar that ended with
// its end-of-archive marker from one cut at an entry boundary.
type archiveCounter struct {
	ctx  context.Context
	r    io.Reader
	max  int64
	n    int64
	err  error // first error returned, other than io.EOF
	tail [2 * 512]byte
}

func (c *archiveCounter) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	if left := c.max - c.n + 1; int64(len(p)) > left {
		p = p[:left] // never read far past the limit: one byte over is enough to know
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.keepTail(p[:n])
	if c.n > c.max {
		c.err = &LimitError{Msg: fmt.Sprintf("archive is over the %s limit uncompressed", formatSize(c.max))}
		return n, c.err
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (c *archiveCounter) keepTail(b []byte) {
	if len(b) >= len(c.tail) {
		copy(c.tail[:], b[len(b)-len(c.tail):])
		return
	}
	copy(c.tail[:], c.tail[len(b):])
	copy(c.tail[len(c.tail)-len(b):], b)
}

// endMarker reports whether the bytes read so far end with two zero blocks.
func (c *archiveCounter) endMarker() bool {
	if c.n < int64(len(c.tail)) {
		return false
	}
	for _, b := range c.tail {
		if b != 0 {
			return false
		}
	}
	return true
}

// archiveEntry is the current entry's data as handed to AddFile; it remembers a read error so a
// broken archive aborts the scan even if AddFile records it as a per-file error.
type archiveEntry struct {
	r   io.Reader
	err error
}

func (e *archiveEntry) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// clip bounds a name or link target shown to users.
func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

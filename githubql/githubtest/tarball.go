package githubtest

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

var notFound = map[string]string{
	"message":           "Not Found",
	"documentation_url": "https://docs.github.com/rest/repos/contents#download-a-repository-archive-tar",
	"status":            "404",
}

// serveTarball answers GET /repos/{owner}/{name}/tarball/{ref} like api.github.com: 302 to the archive host.
func (s *Server) serveTarball(w http.ResponseWriter, r *http.Request) {
	rec := s.begin(w, r, KindTarball)
	defer s.end(rec)
	if r.Context().Err() != nil {
		return
	}
	s.mu.Lock()
	s.stats.Tarball++
	s.mu.Unlock()
	if !s.authorized(rec, r, "https://docs.github.com/rest") {
		return
	}
	if s.injectTarballLimit(rec) || s.injectCounted(rec, &s.faults.tarballNext, &s.faults.tarballStatus) {
		return
	}
	owner, name, ref := r.PathValue("owner"), r.PathValue("name"), r.PathValue("ref")
	repo, ok := s.byName(owner, name)
	if ok {
		_, ok = resolveArchive(repo, ref)
	}
	if !ok {
		writeJSON(rec, http.StatusNotFound, notFound)
		return
	}
	if ref == "" {
		ref = repo.DefaultBranch
	}
	loc := s.loadBase + "/" + url.PathEscape(repo.Owner) + "/" + url.PathEscape(repo.Name) + "/legacy.tar.gz/" + escapeRef(ref)
	rec.Header().Set("Location", loc)
	rec.WriteHeader(http.StatusFound)
}

func escapeRef(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// takeLimit reports whether the request meets a limit (a queued one or the running penalty)
// and, when it does, counts it and sets Retry-After; the caller writes the host's answer.
func (s *Server) takeLimit(w *recorder, queued *[]time.Duration, penaltyUntil *time.Time) bool {
	s.mu.Lock()
	kind, retryAfter := s.limitLocked(s.now(), queued, penaltyUntil)
	if kind != "" {
		s.stats.Injected++
	}
	s.mu.Unlock()
	if kind == "" {
		return false
	}
	w.req.Injected = kind
	retryAfterHeader(w, retryAfter)
	return true
}

// injectTarballLimit answers GitHub's REST secondary rate limit (403, JSON, Retry-After) to a tarball
// request that meets one: the API host's penalty (shared with GraphQL) or one queued for tarballs.
func (s *Server) injectTarballLimit(w *recorder) bool {
	if !s.takeLimit(w, &s.faults.tarballSecondary, &s.faults.penaltyUntil) {
		return false
	}
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.",
		"documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",
	})
	return true
}

// injectCodeloadLimit answers 429 Too Many Requests with Retry-After to an archive download that
// meets a limit of the archive host: its running penalty, or one queued.
func (s *Server) injectCodeloadLimit(w *recorder) bool {
	if !s.takeLimit(w, &s.faults.codeloadLimit, &s.faults.codeloadPenaltyUntil) {
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = io.WriteString(w, "429: Too Many Requests")
	return true
}

// injectCounted answers with status while *n > 0.
func (s *Server) injectCounted(w *recorder, n, status *int) bool {
	s.mu.Lock()
	inject := *n > 0
	code := *status
	if inject {
		*n--
		s.stats.Injected++
	}
	s.mu.Unlock()
	if !inject {
		return false
	}
	w.req.Injected = "status"
	writeUnicorn(w, code)
	return true
}

func (s *Server) codeloadMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{owner}/{name}/legacy.tar.gz/{ref...}", s.serveCodeload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rec := s.begin(w, r, KindCodeload)
		defer s.end(rec)
		http.NotFound(rec, r)
	})
	return mux
}

// archive is what a ref of a repo downloads as.
type archive struct {
	sha      string
	explicit []TarEntry
}

// resolveArchive accepts what GitHub accepts: an explicit Tarballs key, the default branch (also as
// heads/… or refs/heads/…, or no ref at all), or the head sha (full or at least 7 hex digits).
func resolveArchive(r *Repo, ref string) (archive, bool) {
	if es, ok := r.Tarballs[ref]; ok {
		return archive{sha: r.HeadOID, explicit: es}, true
	}
	if r.DefaultBranch == "" {
		return archive{}, false // empty repository
	}
	b := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/"), "heads/")
	if ref == "" || b == r.DefaultBranch {
		return archive{sha: r.HeadOID}, true
	}
	if len(ref) >= 7 && strings.HasPrefix(r.HeadOID, strings.ToLower(ref)) {
		return archive{sha: r.HeadOID}, true
	}
	return archive{}, false
}

// serveCodeload serves the gzip tar like codeload.github.com, recording whether credentials leaked.
func (s *Server) serveCodeload(w http.ResponseWriter, r *http.Request) {
	rec := s.begin(w, r, KindCodeload)
	defer s.end(rec)
	if r.Context().Err() != nil {
		return
	}
	s.mu.Lock()
	s.stats.Codeload++
	if r.Header.Get("Authorization") != "" {
		s.stats.CodeloadWithAuth++
	}
	s.mu.Unlock()
	if s.injectCodeloadLimit(rec) || s.injectCounted(rec, &s.faults.codeloadNext, &s.faults.codeloadStatus) {
		return
	}
	repo, ok := s.byName(r.PathValue("owner"), r.PathValue("name"))
	var a archive
	if ok {
		a, ok = resolveArchive(repo, r.PathValue("ref"))
	}
	if !ok {
		rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rec.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(rec, "404: Not Found")
		return
	}
	prefix := repo.Owner + "-" + repo.Name + "-" + a.sha[:min(7, len(a.sha))]
	rec.Header().Set("Content-Type", "application/x-gzip")
	rec.Header().Set("Content-Disposition", "attachment; filename="+prefix+".tar.gz")
	rec.Header().Set("ETag", `"`+a.sha+`"`)
	rec.WriteHeader(http.StatusOK)

	if a.explicit == nil && repo.Generate != nil {
		s.serveGenerated(w, r, rec, repo, prefix, a.sha)
		return
	}
	entries := a.explicit
	if entries == nil {
		entries = gitArchiveEntries(prefix, a.sha, repo.Files)
	}
	zw := gzip.NewWriter(rec)
	tw := tar.NewWriter(zw)
	mtime := repo.HeadCommittedAt
	for _, e := range entries {
		if err := writeEntry(tw, e, mtime); err != nil {
			// Headers are sent: cut the stream as a broken download would be.
			panic(http.ErrAbortHandler)
		}
	}
	if tw.Close() != nil || zw.Close() != nil {
		panic(http.ErrAbortHandler)
	}
}

// gitArchiveEntries lays out files as `git archive` does: a pax global header carrying the commit
// sha, then prefix/ and every directory before its contents, in path order.
func gitArchiveEntries(prefix, sha string, files map[string]string) []TarEntry {
	es := []TarEntry{
		{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": sha}},
		{Name: prefix + "/", Typeflag: tar.TypeDir, Mode: 0o775},
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, strings.TrimPrefix(path.Clean("/"+n), "/"))
	}
	slices.Sort(names)
	dirs := map[string]bool{}
	for _, n := range names {
		var parents []string
		for d := path.Dir(n); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		slices.Reverse(parents)
		for _, d := range parents {
			es = append(es, TarEntry{Name: prefix + "/" + d + "/", Typeflag: tar.TypeDir, Mode: 0o775})
		}
		es = append(es, TarEntry{Name: prefix + "/" + n, Typeflag: tar.TypeReg, Mode: 0o664, Body: []byte(contentOf(files, n))})
	}
	return es
}

// contentOf finds a file by its cleaned name.
func contentOf(files map[string]string, clean string) string {
	if c, ok := files[clean]; ok {
		return c
	}
	for n, c := range files {
		if strings.TrimPrefix(path.Clean("/"+n), "/") == clean {
			return c
		}
	}
	return ""
}

func writeEntry(tw *tar.Writer, e TarEntry, mtime time.Time) error {
	typ := e.Typeflag
	if typ == 0 {
		typ = tar.TypeReg
	}
	mode := e.Mode
	if mode == 0 {
		mode = 0o644
	}
	size := max(e.Size, int64(len(e.Body)))
	hdr := &tar.Header{
		Typeflag: typ, Name: e.Name, Linkname: e.Linkname, Mode: mode, ModTime: mtime,
		Uname: "root", Gname: "root", PAXRecords: e.PAXRecords,
	}
	if typ == tar.TypeXGlobalHeader {
		hdr = &tar.Header{Typeflag: typ, Name: e.Name, PAXRecords: e.PAXRecords}
		return tw.WriteHeader(hdr)
	}
	if typ == tar.TypeReg || size > 0 {
		hdr.Size = size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Size == 0 {
		return nil
	}
	if _, err := tw.Write(e.Body); err != nil {
		return err
	}
	// Pad huge files with zeros without holding them in memory.
	zeros := make([]byte, 32<<10)
	for left := size - int64(len(e.Body)); left > 0; {
		n := min(left, int64(len(zeros)))
		if _, err := tw.Write(zeros[:n]); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

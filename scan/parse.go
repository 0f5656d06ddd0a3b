package scan

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// What AddFile does with a file, in order:
//
//   - Bigger than Limits.MaxFileBytes: listed in Result.Skipped ("not read at all"), not counted in Files.
//   - Not text (a UTF-16 byte order mark, a NUL byte, invalid UTF-8): one per-file error, no documents.
//     A UTF-8 byte order mark is dropped; CRLF line ends are fine.
//   - Split into documents at "---" lines (and "..." end markers), by hand so every document keeps its first
//     line number; blank and comment-only documents are not documents. Past Limits.MaxDocsPerFile the rest
//     of the file is ignored with a per-file error.
//   - Each document is parsed with sigs.k8s.io/yaml (YAML → JSON, as Kubernetes and Flux read manifests),
//     strictly first; a document with duplicate keys is re-read leniently (the last value wins, as kubectl
//     does) and each duplicate is reported. Numbers stay exact (json.Number). A document that does not
//     parse is a per-document error at its absolute line; the file's other documents still count.
//   - Limits.MaxDepth and Limits.MaxNodes (values after alias expansion) are checked on the decoded value.
//     Documents that define anchors are first measured on yaml.v2's own tree, so an alias bomb is refused
//     before it is ever turned into JSON.
//   - Mappings with apiVersion, kind and metadata.name become Objects (items of a `kind: List` too, and
//     kustomize's own kustomization.yaml); they are redacted, hashed and handed to the facts and namespace
//     collectors. Other documents (Helm values files, app configs) only count in Documents.

const (
	kustomizeGroup             = "kustomize.config.k8s.io"
	kustomizeDefaultAPIVersion = "kustomize.config.k8s.io/v1beta1"

	// expandFactor bounds the scalar text a document may expand to through aliases, as a multiple of
	// Limits.MaxFileBytes: a 10-byte alias of a 100 KiB string would otherwise cost 100 KiB of JSON each.
	expandFactor = 4
	// maxDupReports caps duplicate-key errors per document.
	maxDupReports = 10
)

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16BEBOM = []byte{0xFE, 0xFF}
	utf16LEBOM = []byte{0xFF, 0xFE}
)

// AddFile reads one manifest file. Problems with the file itself become per-file errors or skips; the
// error returned is only for what must stop the scan: a failing r, or an error from Options.Content.
func (s *Scanner) AddFile(file string, r io.Reader) error {
	lim := s.opts.Limits
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	data, err := readAtMost(r, (*bp)[:0], lim.MaxFileBytes+1)
	*bp = data[:0]
	if err != nil {
		return fmt.Errorf("scan: read %s: %w", file, err)
	}
	if int64(len(data)) > lim.MaxFileBytes {
		s.Skip(file, tooBigReason(lim.MaxFileBytes))
		return nil
	}
	s.res.Files++
	s.res.Bytes += int64(len(data))
	return s.addData(file, data)
}

// readBuffers recycles file buffers: nothing parsed from a file keeps a reference to its bytes (JSON,
// decoded values and messages are all copies), so a buffer is free again once AddFile returns.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// readAtMost appends up to max bytes of r to buf.
func readAtMost(r io.Reader, buf []byte, max int64) ([]byte, error) {
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):min(int64(cap(buf)), max)]
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// tooBigReason is the Skipped message for a file over the size limit.
func tooBigReason(limit int64) string {
	return "larger than the " + formatSize(limit) + " file limit"
}

// formatSize writes a byte count the way people say it: 1 MiB, 512 KiB, 1.5 MiB, 300 bytes.
func formatSize(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	unit := func(v int64, div int64, name string) string {
		if v%div == 0 {
			return strconv.FormatInt(v/div, 10) + " " + name
		}
		return strconv.FormatFloat(float64(v)/float64(div), 'f', 1, 64) + " " + name
	}
	switch {
	case n >= gib:
		return unit(n, gib, "GiB")
	case n >= mib:
		return unit(n, mib, "MiB")
	case n >= kib:
		return unit(n, kib, "KiB")
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// addData checks that data is UTF-8 text, then reads its documents.
func (s *Scanner) addData(file string, data []byte) error {
	if bytes.HasPrefix(data, utf16BEBOM) || bytes.HasPrefix(data, utf16LEBOM) {
		s.fileError(file, 0, "UTF-16 text (it starts with a UTF-16 byte order mark); manifests must be UTF-8")
		return nil
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if i := bytes.IndexByte(data, 0); i >= 0 {
		s.fileError(file, lineAt(data, i), "binary content (a NUL byte), not a YAML file")
		return nil
	}
	if !utf8.Valid(data) {
		s.fileError(file, lineAt(data, invalidUTF8At(data)), "not valid UTF-8 text")
		return nil
	}

	lim := s.opts.Limits
	docs := 0
	var stop error
	splitDocuments(data, func(d rawDoc) bool {
		if docs == lim.MaxDocsPerFile {
			s.fileError(file, d.first, "more than %d YAML documents; the rest of the file was ignored", lim.MaxDocsPerFile)
			return false
		}
		idx := docs
		docs++
		s.res.Documents++
		if err := s.addDocument(file, idx, d); err != nil {
			stop = err
			return false
		}
		return true
	})
	return stop
}

// lineAt is the 1-based line of byte offset i.
func lineAt(data []byte, i int) int {
	if i > len(data) {
		i = len(data)
	}
	return bytes.Count(data[:i], []byte{'\n'}) + 1
}

// invalidUTF8At is the offset of the first byte that is not valid UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// rawDoc is one document of a stream.
type rawDoc struct {
	data  []byte // the document's text, from its first line (which may be a "---" with content)
	line  int    // 1-based line of data[0] in the file: yaml's relative lines count from here
	first int    // 1-based line of the first line that is not blank, a comment, a directive or a marker
}

// splitDocuments calls fn with every non-empty document of data, in order, until fn returns false.
//
// A line that starts with "---" followed by nothing, blanks or a comment separates documents, and so
// does a "..." end marker. YAML forbids both at column 0 inside any scalar, so this is exact for what
// yaml.v2 accepts; a "---" with content after it ("--- |") starts the next document on that line.
// Leading %-directives stay with the document they introduce.
func splitDocuments(data []byte, fn func(rawDoc) bool) {
	start, startLine := 0, 1 // current document
	first := 0               // its first content line, 0 while it has none
	directives := false      // it has only directives (and comments) so far
	line := 1
	emit := func(end int) bool {
		if first == 0 {
			return true
		}
		return fn(rawDoc{data: data[start:end], line: startLine, first: first})
	}
	for pos := 0; pos < len(data); line++ {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			end += pos
			next = end + 1
		} else {
			end = len(data)
		}
		text := data[pos:end]
		switch marker, content := docMarker(text); {
		case marker == "---" && directives && first == 0:
			// "%YAML 1.1\n---": the directives belong to this document; keep going.
			directives = false
			if content {
				first = line
			}
		case marker != "":
			if !emit(pos) {
				return
			}
			first, directives = 0, false
			if marker == "---" && content {
				start, startLine, first = pos, line, line
			} else {
				start, startLine = next, line+1
			}
		case first == 0:
			switch t := bytes.TrimLeft(text, " \t"); {
			case len(t) == 0 || t[0] == '#' || (len(t) == 1 && t[0] == '\r'):
			case text[0] == '%':
				directives = true
			default:
				first = line
			}
		}
		pos = next
	}
	emit(len(data))
}

// docMarker reports whether a line is a document marker ("---" or "...") and whether content follows it.
func docMarker(line []byte) (marker string, content bool) {
	if len(line) < 3 || !(bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("..."))) {
		return "", false
	}
	marker = string(line[:3])
	rest := bytes.TrimRight(line[3:], "\r")
	if len(rest) == 0 {
		return marker, false
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false // "---foo" is a plain scalar, not a marker
	}
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) == 0 || rest[0] == '#' {
		return marker, false
	}
	if marker == "..." {
		return "", false // "... foo" is not a marker; leave it to the parser
	}
	return marker, true
}

// addDocument parses one document and records what it holds.
func (s *Scanner) addDocument(file string, idx int, d rawDoc) error {
	yd, err := decodeYAML(d.data, s.opts.Limits, true)
	for _, dup := range yd.dups {
		s.fileError(file, d.absLine(dup.line), "%s", dup.msg)
	}
	if err != nil {
		line, msg := d.first, err.Error()
		var de *docError
		if errors.As(err, &de) {
			if de.line > 0 {
				line = d.absLine(de.line)
			}
			msg = de.msg
		}
		if bytes.Contains(d.data, []byte("{{")) || bytes.Contains(d.data, []byte("{%")) {
			msg = "looks like a Helm/Go template ({{ … }}), not plain YAML: " + msg
		}
		s.fileError(file, line, "%s", msg)
		return nil
	}
	m, ok := yd.value.(map[string]any)
	if !ok {
		return nil
	}
	if dir, ok := kustomizationDir(file); ok {
		if handled, err := s.addKustomization(file, dir, idx, d.first, m, yd.json); handled {
			return err
		}
	}
	if kind, _ := m["kind"].(string); kind == "List" {
		if items, ok := m["items"].([]any); ok {
			for _, it := range items {
				if im, ok := it.(map[string]any); ok {
					if err := s.addObject(file, idx, d.first, im, nil); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	return s.addObject(file, idx, d.first, m, yd.json)
}

// absLine turns a line relative to the document's text (1-based) into a line of the file, clamped to
// the document (yaml reports end-of-stream problems on the line after the last).
func (d rawDoc) absLine(rel int) int {
	if rel < 1 {
		return d.first
	}
	last := d.line + bytes.Count(bytes.TrimRight(d.data, "\n"), []byte{'\n'})
	return min(d.line+rel-1, last)
}

// kustomizationDir reports whether file is kustomize's own kustomization file, and its directory.
func kustomizationDir(file string) (string, bool) {
	switch path.Base(file) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return path.Dir(file), true
	}
	return "", false
}

// addKustomization records a kustomization.yaml document as an object named after its directory.
// It is not handled (false) when the document is some other object that merely lives in that file.
func (s *Scanner) addKustomization(file, dir string, idx, line int, m map[string]any, raw []byte) (bool, error) {
	av, avOK := m["apiVersion"]
	k, kOK := m["kind"]
	apiVersion, _ := av.(string)
	kind, _ := k.(string)
	if (avOK && !strings.HasPrefix(apiVersion, kustomizeGroup+"/")) ||
		(kOK && kind != "Kustomization" && kind != "Component") {
		return false, nil
	}
	if apiVersion == "" {
		apiVersion = kustomizeDefaultAPIVersion
	}
	if kind == "" {
		kind = "Kustomization"
	}
	ns, _ := m["namespace"].(string)
	o := Object{
		File: file, Doc: idx, Line: line,
		APIVersion: apiVersion, Group: kustomizeGroup, Kind: kind, Name: dir,
		Namespace:  ns,
		explicitNS: true, // its namespace is its own field or nothing; inference never applies
	}
	if kind == "Kustomization" && ns != "" {
		s.ns.addKustomization(dir, file, ns)
	}
	return true, s.storeObject(o, m, raw)
}

// addObject records m when it is an object (apiVersion, kind and metadata.name are non-empty strings).
// raw is m's JSON as sigs.k8s.io/yaml wrote it, when m is a whole document; nil otherwise.
func (s *Scanner) addObject(file string, idx, line int, m map[string]any, raw []byte) error {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return nil
	}
	o := Object{
		File: file, Doc: idx, Line: line,
		APIVersion: apiVersion, Group: groupOf(apiVersion), Kind: kind, Name: name,
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		o.Namespace, o.explicitNS = ns, true
	}
	return s.storeObject(o, m, raw)
}

// groupOf is the API group of an apiVersion ("" for the core group's "v1").
func groupOf(apiVersion string) string {
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		return g
	}
	return ""
}

// storeObject redacts m, hashes its canonical JSON, hands the content over, and lets the collectors see it.
func (s *Scanner) storeObject(o Object, m map[string]any, raw []byte) error {
	content := raw
	// sigs.k8s.io/yaml wrote raw with encoding/json from the same tree m was decoded from, so re-encoding
	// an unchanged m gives the same bytes — except where yaml.v2 produced invalid UTF-8 (!!binary), which
	// json.Marshal wrote as \ufffd escapes: re-encode then.
	if redactObject(m, o.Group, o.Kind) || raw == nil || bytes.Contains(raw, []byte(`\ufffd`)) {
		var err error
		if content, err = canonicalJSON(m); err != nil {
			// Cannot happen for a tree decoded from JSON; keep the object findable anyway.
			content = []byte("null")
		}
	}
	sum := sha256.Sum256(content)
	o.Hash = hex.EncodeToString(sum[:])
	if s.opts.Content != nil {
		if err := s.opts.Content(o.Hash, content); err != nil {
			return fmt.Errorf("scan: %s: %w", o.File, err)
		}
	} else {
		o.Content = content
	}
	idx := len(s.res.Objects)
	s.res.Objects = append(s.res.Objects, o)
	s.facts.add(&s.res.Objects[idx], idx, m)
	s.ns.addObject(&s.res.Objects[idx], idx, m)
	return nil
}

// canonicalJSON is the canonical form of a decoded tree: compact JSON with sorted keys (encoding/json sorts
// map keys). It is what an object's Hash is computed over.
func canonicalJSON(v any) ([]byte, error) {
	return json.Marshal(v)
}

// decodeDocument parses one YAML document (the first, if data holds several) leniently: duplicate keys
// keep their last value. Numbers are json.Number; depth and size are bounded by lim (zero fields take
// the defaults). Errors carry lines relative to data.
func decodeDocument(data []byte, lim Limits) (any, error) {
	yd, err := decodeYAML(data, lim.withDefaults(), false)
	if err != nil {
		return nil, err
	}
	return yd.value, nil
}

// yamlDoc is a parsed document.
type yamlDoc struct {
	json  []byte    // compact JSON with sorted keys, as sigs.k8s.io/yaml wrote it
	value any       // json decoded with UseNumber
	dups  []lineMsg // duplicate keys (strict parsing only)
}

// lineMsg is a message at a line relative to the document.
type lineMsg struct {
	line int
	msg  string
}

// docError is a document that could not be read. line is relative to the document (1-based), 0 if unknown.
type docError struct {
	line int
	msg  string
}

func (e *docError) Error() string {
	if e.line > 0 {
		return "line " + strconv.Itoa(e.line) + ": " + e.msg
	}
	return e.msg
}

// decodeYAML parses one document with sigs.k8s.io/yaml and checks lim (which must have no zero fields).
func decodeYAML(data []byte, lim Limits, strict bool) (yamlDoc, error) {
	var yd yamlDoc
	var tree any         // yaml.v2's own tree, when one of the checks below needs it
	if mayExpand(data) { // aliases could multiply the document: measure before expanding it to JSON
		var err error
		if tree, err = aliasGuard(data, lim); err != nil {
			return yd, err
		}
	}
	if hasScalarKeys(data) { // keys such as 9, 009, "9", yes, true may become one JSON key
		if tree == nil {
			_ = yamlv2.Unmarshal(data, &tree) // a parse error is reported by the real parse
		}
		if err := keyCollision(tree); err != nil {
			return yd, err
		}
	}
	var (
		j   []byte
		err error
	)
	if strict {
		j, err = yaml.YAMLToJSONStrict(data)
		if err != nil {
			if dups, ok := duplicateKeys(err); ok {
				// yaml.v2's strict mode also calls a key that overrides a merged one (<<: *base) a
				// duplicate: with merge keys in the document the reports cannot be trusted.
				if !bytes.Contains(data, []byte("<<")) {
					yd.dups = dups
				}
				j, err = yaml.YAMLToJSON(data)
			}
		}
	} else {
		j, err = yaml.YAMLToJSON(data)
	}
	if err != nil {
		return yd, yamlError(err, data)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return yd, &docError{msg: "not representable as JSON: " + err.Error()}
	}
	if err := checkLimits(v, lim); err != nil {
		return yd, err
	}
	yd.json, yd.value = j, v
	return yd, nil
}

// checkLimits walks a decoded tree: nesting at most lim.MaxDepth, at most lim.MaxNodes values.
func checkLimits(v any, lim Limits) error {
	w := limitWalker{maxDepth: lim.MaxDepth, nodesLeft: lim.MaxNodes}
	if !w.walk(v, 0) {
		return w.err(lim)
	}
	return nil
}

type limitWalker struct {
	maxDepth  int
	nodesLeft int
	checkText bool  // count scalar text too (aliasGuard)
	bytesLeft int64 // text left when checkText
	tooDeep   bool
}

func (w *limitWalker) err(lim Limits) error {
	switch {
	case w.tooDeep:
		return &docError{msg: fmt.Sprintf("nested deeper than the limit of %d levels", lim.MaxDepth)}
	case w.nodesLeft < 0:
		return &docError{msg: fmt.Sprintf("more than %d values (after expanding aliases); the limit protects against alias bombs", lim.MaxNodes)}
	}
	return &docError{msg: fmt.Sprintf("aliases expand to more than %s of text; the limit protects against alias bombs",
		formatSize(lim.MaxFileBytes*expandFactor))}
}

// walk counts v and everything under it; false as soon as a limit is passed.
func (w *limitWalker) walk(v any, depth int) bool {
	w.nodesLeft--
	if w.nodesLeft < 0 {
		return false
	}
	switch t := v.(type) {
	case map[string]any:
		if depth++; depth > w.maxDepth {
			w.tooDeep = true
			return false
		}
		for k, e := range t {
			if !w.text(len(k)) || !w.walk(e, depth) {
				return false
			}
		}
	case []any:
		if depth++; depth > w.maxDepth {
			w.tooDeep = true
			return false
		}
		for _, e := range t {
			if !w.walk(e, depth) {
				return false
			}
		}
	case map[any]any: // yaml.v2
		if depth++; depth > w.maxDepth {
			w.tooDeep = true
			return false
		}
		for k, e := range t {
			if ks, ok := k.(string); ok && !w.text(len(ks)) {
				return false
			}
			if !w.walk(e, depth) {
				return false
			}
		}
	case string:
		return w.text(len(t))
	}
	return true
}

func (w *limitWalker) text(n int) bool {
	if !w.checkText {
		return true
	}
	w.bytesLeft -= int64(n)
	return w.bytesLeft >= 0
}

// safeExpansion bounds the text a document can expand to through aliases without being measured first.
const safeExpansion = 256 << 10

// mayExpand reports whether aliases in data could expand it beyond safeExpansion. Each alias at most
// doubles what has been expanded so far (it repeats an anchored node, whose expansion is part of it), so a
// document of n bytes with r aliases expands to at most n·2^r. Home-ops manifests use a few aliases
// (`name: &app x` … `*app`); those documents skip the second parse. Counting stray '*'s as aliases
// only makes the check stricter.
func mayExpand(data []byte) bool {
	if bytes.IndexByte(data, '&') < 0 {
		return false // no anchors, no aliases
	}
	size := int64(len(data))
	for i := bytes.IndexByte(data, '*'); i >= 0; {
		if i+1 < len(data) && isAnchorByte(data[i+1]) && (i == 0 || isAliasLead(data[i-1])) {
			if size <<= 1; size > safeExpansion {
				return true
			}
		}
		next := bytes.IndexByte(data[i+1:], '*')
		if next < 0 {
			break
		}
		i += next + 1
	}
	return false
}

// isAliasLead: what may precede an alias ("key: *a", "- *a", "[*a, *a]", "{k: *a}").
func isAliasLead(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '[' || c == ',' || c == '{' || c == ':' || c == '-'
}

// isAnchorByte: a character an anchor name may start with (YAML allows more; these are what is used).
func isAnchorByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c|0x20 && c|0x20 <= 'z') || c >= 0x80
}

// aliasGuard measures a document with anchors on yaml.v2's tree (the same parser sigs.k8s.io/yaml uses),
// before anything is expanded into JSON text. yaml.v2 already refuses gross alias bombs ("excessive
// aliasing"); this enforces MaxNodes, MaxDepth and a bound on the expanded text. Parse errors are left
// for the real parse to report.
func aliasGuard(data []byte, lim Limits) (any, error) {
	var v any
	if err := yamlv2.Unmarshal(data, &v); err != nil {
		return nil, nil
	}
	w := limitWalker{maxDepth: lim.MaxDepth, nodesLeft: lim.MaxNodes, checkText: true, bytesLeft: lim.MaxFileBytes * expandFactor}
	if !w.walk(v, 0) {
		return nil, w.err(lim)
	}
	return v, nil
}

// hasScalarKeys reports whether data may have a mapping key that YAML reads as a number or a boolean
// (9:, 0x10:, 1.0:, yes:, on:). Such a key and another one can turn into the same JSON key ("9" from 9,
// 009 and "9"); sigs.k8s.io/yaml then keeps one of them at random, and the object's hash would change
// from one scan to the next. A false alarm only costs a second parse.
func hasScalarKeys(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if bytes.IndexByte(line, '{') >= 0 {
			if flowScalarKeys(line) {
				return true
			}
			continue
		}
		// Block mappings: the key starts the line, after indentation and "- " or "? ".
		t := bytes.TrimLeft(line, " \t")
		for len(t) >= 2 && (t[0] == '-' || t[0] == '?') && (t[1] == ' ' || t[1] == '\t') {
			t = bytes.TrimLeft(t[2:], " \t")
		}
		if len(t) == 0 || !mayStartScalarKey(t[0]) {
			continue
		}
		for i := 0; i < len(t) && i <= 40; i++ {
			if t[i] == ':' && (i+1 == len(t) || isKeyEnd(t[i+1])) {
				if isScalarKeyToken(bytes.TrimRight(t[:i], " \t")) {
					return true
				}
				break
			}
		}
	}
	return false
}

// mayStartScalarKey: the first character of a number or a YAML 1.1 boolean.
func mayStartScalarKey(c byte) bool {
	switch c {
	case '+', '-', '.', 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O':
		return true
	}
	return c >= '0' && c <= '9'
}

// flowScalarKeys checks every "key:" of a line with flow mappings ({9: a, 09: b}).
func flowScalarKeys(line []byte) bool {
	for i := 0; i < len(line); i++ {
		if line[i] != ':' || (i+1 < len(line) && !isKeyEnd(line[i+1])) {
			continue
		}
		start := i
		for start > 0 && i-start < 256 && !isKeyStart(line[start-1]) { // bounded: linear on any input
			start--
		}
		tok := bytes.TrimSpace(line[start:i])
		for bytes.HasPrefix(tok, []byte("- ")) || bytes.HasPrefix(tok, []byte("? ")) {
			tok = bytes.TrimSpace(tok[2:])
		}
		if isScalarKeyToken(tok) {
			return true
		}
	}
	return false
}

func isKeyEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '}'
}

func isKeyStart(c byte) bool { return c == '\n' || c == '{' || c == ',' || c == '[' }

// isScalarKeyToken: an unquoted token YAML 1.1 may resolve to a number or a boolean.
func isScalarKeyToken(tok []byte) bool {
	if len(tok) == 0 || len(tok) > 40 {
		return false
	}
	switch string(tok) {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
		"FALSE", "on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	if c := tok[0]; !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
		return false
	}
	for _, c := range tok {
		if !(c >= '0' && c <= '9') && !strings.ContainsRune("+-._:abcdefABCDEFxXoOinINfF", rune(c)) {
			return false
		}
	}
	return true
}

// keyCollision finds two keys of one mapping of a yaml.v2 tree that sigs.k8s.io/yaml turns into the same
// JSON key.
func keyCollision(v any) error {
	switch t := v.(type) {
	case map[any]any:
		// In a fixed order, so that the same document always gets the same message.
		type key struct {
			json, text string
			ok         bool // sigs.k8s.io/yaml can make a JSON key of it (else it fails on its own)
			k          any
		}
		keys := make([]key, 0, len(t))
		for k := range t {
			js, ok := jsonKey(k)
			keys = append(keys, key{js, yamlKeyText(k), ok, k})
		}
		slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.json, b.json), cmp.Compare(a.text, b.text)) })
		for i, k := range keys {
			if i > 0 && k.ok && keys[i-1].ok && keys[i-1].json == k.json {
				return &docError{msg: fmt.Sprintf("the keys %s and %s of one mapping are the same key (%q) once read as JSON; quote or rename one",
					keys[i-1].text, k.text, k.json)}
			}
		}
		for _, k := range keys {
			if err := keyCollision(t[k.k]); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := keyCollision(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonKey is the JSON key sigs.k8s.io/yaml makes of a yaml.v2 mapping key (see its convertToJSONableObject).
func jsonKey(k any) (string, bool) {
	switch t := k.(type) {
	case string:
		return t, true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case float64:
		s := strconv.FormatFloat(t, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

func yamlKeyText(k any) string {
	if s, ok := k.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(k)
}

// duplicateKeys extracts the duplicate-key reports of a strict parse; ok is false if err is anything else.
func duplicateKeys(err error) ([]lineMsg, bool) {
	var te *yamlv2.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return nil, false
	}
	var out []lineMsg
	for _, e := range te.Errors {
		line, rest, ok := cutLinePrefix(e)
		key, found := strings.CutSuffix(rest, " already set in map")
		if !ok || !found {
			return nil, false
		}
		key = strings.TrimPrefix(key, "key ")
		if len(out) < maxDupReports {
			out = append(out, lineMsg{line: line, msg: "duplicate key " + key + "; the last value is used"})
		}
	}
	return out, true
}

// cutLinePrefix splits "line 12: rest".
func cutLinePrefix(s string) (int, string, bool) {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s, false
	}
	num, rest, ok := strings.Cut(rest, ": ")
	if !ok {
		return 0, s, false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, s, false
	}
	return n, rest, true
}

// parserProblems are yaml.v2 parser (not scanner) errors: their "line N" is 0-based, one less than the
// line they point at. Scanner errors count lines from 1.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// friendlyProblems say what the usual yaml.v2 problems mean in a manifest.
var friendlyProblems = map[string]string{
	"mapping values are not allowed in this context":               "unexpected ':' (a value holds \": \" and needs quotes, or the indentation is wrong)",
	"did not find expected key":                                    "wrong indentation or a missing ':'",
	"did not find expected '-' indicator":                          "a list item and a mapping key at the same indentation",
	"could not find expected ':'":                                  "a line that is neither \"key: value\" nor a list item (missing ':'?)",
	"found character that cannot start any token":                  "a value starts with a character YAML reserves (such as @ or `); quote it",
	"found a tab character that violates indentation":              "a tab used for indentation; YAML needs spaces",
	"found a tab character where an indentation space is expected": "a tab used for indentation; YAML needs spaces",
	"found unexpected end of stream":                               "the document ends inside a quoted string",
	"did not find expected ',' or ']'":                             "an unclosed '[' or a missing ','",
	"did not find expected ',' or '}'":                             "an unclosed '{' or a missing ','",
	"did not find expected node content":                           "a missing value",
	"block sequence entries are not allowed in this context":       "a '- ' list item where a value was expected (check the indentation)",
	"found unknown escape character":                               "an unknown backslash escape in a double-quoted string (use single quotes)",
	"control characters are not allowed":                           "a control character, which YAML does not allow",
	"document contains excessive aliasing":                         "too many aliases (an alias bomb?)",
	"found unexpected document indicator":                          "a document marker inside a quoted string",
	"mapping keys are not allowed in this context":                 "unexpected '?' (a complex mapping key)",
}

// yamlError turns an error of sigs.k8s.io/yaml into a *docError with a readable message and, when it can
// be found, the line relative to data.
func yamlError(err error, data []byte) error {
	msg := err.Error()
	var te *yamlv2.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		line, rest, _ := cutLinePrefix(te.Errors[0])
		return &docError{line: line, msg: "invalid YAML: " + rest}
	}
	if rest, ok := strings.CutPrefix(msg, "json: unsupported value: "); ok {
		return &docError{line: lineOfAny(data, ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF"),
			msg: "a number JSON cannot hold (" + rest + "; .nan and .inf are not allowed in manifests)"}
	}
	problem, isYAML := strings.CutPrefix(msg, "yaml: ")
	if !isYAML {
		return &docError{msg: "invalid YAML: " + msg}
	}
	line, problem, hasLine := cutLinePrefix(problem)
	if hasLine && parserProblems[problem] {
		line++
	}
	switch {
	case strings.HasPrefix(problem, "unknown anchor "):
		name := strings.TrimSuffix(strings.TrimPrefix(problem, "unknown anchor '"), "' referenced")
		return &docError{line: lineOfAny(data, "*"+name), msg: "alias *" + name + " refers to an anchor that is not defined"}
	case strings.HasPrefix(problem, "invalid map key:"), strings.HasPrefix(problem, "unsupported map key"):
		return &docError{line: line, msg: "a mapping key that is itself a mapping, a list or null"}
	case strings.HasPrefix(problem, "exceeded max depth"):
		return &docError{line: line, msg: "nested too deeply"}
	case problem == "control characters are not allowed":
		line = controlCharLine(data)
	}
	text := "invalid YAML: " + problem
	if f, ok := friendlyProblems[problem]; ok {
		text = "invalid YAML: " + f + " (" + problem + ")"
	}
	return &docError{line: line, msg: text}
}

// lineOfAny is the 1-based line of the first occurrence of any of subs in data; 0 when none occurs.
func lineOfAny(data []byte, subs ...string) int {
	best := -1
	for _, s := range subs {
		if i := bytes.Index(data, []byte(s)); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	return lineAt(data, best)
}

// controlCharLine is the line of the first character yaml.v2 refuses as a control character; 0 if none.
func controlCharLine(data []byte) int {
	for i, r := range string(data) {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F || (r >= 0x80 && r <= 0x9F && r != 0x85) ||
			r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF) {
			return lineAt(data, i)
		}
	}
	return 0
}

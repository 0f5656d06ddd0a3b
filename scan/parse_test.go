package scan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// scanFiles scans name/content pairs with lim (zero fields take the defaults).
func scanFiles(t testing.TB, lim Limits, pairs ...string) *Result {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatal("scanFiles wants name/content pairs")
	}
	s := New(Options{Limits: lim})
	for i := 0; i < len(pairs); i += 2 {
		if err := s.AddFile(pairs[i], strings.NewReader(pairs[i+1])); err != nil {
			t.Fatalf("AddFile(%s): %v", pairs[i], err)
		}
	}
	return s.Result()
}

// errorsText lists errors as "file:line: message" for easy matching.
func errorsText(errs []FileError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message))
	}
	return out
}

func objectKeys(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s %d@%d %s/%s %s", o.File, o.Doc, o.Line, o.Kind, o.Name, o.Namespace))
	}
	return out
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestMultiDocumentFile(t *testing.T) {
	src := `# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: apps
data:
  script: |
    echo start
    ---
    echo "--- not a separator either"
--- # a separator with a comment
# only a comment here
---

---
apiVersion: apps/v1
kind: Deployment
metadata: {name: two}
...
---   
replicaCount: 3
image: {repository: nginx}
--- |
  a block scalar document
`
	res := scanFiles(t, Limits{}, "apps/multi.yaml", src)
	if res.Files != 1 || res.Bytes != int64(len(src)) {
		t.Errorf("got files=%d bytes=%d, want 1 and %d", res.Files, res.Bytes, len(src))
	}
	if res.Documents != 4 {
		t.Errorf("got %d documents, want 4 (two objects, a values file, a block scalar)", res.Documents)
	}
	equalStrings(t, "objects", objectKeys(res.Objects), []string{
		"apps/multi.yaml 0@3 ConfigMap/one apps",
		"apps/multi.yaml 1@18 Deployment/two ",
	})
	if len(res.Errors) != 0 {
		t.Errorf("got errors %q, want none", errorsText(res.Errors))
	}
	if got := res.Objects[0].Group; got != "" {
		t.Errorf("got group %q for v1, want the core group", got)
	}
	if got := res.Objects[1].Group; got != "apps" {
		t.Errorf("got group %q for apps/v1, want apps", got)
	}
	var cm map[string]any
	if err := json.Unmarshal(res.Objects[0].Content, &cm); err != nil {
		t.Fatal(err)
	}
	if got := cm["data"].(map[string]any)["script"]; got != "echo start\n---\necho \"--- not a separator either\"\n" {
		t.Errorf("got script %q: the block scalar was cut", got)
	}
}

func TestCRLFAndBOM(t *testing.T) {
	crlf := "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: second\r\n"
	bom := "\xEF\xBB\xBFapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bom\n"
	res := scanFiles(t, Limits{}, "crlf.yaml", crlf, "bom.yaml", bom)
	equalStrings(t, "objects", objectKeys(res.Objects), []string{
		"bom.yaml 0@1 ConfigMap/bom ",
		"crlf.yaml 0@1 ConfigMap/crlf ",
		"crlf.yaml 1@6 ConfigMap/second ",
	})
	if len(res.Errors) != 0 {
		t.Errorf("got errors %q, want none", errorsText(res.Errors))
	}
}

func TestFileLevelErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          string // "line: message part"
	}{
		{"binary", "apiVersion: v1\nkind: ConfigMap\x00\x01\x02", "2: binary content"},
		{"invalid utf8", "a: 1\nb: 2\nc: \xff\xfe\n", "3: not valid UTF-8"},
		{"utf16 le", "\xFF\xFEa\x00:\x00 \x001\x00", "0: UTF-16"},
		{"utf16 be", "\xFE\xFF\x00a\x00:", "0: UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scanFiles(t, Limits{}, "f.yaml", tt.content)
			if len(res.Errors) != 1 {
				t.Fatalf("got errors %q, want one", errorsText(res.Errors))
			}
			got := fmt.Sprintf("%d: %s", res.Errors[0].Line, res.Errors[0].Message)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want it to start with %q", got, tt.want)
			}
			if res.Files != 1 || res.Documents != 0 || len(res.Objects) != 0 {
				t.Errorf("got files=%d documents=%d objects=%d, want 1, 0, 0", res.Files, res.Documents, len(res.Objects))
			}
		})
	}
}

func TestDocumentErrorsHaveAbsoluteLines(t *testing.T) {
	src := `apiVersion: v1
kind: ConfigMap
metadata: {name: ok-before}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
  labels:
    a: b: c
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ok-after}
---
list:
  - x
  y: 2
---
flow: [1, 2
---
tabbed:
	key: 1
---
a: *nowhere
`
	res := scanFiles(t, Limits{}, "errs.yaml", src)
	equalStrings(t, "objects", objectKeys(res.Objects), []string{
		"errs.yaml 0@1 ConfigMap/ok-before ",
		"errs.yaml 2@12 ConfigMap/ok-after ",
	})
	if res.Documents != 7 {
		t.Errorf("got %d documents, want 7 (failing ones count)", res.Documents)
	}
	var lines []int
	for _, e := range res.Errors {
		lines = append(lines, e.Line)
		if !strings.Contains(e.Message, "invalid YAML") && !strings.Contains(e.Message, "anchor") {
			t.Errorf("got message %q, want a readable YAML error", e.Message)
		}
	}
	// 10: "a: b: c"; 18: "y: 2" after a list item; 20: unclosed '[' (the document's last line);
	// 23: a tab; 25: the unknown alias.
	if fmt.Sprint(lines) != "[10 18 20 23 25]" {
		t.Errorf("got error lines %v, want [10 18 20 23 25]; errors:\n%s", lines, strings.Join(errorsText(res.Errors), "\n"))
	}
}

func TestTemplateFile(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
`
	res := scanFiles(t, Limits{}, "chart/templates/deploy.yaml", src)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "Helm/Go template") {
		t.Fatalf("got errors %q, want one saying it looks like a template", errorsText(res.Errors))
	}
	if len(res.Objects) != 0 {
		t.Errorf("got %d objects, want none", len(res.Objects))
	}
	res = scanFiles(t, Limits{}, "j.yaml", "a:\n{% if x %}\n  b: 1\n{% endif %}\n")
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "template") {
		t.Errorf("got errors %q, want a Jinja-style template recognised", errorsText(res.Errors))
	}
}

func TestDuplicateKeys(t *testing.T) {
	src := `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: dup
data:
  a: first
  a: second
`
	res := scanFiles(t, Limits{}, "dup.yaml", src)
	equalStrings(t, "errors", errorsText(res.Errors), []string{`dup.yaml:8: duplicate key "a"; the last value is used`})
	if len(res.Objects) != 1 {
		t.Fatalf("got %d objects, want the object kept", len(res.Objects))
	}
	if !bytes.Contains(res.Objects[0].Content, []byte(`"a":"second"`)) {
		t.Errorf("got content %s, want the last value", res.Objects[0].Content)
	}
}

func TestTooManyDocuments(t *testing.T) {
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm%d}\n", i)
	}
	res := scanFiles(t, Limits{MaxDocsPerFile: 3}, "many.yaml", b.String())
	if len(res.Objects) != 3 || res.Documents != 3 {
		t.Errorf("got %d objects and %d documents, want 3 and 3", len(res.Objects), res.Documents)
	}
	equalStrings(t, "errors", errorsText(res.Errors), []string{"many.yaml:14: more than 3 YAML documents; the rest of the file was ignored"})
}

func TestFileSizeLimit(t *testing.T) {
	big := "a: " + strings.Repeat("x", 2000) + "\n"
	res := scanFiles(t, Limits{MaxFileBytes: 1024}, "big.yaml", big, "small.yaml", "a: 1\n")
	equalStrings(t, "skipped", errorsText(res.Skipped), []string{"big.yaml:0: larger than the 1 KiB file limit"})
	if res.Files != 1 || res.Bytes != 5 {
		t.Errorf("got files=%d bytes=%d, want only the small file counted", res.Files, res.Bytes)
	}
	// Exactly at the limit is fine.
	exact := "a: " + strings.Repeat("x", 1024-4) + "\n"
	res = scanFiles(t, Limits{MaxFileBytes: 1024}, "exact.yaml", exact)
	if len(res.Skipped) != 0 || res.Files != 1 {
		t.Errorf("got skipped %q, want a file of exactly the limit read", errorsText(res.Skipped))
	}
}

func TestDepthLimit(t *testing.T) {
	deep := "a:\n" + func() string {
		var b strings.Builder
		for i := 1; i < 10; i++ {
			fmt.Fprintf(&b, "%s%c:\n", strings.Repeat("  ", i), 'a'+i)
		}
		return b.String()
	}()
	res := scanFiles(t, Limits{MaxDepth: 5}, "deep.yaml", deep, "flow.yaml", strings.Repeat("[", 50)+strings.Repeat("]", 50))
	equalStrings(t, "errors", errorsText(res.Errors), []string{
		"deep.yaml:1: nested deeper than the limit of 5 levels",
		"flow.yaml:1: nested deeper than the limit of 5 levels",
	})
	res = scanFiles(t, Limits{MaxDepth: 10}, "deep.yaml", deep)
	if len(res.Errors) != 0 {
		t.Errorf("got errors %q, want 10 levels accepted", errorsText(res.Errors))
	}
}

func TestAliasBombs(t *testing.T) {
	laughs := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	small := `a: &a [1,2,3,4,5,6,7,8,9,10]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
`
	wide := "s: &s \"" + strings.Repeat("x", 64<<10) + "\"\nl: [" + strings.Repeat("*s,", 200) + "*s]\n"
	ok := "base: &base {image: nginx, replicas: 2}\napp: {<<: *base, replicas: 3}\n"
	res := scanFiles(t, Limits{MaxNodes: 500, MaxFileBytes: 256 << 10},
		"laughs.yaml", laughs, "small.yaml", small, "wide.yaml", wide, "ok.yaml", ok)
	got := errorsText(res.Errors)
	if len(got) != 3 {
		t.Fatalf("got errors %q, want three (laughs, small, wide)", got)
	}
	for i, want := range []string{"laughs.yaml:1: ", "small.yaml:1: more than 500 values", "wide.yaml:1: aliases expand to more than 1 MiB"} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("got %q, want it to start with %q", got[i], want)
		}
	}
	if res.Documents != 4 {
		t.Errorf("got %d documents, want 4", res.Documents)
	}
}

func TestNumbersStayExact(t *testing.T) {
	src := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: num}\nbig: 12345678901234567890\nneg: -9007199254740993\nf: 1.10\ne: 1e3\nhtml: <a&b>\n"
	res := scanFiles(t, Limits{}, "n.yaml", src)
	if len(res.Objects) != 1 {
		t.Fatalf("got %d objects, want 1", len(res.Objects))
	}
	c := string(res.Objects[0].Content)
	for _, want := range []string{`"big":12345678901234567890`, `"neg":-9007199254740993`, `"f":1.1`, `"e":1000`, `"html":"\u003ca\u0026b\u003e"`} {
		if !strings.Contains(c, want) {
			t.Errorf("got content %s, want %s", c, want)
		}
	}
	v, err := decodeDocument([]byte("num: 12345678901234567890\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(map[string]any)["num"]; got != json.Number("12345678901234567890") {
		t.Errorf("got %#v, want the exact json.Number", got)
	}
}

func TestDecodeDocument(t *testing.T) {
	if _, err := decodeDocument([]byte("a: [unclosed\n"), Limits{}); err == nil {
		t.Error("got no error for a broken document")
	}
	if _, err := decodeDocument([]byte("a: {b: {c: {d: 1}}}\n"), Limits{MaxDepth: 2}); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("got %v, want the depth limit", err)
	}
	v, err := decodeDocument([]byte("a: 1\na: 2\n"), Limits{})
	if err != nil || v.(map[string]any)["a"] != json.Number("2") {
		t.Errorf("got %v, %v, want duplicate keys accepted with the last value", v, err)
	}
}

// TestCanonicalContent: the hash covers the canonical JSON, so formatting, comments and key order are not
// changes; and reusing sigs.k8s.io/yaml's JSON gives exactly what re-encoding would.
func TestCanonicalContent(t *testing.T) {
	a := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same # comment\ndata:\n  x: '1'\n  y: \"two\"\n"
	b := "kind: ConfigMap\ndata: {y: two, x: \"1\"}\nmetadata: {name: same}\napiVersion: v1\n"
	res := scanFiles(t, Limits{}, "a.yaml", a, "b.yaml", b)
	if len(res.Objects) != 2 || res.Objects[0].Hash != res.Objects[1].Hash {
		t.Fatalf("got %v, want two objects with one hash", objectKeys(res.Objects))
	}
	docs := []string{
		a,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\ndata: {html: \"<&>\", uni: \"h\\u00e9\\u2028\", ctl: \"\\x01\", f: 1.5e300, i: -0, big: 1e21}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bin}\nbinaryData: {b: !!binary /w==}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ts}\ndata: {t: 2024-01-02T03:04:05Z, tt: !!timestamp 2024-01-02}\n",
	}
	for _, d := range docs {
		res := scanFiles(t, Limits{}, "d.yaml", d)
		if len(res.Objects) != 1 {
			t.Fatalf("got %d objects for %q, want 1", len(res.Objects), d)
		}
		o := res.Objects[0]
		var v any
		dec := json.NewDecoder(bytes.NewReader(o.Content))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		again, err := canonicalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, o.Content) {
			t.Errorf("content is not canonical:\n got %s\nwant %s", o.Content, again)
		}
		sum := sha256.Sum256(o.Content)
		if o.Hash != hex.EncodeToString(sum[:]) {
			t.Errorf("got hash %s, want the SHA-256 of the content", o.Hash)
		}
	}
}

func TestContentCallback(t *testing.T) {
	got := map[string]string{}
	s := New(Options{Content: func(hash string, content []byte) error {
		got[hash] = string(content)
		return nil
	}})
	src := "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n"
	if err := s.AddFile("s.yaml", strings.NewReader(src)); err != nil {
		t.Fatal(err)
	}
	res := s.Result()
	if len(res.Objects) != 1 || res.Objects[0].Content != nil {
		t.Fatalf("got objects %v, want one without Content", objectKeys(res.Objects))
	}
	c, ok := got[res.Objects[0].Hash]
	if !ok || strings.Contains(c, "hunter2") || !strings.Contains(c, Redacted) {
		t.Errorf("got content %q for the hash, want the redacted object", c)
	}

	boom := errors.New("disk full")
	s = New(Options{Content: func(string, []byte) error { return boom }})
	if err := s.AddFile("s.yaml", strings.NewReader(src)); !errors.Is(err, boom) {
		t.Errorf("got %v, want the Content error", err)
	}
}

func TestKustomizationFiles(t *testing.T) {
	res := scanFiles(t, Limits{},
		"kustomization.yaml", "resources: [apps]\n",
		"apps/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: media\nresources: [plex]\n",
		"components/kustomization.yml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: []\n",
		"other/kustomization.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-ks, namespace: flux-system}\nspec: {path: ./x}\n",
		"apps/plex/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plex}\n",
	)
	equalStrings(t, "objects", objectKeys(res.Objects), []string{
		"apps/kustomization.yaml 0@1 Kustomization/apps media",
		"apps/plex/cm.yaml 0@1 ConfigMap/plex media",
		"components/kustomization.yml 0@1 Component/components ",
		"kustomization.yaml 0@1 Kustomization/. ",
		"other/kustomization.yaml 0@1 Kustomization/flux-ks flux-system",
	})
	for _, o := range res.Objects {
		switch o.File {
		case "kustomization.yaml":
			if o.APIVersion != kustomizeDefaultAPIVersion || o.Group != kustomizeGroup {
				t.Errorf("got %s %s, want the default kustomize apiVersion", o.APIVersion, o.Group)
			}
		case "other/kustomization.yaml":
			if o.Group != "kustomize.toolkit.fluxcd.io" {
				t.Errorf("got group %s, want the Flux Kustomization kept as itself", o.Group)
			}
		}
	}
}

func TestListItemsAndNonObjects(t *testing.T) {
	src := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
- not: an object
---
replicaCount: 2
---
- just
- a list
---
plain scalar document
---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: no-name}
`
	res := scanFiles(t, Limits{}, "list.yaml", src)
	equalStrings(t, "objects", objectKeys(res.Objects), []string{
		"list.yaml 0@1 Deployment/web ",
		"list.yaml 0@1 Service/web ",
	})
	if res.Documents != 5 || len(res.Errors) != 0 {
		t.Errorf("got %d documents and errors %q, want 5 and none", res.Documents, errorsText(res.Errors))
	}
}

func TestResultIsStableAndNeverNull(t *testing.T) {
	res := scanFiles(t, Limits{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"objects", "charts", "images", "deprecations", "errors", "skipped"} {
		if !bytes.Contains(b, []byte(`"`+field+`":[]`)) {
			t.Errorf("got %s, want %q as []", b, field)
		}
	}
	// Files in any order give the same Result.
	files := []string{
		"b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"a.yaml", "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\n",
		"c.yaml", "a: [\n",
	}
	one := scanFiles(t, Limits{}, files...)
	two := scanFiles(t, Limits{}, files[4], files[5], files[2], files[3], files[0], files[1])
	j1, _ := json.Marshal(one)
	j2, _ := json.Marshal(two)
	if !bytes.Equal(j1, j2) {
		t.Errorf("results differ by reading order:\n%s\n%s", j1, j2)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 20: "1 MiB", 512 << 10: "512 KiB", 3 << 19: "1.5 MiB", 300: "300 bytes", 2 << 30: "2 GiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestKeysThatCollideInJSON: sigs.k8s.io/yaml would keep one of two such keys at random, so the hash
// would change from scan to scan; the document is refused instead.
func TestKeysThatCollideInJSON(t *testing.T) {
	for _, src := range []string{
		"9: a\n\"9\": b\n",
		"yes: a\n\"true\": b\n",
		"nested:\n  - {00009: a, 9: b}\n",
		"f: {1.0: a, 1: b}\n",
	} {
		res := scanFiles(t, Limits{}, "k.yaml", src)
		if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "same key") {
			t.Errorf("%q: got errors %q, want the collision reported", src, errorsText(res.Errors))
		}
	}
	for _, src := range []string{
		"ports:\n  80: http\n  443: https\n",
		"on:\n  push: {branches: [main]}\njobs: {}\n",
		"a: \"9\"\nb: 9\n",
	} {
		if res := scanFiles(t, Limits{}, "k.yaml", src); len(res.Errors) != 0 {
			t.Errorf("%q: got errors %q, want none", src, errorsText(res.Errors))
		}
	}
}

func TestHostileLinesStayLinear(t *testing.T) {
	line := strings.Repeat("x: ", 300_000) // one 900 KB line of would-be keys
	start := time.Now()
	scanFiles(t, Limits{}, "long.yaml", "a: "+line+"\n")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v for one long line, want linear time", d)
	}
}

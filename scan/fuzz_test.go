package scan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fileSep splits one fuzz input into several files, so namespace inference and chart resolution across
// files get exercised too.
const fileSep = "\n#--file--\n"

var fuzzLimits = Limits{MaxFileBytes: 64 << 10, MaxDocsPerFile: 20, MaxDepth: 20, MaxNodes: 5000}

// nastySeeds are inputs that once broke YAML scanners somewhere.
var nastySeeds = []string{
	"",
	"---",
	"--- |\n  text\n---\n...\n",
	"%YAML 1.1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
	"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==, b: [1, 2], c: {d: e}, e: 5, f: null, g: \"${X}\"}\nstringData: {p: hunter2}\n",
	"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: &d {a: b}\nstringData: *d\n",
	"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Secret, metadata: {name: x}, data: {k: v}}]\n",
	"a: &a [x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n",
	"a: &a {<<: *a}\n",
	"? [a, b]\n: c\n",
	"a: !!binary /w==\nb: !!float .inf\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	"\xEF\xBB\xBFa: 1\r\n---\r\nb: 2\r\n",
	"\xFF\xFEa\x00",
	"a: \"\\xff\\u2028\\U0001F600\"\n",
	"apiVersion: {{ .Values.v }}\nkind: Deployment\n",
	"kind: Kustomization\nnamespace: ns\nsecretGenerator: [{name: s, literals: [a=b, c]}]\n" + fileSep + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
	"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k}\nspec: {path: ./a/${X}/../.., targetNamespace: t}\n",
	"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n  source:\n    helm:\n      values: |\n        password: x\n        key: |\n          y\n",
	"env: [{name: TOKEN, value: [1, {a: b}]}]\nurl: \"x://u:p@h x://:@ y://a:b@\"\n",
	"sops: {a: [b, {c: d}], e: 1}\nk: ENC[x]ENC[y]\n",
}

func FuzzScan(f *testing.F) {
	for _, s := range nastySeeds {
		f.Add("", []byte(s))
	}
	// Every fixture file is a seed.
	_ = filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !IsManifest(p) || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && len(b) <= int(fuzzLimits.MaxFileBytes) {
			f.Add(path.Dir(filepath.ToSlash(p)), b)
		}
		return nil
	})

	f.Fuzz(func(t *testing.T, dir string, data []byte) {
		files := splitFuzzInput(dir, data)
		res := scanFuzz(t, files)
		checkFuzzResult(t, files, res)

		again := scanFuzz(t, files)
		j1, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("Result does not encode: %v", err)
		}
		j2, _ := json.Marshal(again)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("two scans of the same files differ:\n%s\n%s", j1, j2)
		}
	})
}

type fuzzFile struct {
	name string
	data []byte
}

func splitFuzzInput(dir string, data []byte) []fuzzFile {
	dir = path.Clean("/" + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F || r == '\\' {
			return -1
		}
		return r
	}, dir))[1:]
	if dir == "" {
		dir = "."
	}
	var files []fuzzFile
	for i, part := range bytes.Split(data, []byte(fileSep)) {
		name := "f" + strconv.Itoa(i) + ".yaml"
		switch i % 3 {
		case 1:
			name = "kustomization.yaml"
		case 2:
			name = "sub/f" + strconv.Itoa(i) + ".yml"
		}
		files = append(files, fuzzFile{name: path.Join(dir, strconv.Itoa(i/3), name), data: part})
	}
	return files
}

func scanFuzz(t *testing.T, files []fuzzFile) *Result {
	s := New(Options{Limits: fuzzLimits})
	for _, f := range files {
		if err := s.AddFile(f.name, bytes.NewReader(f.data)); err != nil {
			t.Fatalf("AddFile(%s): %v", f.name, err)
		}
	}
	return s.Result()
}

// checkResult asserts what must hold for any input.
func checkFuzzResult(t *testing.T, files []fuzzFile, res *Result) {
	t.Helper()
	lines := map[string]int{}
	for _, f := range files {
		lines[f.name] = bytes.Count(f.data, []byte{'\n'}) + 1
	}
	docs := map[string]bool{}
	for _, o := range res.Objects {
		if o.APIVersion == "" || o.Kind == "" || o.Name == "" || o.Hash == "" || o.File == "" {
			t.Fatalf("incomplete object %+v", o)
		}
		sum := sha256.Sum256(o.Content)
		if o.Hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: hash %s is not the SHA-256 of %s", o.File, o.Hash, o.Content)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(o.Content))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: content is not JSON: %v: %s", o.File, err, o.Content)
		}
		canon, err := canonicalJSON(v)
		if err != nil || !bytes.Equal(canon, o.Content) {
			t.Fatalf("%s: content is not canonical:\n got %s\nwant %s", o.File, o.Content, canon)
		}
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: content is not a mapping: %s", o.File, o.Content)
		}
		if o.Group == "" && o.Kind == "Secret" {
			for _, field := range []string{"data", "stringData"} {
				d, _ := m[field].(map[string]any)
				for k, val := range d {
					s, isString := val.(string)
					if val != nil && !(isString && (s == Redacted || s == "" || isSubstitution(s))) {
						t.Fatalf("%s: Secret %s.%s kept a value: %#v", o.File, field, k, val)
					}
				}
			}
		}
		checkNoCiphertext(t, o.File, v)
		if o.Line < 1 || o.Line > lines[o.File] {
			t.Fatalf("%s: object line %d outside the file (%d lines)", o.File, o.Line, lines[o.File])
		}
		docs[o.File+"#"+strconv.Itoa(o.Doc)] = true
	}
	if len(docs) > res.Documents {
		t.Fatalf("%d documents hold objects, but Documents is %d", len(docs), res.Documents)
	}
	for _, e := range append(append([]FileError{}, res.Errors...), res.Skipped...) {
		if _, ok := lines[e.File]; !ok || e.Message == "" {
			t.Fatalf("error for an unknown file or without a message: %+v", e)
		}
		if e.Line < 0 || e.Line > lines[e.File] {
			t.Fatalf("%s: error line %d outside the file (%d lines): %s", e.File, e.Line, lines[e.File], e.Message)
		}
	}
}

// checkNoCiphertext fails when a SOPS ciphertext string survived.
func checkNoCiphertext(t *testing.T, file string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			checkNoCiphertext(t, file, e)
		}
	case []any:
		for _, e := range x {
			checkNoCiphertext(t, file, e)
		}
	case string:
		if isSOPS(x) {
			t.Fatalf("%s: SOPS ciphertext kept: %q", file, x)
		}
	}
}

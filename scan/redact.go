package scan

import (
	"encoding/json"
	"strings"
)

// Redacted replaces every secret value before anything is hashed, stored or shown.
const Redacted = "[redacted]"

// Redaction rules. Objects go through redactObject; any other tree (Helm values) through redactValues.
//
//  1. SOPS ciphertext (a string "ENC[…]") anywhere → Redacted.
//  2. A top-level `sops:` block (SOPS metadata) → every string in it Redacted, structure kept.
//  3. A core-group Secret: every value of `data` and `stringData` → Redacted, keys kept.
//  4. A scalar (string or number) whose key is secret-like → Redacted; so are the scalars of a list held
//     directly by such a key. Mappings under such a key are walked with the same rules, so
//     `credentials: {username: u, password: p}` keeps the username.
//  5. The Kubernetes env-var form `{name: DB_PASSWORD, value: …}`: value → Redacted when the name is
//     secret-like.
//  6. A password in a URL's user info ("postgres://app:hunter2@db/app") → Redacted, the rest kept.
//  7. Text kept in a string (Helm values in an Argo CD Application, a config file in a ConfigMap, a
//     dotenv, a script, a "--password=…" flag): lines whose key is secret-like lose their value (see
//     redactLines), and SOPS ciphertext inside it is replaced.
//  8. kustomize secretGenerator literals ("KEY=value") → "KEY=[redacted]".
//
// What is never redacted: empty strings, booleans and nulls; and values made only of substitutions
// and template expressions (`${VAR}`, `${VAR:=default}`, `{{ .Values.x }}`), which name a secret that is
// elsewhere rather than hold one.
//
// Secret-like keys. A key is compared in lower case without '-', '_', '.' and spaces, so `api_key`,
// `apiKey` and `API-KEY` are the same. It is secret-like when it ENDS with a secret noun: password, passwd,
// passphrase, pwd, secret(s), token(s), credential(s), apikey, privatekey, accesskey, secretkey, clientkey,
// encryptionkey, signingkey, sshkey, licensekey, masterkey, authorization. Ending is the principled part:
// the last word of a key names what its value is, so `secretName`, `tokenSecretRef`, `passwordFile`,
// `tokenTTL`, `passwordLength`, `secretKeyRef` and `tokenUrl` hold a name, a reference, a path or a
// setting *about* a secret and are kept. Keys that start with "existing" (`existingSecret`, bitnami's convention) and a few
// common reference keys that end in "secret" (imagePullSecret(s), envFromSecret, tlsSecret) are
// references too.

// secretSuffixes are the secret nouns a secret-like key ends with (normalised).
var secretSuffixes = []string{
	"password", "passwd", "passphrase", "pwd",
	"secret", "secrets", "token", "tokens", "credential", "credentials",
	"apikey", "apikeys", "privatekey", "accesskey", "secretkey", "clientkey",
	"encryptionkey", "signingkey", "sshkey", "licensekey", "masterkey",
	"authorization", // an HTTP Authorization header value ("Bearer …", "Basic …")
}

// referenceKeys end in a secret noun but name a Secret object (normalised).
var referenceKeys = map[string]bool{
	"imagepullsecret": true, "imagepullsecrets": true, "envfromsecret": true, "tlssecret": true,
}

// secretKey reports whether a mapping key holds a secret (see the rules above).
func secretKey(k string) bool {
	var buf [64]byte
	n := normaliseKey(buf[:0], k)
	if len(n) == 0 || referenceKeys[string(n)] {
		return false
	}
	if len(n) >= len("existing") && string(n[:len("existing")]) == "existing" {
		return false
	}
	for _, suf := range secretSuffixesByLast[n[len(n)-1]] {
		if len(n) >= len(suf) && string(n[len(n)-len(suf):]) == suf {
			return true
		}
	}
	return false
}

// secretSuffixesByLast groups secretSuffixes by their last byte, the first thing secretKey looks at.
var secretSuffixesByLast = func() (by [256][]string) {
	for _, s := range secretSuffixes {
		by[s[len(s)-1]] = append(by[s[len(s)-1]], s)
	}
	return by
}()

// normaliseKey appends k in ASCII lower case without '-', '_', '.' and spaces to dst. It returns dst
// unchanged when k cannot be secret-like because of its last letter, a cheap early out for most keys.
func normaliseKey(dst []byte, k string) []byte {
	if k == "" {
		return dst
	}
	switch k[len(k)-1] | 0x20 { // the last letters of the secret nouns
	case 'd', 'e', 'l', 'n', 's', 't', 'y':
	default:
		return dst
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// redactValues applies the rules for any tree (1, 4, 5, 6), in place where it can, and returns the result
// (which differs from v only when v itself is a scalar that was redacted).
func redactValues(v any) any {
	var r redactor
	return r.walk(v)
}

// redactObject applies every rule to a decoded object in place and reports whether anything changed.
func redactObject(m map[string]any, group, kind string) bool {
	var r redactor
	if group == "" && kind == "Secret" {
		for _, field := range []string{"data", "stringData"} {
			if d, ok := m[field].(map[string]any); ok {
				for k, v := range d {
					if v == nil {
						continue
					}
					if s, ok := v.(string); ok && (s == "" || s == Redacted || isSubstitution(s)) {
						continue
					}
					d[k] = Redacted
					r.changed = true
				}
			}
		}
	}
	if group == kustomizeGroup {
		// secretGenerator literals ("KEY=value") are the data of a Secret.
		gens, _ := m["secretGenerator"].([]any)
		for _, g := range gens {
			gm, _ := g.(map[string]any)
			lits, _ := gm["literals"].([]any)
			for i, l := range lits {
				s, ok := l.(string)
				k, v, found := strings.Cut(s, "=")
				if ok && found && v != "" && v != Redacted && !isSubstitution(v) {
					lits[i] = k + "=" + Redacted
					r.changed = true
				}
			}
		}
	}
	if sops, ok := m["sops"].(map[string]any); ok {
		r.sopsBlock(sops)
	}
	r.mapping(m)
	return r.changed
}

type redactor struct{ changed bool }

// walk applies the rules to any value: maps and lists are changed in place; a string comes back redacted.
func (r *redactor) walk(v any) any {
	switch t := v.(type) {
	case map[string]any:
		r.mapping(t)
	case []any:
		r.list(t, false)
	case string:
		if out, ok := r.text(t); ok {
			return out
		}
	}
	return v
}

// mapping redacts m in place. Values are only written back when they change: rewriting every entry of
// every map would cost more than the rest of the redaction.
func (r *redactor) mapping(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case map[string]any:
			r.mapping(t) // a mapping under a secret-like key is walked with the same rules
		case []any:
			r.list(t, secretKey(k))
		case string:
			if secretKey(k) {
				if secretString(t) {
					m[k] = Redacted
					r.changed = true
				}
			} else if out, ok := r.text(t); ok {
				m[k] = out
			}
		case json.Number, float64, int, int64, uint64:
			if secretKey(k) {
				m[k] = Redacted
				r.changed = true
			}
		}
	}
	// Rule 5: {name: DB_PASSWORD, value: …}
	if name, ok := m["name"].(string); ok && secretKey(name) {
		if v, ok := m["value"]; ok {
			m["value"] = r.secretValue(v)
		}
	}
}

// list redacts l in place; secret means it is held by a secret-like key, so its scalars are secrets.
func (r *redactor) list(l []any, secret bool) {
	for i, e := range l {
		switch t := e.(type) {
		case map[string]any:
			r.mapping(t)
		case []any:
			r.list(t, false)
		case string:
			if secret {
				if secretString(t) {
					l[i] = Redacted
					r.changed = true
				}
			} else if out, ok := r.text(t); ok {
				l[i] = out
			}
		case json.Number, float64, int, int64, uint64:
			if secret {
				l[i] = Redacted
				r.changed = true
			}
		}
	}
}

// secretValue redacts the value of a secret-like key.
func (r *redactor) secretValue(v any) any {
	switch t := v.(type) {
	case string:
		if !secretString(t) {
			return t
		}
	case json.Number, float64, int, int64, uint64:
	case []any:
		r.list(t, true)
		return t
	case map[string]any:
		r.mapping(t)
		return t
	default:
		return v
	}
	r.changed = true
	return Redacted
}

// secretString reports whether the string value of a secret-like key is a secret to redact.
func secretString(s string) bool {
	return s != "" && s != Redacted && !isSubstitution(s)
}

// text applies the rules for a string anywhere: secrets in embedded text (rule 7), SOPS ciphertext and
// URL passwords. ok is false when s stays as it is.
func (r *redactor) text(s string) (string, bool) {
	if isSOPS(s) {
		r.changed = true
		return Redacted, true
	}
	out, changed := s, false
	if strings.IndexByte(s, '=') >= 0 || strings.IndexByte(s, ':') >= 0 {
		out, changed = redactLines(s)
	}
	if strings.Contains(out, "ENC[") {
		var c bool
		if out, c = redactSOPSSpans(out); c {
			changed = true
		}
	}
	if strings.Contains(out, "://") {
		var c bool
		if out, c = redactURLPasswords(out); c {
			changed = true
		}
	}
	if changed {
		r.changed = true
		return out, true
	}
	return s, false
}

// sopsBlock redacts every string of SOPS metadata (encrypted data keys, MACs, recipients).
func (r *redactor) sopsBlock(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok {
				if s != "" && s != Redacted {
					t[k] = Redacted
					r.changed = true
				}
				continue
			}
			r.sopsBlock(e)
		}
	case []any:
		for i, e := range t {
			if s, ok := e.(string); ok {
				if s != "" && s != Redacted {
					t[i] = Redacted
					r.changed = true
				}
				continue
			}
			r.sopsBlock(e)
		}
	}
}

// isSOPS reports whether s is SOPS ciphertext.
func isSOPS(s string) bool {
	return strings.HasPrefix(s, "ENC[") && strings.HasSuffix(s, "]") && strings.IndexByte(s, '\n') < 0
}

// redactSOPSSpans replaces every ENC[…] inside a longer text (a SOPS-encrypted dotenv or INI file kept
// in a string).
func redactSOPSSpans(s string) (string, bool) {
	var b strings.Builder
	changed := false
	for {
		i := strings.Index(s, "ENC[")
		if i < 0 {
			break
		}
		end := strings.IndexByte(s[i:], ']')
		if end < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(Redacted)
		s = s[i+end+1:]
		changed = true
	}
	if !changed {
		return s, false
	}
	b.WriteString(s)
	return b.String(), true
}

// redactLines is rule 7: text kept in a string — a Helm values file in an Argo CD Application, a config
// file in a ConfigMap, a dotenv, a shell script, a command-line flag — is redacted line by line. A line
// "key: value", "key=value", "export KEY=value", "- key: value", "--flag=value" or a JSON member whose key
// is secret-like, or whose value is SOPS ciphertext, gets the marker as its value (quoted after ':', so
// YAML stays YAML); a block scalar ("key: |") loses its whole block. Values that are empty, null or only
// substitutions are kept.
func redactLines(s string) (string, bool) {
	var b strings.Builder
	changed := false
	blockIndent := -1 // inside a redacted block scalar: lines indented more than this are dropped
	rest := s
	for len(rest) > 0 {
		line := rest
		next := ""
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, next = rest[:i+1], rest[i+1:]
		}
		rest = next
		body := strings.TrimRight(line, "\r\n")
		indent := len(body) - len(strings.TrimLeft(body, " \t"))
		if blockIndent >= 0 {
			if strings.TrimSpace(body) == "" || indent > blockIndent {
				continue // part of the redacted block
			}
			blockIndent = -1
		}
		start, end, sep, ok := secretLineValue(body)
		if !ok {
			if changed {
				b.WriteString(line)
			}
			continue
		}
		if !changed {
			b.WriteString(s[:len(s)-len(line)-len(rest)])
			changed = true
		}
		value := body[start:end]
		b.WriteString(body[:start])
		if value[0] == '|' || value[0] == '>' {
			b.WriteString(value)
			b.WriteString("\n")
			b.WriteString(strings.Repeat(" ", indent+2))
			b.WriteString(Redacted)
			blockIndent = indent
		} else if sep == ':' {
			b.WriteString(`"` + Redacted + `"`)
		} else {
			b.WriteString(Redacted)
		}
		b.WriteString(body[end:])
		b.WriteString(line[len(body):])
	}
	if !changed {
		return s, false
	}
	return b.String(), true
}

// secretLineValue finds, in one line of text, the value of a secret-like key: body[start:end], and the
// separator (':' or '='). ok is false when the line holds no secret to redact.
func secretLineValue(body string) (start, end int, sep byte, ok bool) {
	i := 0
	skip := func() {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t') {
			i++
		}
	}
	skip()
	if strings.HasPrefix(body[i:], "- ") {
		i += 2
		skip()
	}
	if strings.HasPrefix(body[i:], "export ") {
		i += len("export ")
		skip()
	}
	var key string
	if i < len(body) && (body[i] == '"' || body[i] == '\'') {
		q := body[i]
		j := strings.IndexByte(body[i+1:], q)
		if j < 0 {
			return 0, 0, 0, false
		}
		key = body[i+1 : i+1+j]
		i += j + 2
	} else {
		k := i
		for i < len(body) && isKeyByte(body[i]) {
			i++
		}
		key = strings.TrimLeft(body[k:i], "-")
	}
	if key == "" {
		return 0, 0, 0, false
	}
	skip()
	if i >= len(body) || (body[i] != ':' && body[i] != '=') {
		return 0, 0, 0, false
	}
	sep = body[i]
	i++
	if sep == ':' && i < len(body) && body[i] != ' ' && body[i] != '\t' {
		return 0, 0, 0, false // "a:b" is a plain scalar, not a mapping
	}
	skip()
	start = i
	end = len(strings.TrimRight(body, " \t"))
	if end > start && body[end-1] == ',' {
		end-- // a JSON member keeps its comma
	}
	if start >= end {
		return 0, 0, 0, false
	}
	value := body[start:end]
	if !secretKey(key) && !isSOPS(unquote(value)) {
		return 0, 0, 0, false
	}
	switch v := unquote(value); {
	case v == "" || v == Redacted || v == "null" || v == "~" || isSubstitution(v):
		return 0, 0, 0, false
	case value[0] == '{' || value[0] == '[' || value[0] == '&' || value[0] == '*' || value[0] == '#':
		return 0, 0, 0, false // a flow collection, an anchor, an alias or a comment: not a scalar here
	}
	return start, end, sep, true
}

func isKeyByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c|0x20 && c|0x20 <= 'z')
}

// unquote strips one pair of matching quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// isSubstitution reports whether s is made only of ${…} substitutions and {{…}} template expressions
// (plus punctuation and blanks between them), e.g. "${SECRET_DOMAIN}", "${A}:${B}", "{{ .Values.pw }}".
func isSubstitution(s string) bool {
	found := false
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return false
			}
			i += end + 1
			found = true
		case strings.HasPrefix(s[i:], "{{"):
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				return false
			}
			i += end + 2
			found = true
		default:
			c := s[i]
			if c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c|0x20 && c|0x20 <= 'z') {
				return false
			}
			i++
		}
	}
	return found
}

// redactURLPasswords replaces the password of every scheme://user:password@host in s.
func redactURLPasswords(s string) (string, bool) {
	var b strings.Builder
	changed := false
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		authStart := i + 3
		auth := rest[authStart:]
		if end := strings.IndexAny(auth, "/?# \t\r\n\"'"); end >= 0 {
			auth = auth[:end]
		}
		at := strings.LastIndexByte(auth, '@')
		colon := -1
		if at > 0 {
			colon = strings.IndexByte(auth[:at], ':')
		}
		if colon < 0 || colon+1 == at || isSubstitution(auth[colon+1:at]) || auth[colon+1:at] == Redacted {
			b.WriteString(rest[:authStart+len(auth)])
			rest = rest[authStart+len(auth):]
			continue
		}
		b.WriteString(rest[:authStart+colon+1])
		b.WriteString(Redacted)
		rest = rest[authStart+at:]
		changed = true
	}
	if !changed {
		return s, false
	}
	b.WriteString(rest)
	return b.String(), true
}

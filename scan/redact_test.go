package scan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSecretKey(t *testing.T) {
	secret := []string{
		"password", "Password", "adminPassword", "DB_PASSWORD", "db-password", "passwd", "htpasswd", "passphrase",
		"privateKeyPassphrase", "token", "githubToken", "AUTH_TOKEN", "bearer.token", "secret", "clientSecret",
		"client_secret", "cookieSecret", "jwtSecret", "apiKey", "api_key", "API-KEY", "apikeys", "privateKey",
		"private_key", "accessKey", "AWS_SECRET_ACCESS_KEY", "secretKey", "credentials", "credential",
		"encryptionKey", "signingKey", "sshKey", "licenseKey", "masterKey", "clientKey", "rootPwd", "tokens",
		"Authorization",
	}
	notSecret := []string{
		"secretName", "existingSecret", "existingSecretPasswordKey", "secretRef", "tokenSecretRef",
		"passwordFile", "passwordSecretKeyRef", "secretKeyRef", "tokenTTL", "passwordLength", "tokenUrl",
		"tokenEndpoint", "imagePullSecrets", "imagePullSecret", "envFromSecret", "tlsSecret", "name", "value",
		"key", "keys", "username", "user", "secretsEncryption", "automountServiceAccountToken_enabled",
		"access_key_id", "image", "", "pass", "compass", "bypass",
	}
	for _, k := range secret {
		if !secretKey(k) {
			t.Errorf("secretKey(%q) = false, want true", k)
		}
	}
	for _, k := range notSecret {
		if secretKey(k) {
			t.Errorf("secretKey(%q) = true, want false", k)
		}
	}
}

func TestIsSubstitution(t *testing.T) {
	for s, want := range map[string]bool{
		"${SECRET_DOMAIN}": true, "${VAR:=default}": true, "${A}:${B}": true, " ${A} ": true,
		"{{ .Values.password }}": true, "{{ .password }}-{{ .b }}": true,
		"hunter2${X}": false, "${X}hunter2": false, "": false, "$VAR": false, "${unclosed": false, "plain": false,
	} {
		if got := isSubstitution(s); got != want {
			t.Errorf("isSubstitution(%q) = %v, want %v", s, got, want)
		}
	}
}

// redactYAML redacts a document as an object would be and returns its canonical JSON.
func redactYAML(t *testing.T, src string) string {
	t.Helper()
	v, err := decodeDocument([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	redactObject(m, groupOf(apiVersion), kind)
	b, err := canonicalJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRedactObject(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
	}{
		{
			name: "secret data and stringData, keys kept, substitutions and empties kept",
			src: `apiVersion: v1
kind: Secret
metadata: {name: s, annotations: {note: keep me}}
type: Opaque
data: {tls.crt: LS0tLS1CRUdJTg==, empty: "", num: 12}
stringData: {user: admin, domain: "${SECRET_DOMAIN}", nested: {a: b}}`,
			want: `{"apiVersion":"v1","data":{"empty":"","num":"[redacted]","tls.crt":"[redacted]"},"kind":"Secret","metadata":{"annotations":{"note":"keep me"},"name":"s"},"stringData":{"domain":"${SECRET_DOMAIN}","nested":"[redacted]","user":"[redacted]"},"type":"Opaque"}`,
		},
		{
			name: "a Secret of another group is an ordinary object",
			src: `apiVersion: example.com/v1
kind: Secret
metadata: {name: s}
data: {user: admin}`,
			want: `{"apiVersion":"example.com/v1","data":{"user":"admin"},"kind":"Secret","metadata":{"name":"s"}}`,
		},
		{
			name: "sops file: ciphertext and metadata block, structure kept",
			src: `apiVersion: v1
kind: Secret
metadata: {name: s}
stringData:
  key: ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]
sops:
  age:
    - recipient: age1xyz
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
  lastmodified: "2024-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:m,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.8.1
  unencrypted_suffix: ""`,
			want: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"sops":{"age":[{"enc":"[redacted]","recipient":"[redacted]"}],"encrypted_regex":"[redacted]","lastmodified":"[redacted]","mac":"[redacted]","unencrypted_suffix":"","version":"[redacted]"},"stringData":{"key":"[redacted]"}}`,
		},
		{
			name: "helm values: secret-like keys, references kept, numbers and lists, booleans kept",
			src: `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app}
spec:
  values:
    auth:
      existingSecret: app-auth
      secretName: app-tls
      password: hunter2
      rootPassword: 1234
      passwordLength: 16
      tokenTTL: 24h
      token: ""
      apiKeys: [abc, def]
      enabled: true
      clientSecret: ${CLIENT_SECRET}
    credentials: {username: u, password: p}
    env:
      - {name: DB_PASSWORD, value: s3cret}
      - {name: DB_USER, value: app}
      - name: API_TOKEN
        valueFrom: {secretKeyRef: {name: tok, key: token}}
    database: {url: "postgres://app:pa55@db:5432/app", other: "https://${USER}:${PASS}@h/x"}`,
			want: `{"apiVersion":"helm.toolkit.fluxcd.io/v2","kind":"HelmRelease","metadata":{"name":"app"},"spec":{"values":{"auth":{"apiKeys":["[redacted]","[redacted]"],"clientSecret":"${CLIENT_SECRET}","enabled":true,"existingSecret":"app-auth","password":"[redacted]","passwordLength":16,"rootPassword":"[redacted]","secretName":"app-tls","token":"","tokenTTL":"24h"},"credentials":{"password":"[redacted]","username":"u"},"database":{"other":"https://${USER}:${PASS}@h/x","url":"postgres://app:[redacted]@db:5432/app"},"env":[{"name":"DB_PASSWORD","value":"[redacted]"},{"name":"DB_USER","value":"app"},{"name":"API_TOKEN","valueFrom":{"secretKeyRef":{"key":"token","name":"tok"}}}]}}}`,
		},
		{
			name: "embedded text: argo values string, config file, flags",
			src: `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: app}
spec:
  source:
    helm:
      values: |
        image: {repository: redis}
        auth:
          password: hunter2
          existingSecret: x
          sentinel: "${PW}"
        tls:
          privateKey: |
            -----BEGIN KEY-----
            abc
          cert: keep
        sops: ENC[AES256_GCM,data:abc,type:str]
  args: ["--db-password=hunter2", "--db-user=app", "-v"]
  config: "{\n  \"token\": \"abc\",\n  \"name\": \"x\"\n}"`,
			want: `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"app"},"spec":{"args":["--db-password=[redacted]","--db-user=app","-v"],"config":"{\n  \"token\": \"[redacted]\",\n  \"name\": \"x\"\n}","source":{"helm":{"values":"image: {repository: redis}\nauth:\n  password: \"[redacted]\"\n  existingSecret: x\n  sentinel: \"${PW}\"\ntls:\n  privateKey: |\n    [redacted]\n  cert: keep\nsops: \"[redacted]\"\n"}}}}`,
		},
		{
			name: "kustomize secretGenerator literals",
			src: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
secretGenerator:
  - name: app
    literals: [password=hunter2, user=app, empty=, "sub=${X}"]
configMapGenerator:
  - name: cfg
    literals: [LOG_LEVEL=debug, API_TOKEN=abc]`,
			want: `{"apiVersion":"kustomize.config.k8s.io/v1beta1","configMapGenerator":[{"literals":["LOG_LEVEL=debug","API_TOKEN=[redacted]"],"name":"cfg"}],"kind":"Kustomization","secretGenerator":[{"literals":["password=[redacted]","user=[redacted]","empty=","sub=${X}"],"name":"app"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactYAML(t, tt.src); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRedactValuesScalarsAndInPlace(t *testing.T) {
	if got := redactValues("ENC[AES256_GCM,data:x,type:str]"); got != Redacted {
		t.Errorf("got %v, want a SOPS string redacted", got)
	}
	if got := redactValues("plain"); got != "plain" {
		t.Errorf("got %v, want a plain string kept", got)
	}
	m := map[string]any{"password": "x", "list": []any{map[string]any{"token": json.Number("5")}}}
	out := redactValues(m).(map[string]any)
	if m["password"] != Redacted || out["list"].([]any)[0].(map[string]any)["token"] != Redacted {
		t.Errorf("got %v, want redaction in place", m)
	}
}

func TestRedactNothingToRedact(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
          args: ["--listen=:8080", "--config=/etc/app.yaml"]
          env: [{name: TZ, value: Europe/Paris}, {name: URL, value: "https://example.com/a:b@c"}]
      volumes: [{name: tls, secret: {secretName: web-tls}}]`
	v, err := decodeDocument([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if redactObject(v.(map[string]any), "apps", "Deployment") {
		t.Errorf("redactObject reported a change for %s", src)
	}
	if strings.Contains(redactYAML(t, src), Redacted) {
		t.Error("got a redaction in an object without secrets")
	}
}

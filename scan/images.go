package scan

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// imageRef is a parsed image reference: the Image fields that do not depend on the object holding it.
type imageRef struct {
	image, registry, repository, tag, digest string
}

// hasTemplate reports a Flux post-build substitution (${VAR}) or a Go/Helm/Argo template ({{ … }}).
func hasTemplate(s string) bool {
	return strings.Contains(s, "${") || strings.Contains(s, "{{")
}

// parseImage parses a whole reference as written in a container's image or a values string.
func parseImage(s string) (imageRef, bool) {
	if s == "" || s == Redacted {
		return imageRef{}, false
	}
	if !hasTemplate(s) {
		named, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			return imageRef{}, false
		}
		return refFromNamed(named), true
	}
	// Split by hand so that a substituted tag or digest does not lose the certain name. The tag separator is
	// the first ':' after the last '/', so "app:${TAG:=1.0}" keeps "${TAG:=1.0}" whole.
	rest, digest, _ := strings.Cut(s, "@")
	name, tag := rest, ""
	slash := strings.LastIndex(rest, "/")
	if i := strings.Index(rest[slash+1:], ":"); i >= 0 {
		name, tag = rest[:slash+1+i], rest[slash+1+i+1:]
	}
	return imageFromParts("", name, tag, digest)
}

// imageFromParts composes an image from the fields of a Helm values map (registry, repository, tag, digest).
// A tag holding "tag@sha256:…" is split; a tag holding only "sha256:…" is taken as the digest.
//
// Substitutions: a name that holds ${VAR} or {{ }} is skipped (nothing about it is certain). A tag or digest
// that does is kept as written, unparsed, beside the parsed name, since the repository is still a fact worth
// counting (e.g. "ghcr.io/home-operations/sonarr" with tag "${SONARR_VERSION}").
func imageFromParts(registry, repository, tag, digest string) (imageRef, bool) {
	if repository == "" || repository == Redacted || registry == Redacted || tag == Redacted || digest == Redacted {
		return imageRef{}, false
	}
	if t, d, ok := strings.Cut(tag, "@"); ok {
		tag = t
		if digest == "" {
			digest = d
		}
	}
	if digest == "" && strings.HasPrefix(tag, "sha256:") {
		tag, digest = "", tag
	}
	name := repository
	if registry != "" {
		name = strings.TrimSuffix(registry, "/") + "/" + repository
	}
	if hasTemplate(name) {
		return imageRef{}, false
	}
	certain := name
	if tag != "" && !hasTemplate(tag) {
		certain += ":" + tag
	}
	if digest != "" && !hasTemplate(digest) {
		certain += "@" + digest
	}
	named, err := reference.ParseNormalizedNamed(certain)
	if err != nil {
		return imageRef{}, false
	}
	r := refFromNamed(named)
	if hasTemplate(tag) {
		if r.tag != "" { // the repository field itself carried a tag too: conflicting, keep nothing
			return imageRef{}, false
		}
		r.tag = tag
	}
	if hasTemplate(digest) {
		if r.digest != "" {
			return imageRef{}, false
		}
		r.digest = digest
	}
	r.image = named.Name()
	if r.tag != "" {
		r.image += ":" + r.tag
	}
	if r.digest != "" {
		r.image += "@" + r.digest
	}
	return r, true
}

func refFromNamed(named reference.Named) imageRef {
	r := imageRef{
		image:      named.String(),
		registry:   reference.Domain(named),
		repository: reference.Path(named),
	}
	if t, ok := named.(reference.Tagged); ok {
		r.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.digest = d.Digest().String()
	}
	return r
}

// podImages emits the image of every container, init container and ephemeral container of the pod specs
// obj holds: a Pod's spec, a CronJob's job template, and spec.template.spec of anything with containers
// (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, Argo Rollout, Knative Service…).
func podImages(o *Object, obj map[string]any, emit func(imageRef)) {
	var specs []map[string]any
	if o.Kind == "Pod" && objectGroup(o) == "" {
		specs = append(specs, mapAt(obj, "spec"))
	}
	for _, p := range [][]string{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}} {
		if s := mapAt(obj, p...); hasContainers(s) {
			specs = append(specs, s)
		}
	}
	for _, spec := range specs {
		for _, field := range containerFields {
			list, _ := spec[field].([]any)
			for _, c := range list {
				m, _ := c.(map[string]any)
				if s, ok := m["image"].(string); ok {
					if r, ok := parseImage(s); ok {
						emit(r)
					}
				}
			}
		}
	}
}

var containerFields = [...]string{"containers", "initContainers", "ephemeralContainers"}

func hasContainers(spec map[string]any) bool {
	for _, f := range containerFields {
		if _, ok := spec[f].([]any); ok {
			return true
		}
	}
	return false
}

// valuesImages emits every image reference found at any depth of Helm values v:
//   - a string under a key named "image" ("ghcr.io/org/app:1.2");
//   - an image map: "registry", "tag", "digest" (all optional) beside the repository, which is
//     "repository" (the common form; the map must sit under a key containing "image" — image, initImage… —
//     or have one of those siblings, which keeps out maps like a backup tool's {repository: bucket}),
//     or "image" beside a sibling (ingress-nginx: {registry: registry.k8s.io, image: ingress-nginx/controller}),
//     or "name" beside a sibling when the map is under an "image" key.
//
// The strings of an image map are never read as images on their own: ingress-nginx's image field alone
// would wrongly read as docker.io/ingress-nginx/controller.
func valuesImages(v any, emit func(imageRef)) {
	walkValues(v, "", emit)
}

func walkValues(v any, key string, emit func(imageRef)) {
	switch t := v.(type) {
	case map[string]any:
		r, ok, claimed := imageFromMap(t, key)
		if ok {
			emit(r)
		}
		for k, c := range t {
			if _, isString := c.(string); isString && claimed {
				continue
			}
			walkValues(c, k, emit)
		}
	case []any:
		for _, c := range t {
			walkValues(c, "", emit)
		}
	case string:
		if key == "image" {
			if r, ok := parseImage(t); ok {
				emit(r)
			}
		}
	}
}

// imageFromMap reads an image map (see valuesImages). claimed reports that m has an image map's shape,
// whether or not its reference could be parsed.
func imageFromMap(m map[string]any, key string) (r imageRef, ok, claimed bool) {
	registry, hasRegistry := scalarString(m["registry"])
	tag, hasTag := scalarString(m["tag"])
	digest, hasDigest := scalarString(m["digest"])
	siblings := hasRegistry || hasTag || hasDigest
	var repo string
	if s, isString := m["repository"].(string); isString && (siblings || strings.Contains(strings.ToLower(key), "image")) {
		repo = s
	} else if s, isString := m["image"].(string); isString && siblings {
		repo = s
	} else if s, isString := m["name"].(string); isString && siblings && key == "image" {
		repo = s
	} else {
		return imageRef{}, false, false
	}
	r, ok = imageFromParts(registry, repo, tag, digest)
	return r, ok, true
}

// scalarString returns the text of a string or number (a tag written 7.2 is the tag "7.2").
func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

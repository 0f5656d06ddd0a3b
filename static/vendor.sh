#!/usr/bin/env bash
# Vendor pinned front-end dependencies into static/vendor/.
#
# Each package is fetched with `npm pack` (tarball only: no install, no
# lifecycle scripts), its sha512 is computed locally and compared with the
# pinned npm `dist.integrity` below, and only then are the chosen files copied.
# Re-running produces byte-identical output.
#
# To bump a version: update the spec, the integrity (from
# `npm view PKG@VER dist.integrity`) and the output file names, then re-run
# and fix any references to the old file names in the templates.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."   # repo root, wherever we are run from

for tool in npm openssl tar install; do
  command -v "$tool" >/dev/null || { echo "vendor.sh: '$tool' is required" >&2; exit 1; }
done

OUT=static/vendor
LIC="$OUT/LICENSES"
mkdir -p "$LIC"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch SPEC INTEGRITY -> sets PKGDIR to the extracted "package/" dir
fetch() {
  local spec="$1" want="$2" dir tgz got
  dir="$work/$(echo "$spec" | tr '/@' '__')"
  mkdir -p "$dir"
  echo "fetching $spec"
  npm pack "$spec" --pack-destination "$dir" --ignore-scripts --loglevel=error >/dev/null
  tgz=("$dir"/*.tgz)
  [[ ${#tgz[@]} -eq 1 && -f ${tgz[0]} ]] || { echo "vendor.sh: no tarball for $spec" >&2; exit 1; }

  got="sha512-$(openssl dgst -sha512 -binary "${tgz[0]}" | openssl base64 -A)"  # = base64 -w0, but portable to macOS
  if [[ "$got" != "$want" ]]; then
    {
      echo "vendor.sh: INTEGRITY MISMATCH for $spec"
      echo "  pinned:   $want"
      echo "  computed: $got"
    } >&2
    exit 1
  fi

  tar -xzf "${tgz[0]}" -C "$dir"
  PKGDIR="$dir/package"
}

# put SRC DEST: copy one file, failing if the package no longer ships it
put() {
  [[ -f "$1" ]] || { echo "vendor.sh: missing file in package: ${1#"$work"/}" >&2; exit 1; }
  install -m 0644 "$1" "$2"
  echo "  -> $2"
}

# license PKGDIR NAME: copy whatever license file the package ships
license() {
  local f
  for f in "$1"/LICENSE "$1"/LICENSE.md "$1"/LICENSE.txt "$1"/LICENCE "$1"/COPYING; do
    if [[ -f "$f" ]]; then put "$f" "$LIC/$2.txt"; return; fi
  done
  echo "vendor.sh: no license file found for $2" >&2
  exit 1
}

fetch htmx.org@2.0.11 \
  'sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=='
put "$PKGDIR/dist/htmx.min.js" "$OUT/htmx-2.0.11.min.js"
license "$PKGDIR" htmx.org-2.0.11

fetch htmx-ext-sse@2.2.4 \
  'sha512-LJmxVhykyflBWgh5PvbRidcyuqMHlgfajmmzumvKctv9puvsufeH6OaejSMZTNTnEI8O2wXXn4ZZtBdpEMqmEQ=='
put "$PKGDIR/dist/sse.min.js" "$OUT/htmx-ext-sse-2.2.4.min.js"
license "$PKGDIR" htmx-ext-sse-2.2.4

fetch uplot@1.6.32 \
  'sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=='
put "$PKGDIR/dist/uPlot.iife.min.js" "$OUT/uplot-1.6.32.iife.min.js"
put "$PKGDIR/dist/uPlot.min.css"     "$OUT/uplot-1.6.32.min.css"
license "$PKGDIR" uplot-1.6.32

fetch @picocss/pico@2.1.1 \
  'sha512-kIDugA7Ps4U+2BHxiNHmvgPIQDWPDU4IeU6TNRdvXQM1uZX+FibqDQT2xUOnnO2yq/LUHcwnGlu1hvf4KfXnMg=='
put "$PKGDIR/css/pico.min.css" "$OUT/pico-2.1.1.min.css"
license "$PKGDIR" picocss-pico-2.1.1

echo "vendor.sh: done"

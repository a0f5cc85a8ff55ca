#!/bin/sh
# Vendors the page libraries from the npm registry at pinned versions, checking each
# tarball's sha512 integrity against the value pinned here (npm's dist.integrity), so the
# files committed beside this script are exactly the published ones. Run from anywhere;
# needs npm. Nothing is fetched at build or run time.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fetch() { # package version integrity file-in-package target
  (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null)
  tgz="$tmp/$(echo "$1" | tr -d @ | tr / -)-$2.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$got" = "$3" ] || { echo "$1@$2: integrity $got, want $3" >&2; exit 1; }
  tar -xzf "$tgz" -C "$tmp" "package/$4" package/LICENSE
  cp "$tmp/package/$4" "$5"; cp "$tmp/package/LICENSE" "$5.LICENSE"
  rm -rf "$tmp/package"
}
fetch htmx.org 2.0.11 'sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==' dist/htmx.min.js htmx.min.js
fetch htmx-ext-sse 2.2.4 'sha512-LJmxVhykyflBWgh5PvbRidcyuqMHlgfajmmzumvKctv9puvsufeH6OaejSMZTNTnEI8O2wXXn4ZZtBdpEMqmEQ==' dist/sse.min.js sse.min.js

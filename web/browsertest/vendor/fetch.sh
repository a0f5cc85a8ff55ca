#!/bin/sh
# Vendors axe-core (the accessibility rules engine the browser tests run in each page) from
# the npm registry at a pinned version, checking the tarball's sha512 integrity against the
# value pinned here. Needs npm; nothing is fetched when the tests run.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
version=4.14.1
integrity='sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=='
(cd "$tmp" && npm pack --silent "axe-core@$version" >/dev/null)
got="sha512-$(openssl dgst -sha512 -binary "$tmp/axe-core-$version.tgz" | base64 -w0)"
[ "$got" = "$integrity" ] || { echo "axe-core@$version: integrity $got, want $integrity" >&2; exit 1; }
tar -xzf "$tmp/axe-core-$version.tgz" -C "$tmp" package/axe.min.js package/LICENSE
cp "$tmp/package/axe.min.js" axe.min.js
cp "$tmp/package/LICENSE" axe.min.js.LICENSE

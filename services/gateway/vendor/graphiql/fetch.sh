#!/usr/bin/env bash
# Re-fetch the offline GraphiQL assets embedded into abe-hub (include_bytes!).
# Needs only node/npm and network access to the npm registry; `cargo build`
# never runs this — the resulting files are committed.
#
# Usage: bash fetch.sh        (from any directory)
set -euo pipefail

GRAPHIQL_VERSION=4.1.2   # newest graphiql that still ships graphiql.min.js/.css (UMD); 5.x dropped them
REACT_VERSION=18.3.1     # React 19 has no UMD builds

# Tarball integrity as published on the registry (dist.integrity); fetch fails on mismatch.
declare -A INTEGRITY=(
  [graphiql]='sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg=='
  [react]='sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=='
  [react-dom]='sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw=='
)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# fetch NAME VERSION -> extracts into $TMP/NAME/package
fetch() {
  local name="$1" version="$2" tgz want got
  mkdir -p "$TMP/$name"
  tgz="$(cd "$TMP/$name" && npm pack --silent "$name@$version")"
  want="${INTEGRITY[$name]}"
  got="sha512-$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$TMP/$name/$tgz")"
  if [[ "$got" != "$want" ]]; then
    echo "integrity mismatch for $name@$version: got $got want $want" >&2
    exit 1
  fi
  tar -xzf "$TMP/$name/$tgz" -C "$TMP/$name"
}

fetch graphiql  "$GRAPHIQL_VERSION"
fetch react     "$REACT_VERSION"
fetch react-dom "$REACT_VERSION"

install -m 0644 "$TMP/react/package/umd/react.production.min.js"         "$HERE/react.production.min.js"
install -m 0644 "$TMP/react-dom/package/umd/react-dom.production.min.js" "$HERE/react-dom.production.min.js"
install -m 0644 "$TMP/graphiql/package/graphiql.min.js"                  "$HERE/graphiql.min.js"
install -m 0644 "$TMP/graphiql/package/graphiql.min.css"                 "$HERE/graphiql.min.css"
install -m 0644 "$TMP/graphiql/package/LICENSE"                          "$HERE/LICENSE.graphiql"
install -m 0644 "$TMP/react/package/LICENSE"                             "$HERE/LICENSE.react"
install -m 0644 "$TMP/react-dom/package/LICENSE"                         "$HERE/LICENSE.react-dom"

# Files are copied byte-for-byte from the published tarballs (source maps are
# not shipped; graphiql.min.js keeps its trailing sourceMappingURL comment,
# which browsers only follow when devtools are open).

cd "$HERE"
LC_ALL=C sha256sum \
  graphiql.min.css graphiql.min.js \
  react-dom.production.min.js react.production.min.js \
  LICENSE.graphiql LICENSE.react LICENSE.react-dom \
  | LC_ALL=C sort -k2 > SHA256SUMS
echo "assets written to $HERE:"
cat SHA256SUMS

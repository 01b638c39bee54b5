#!/usr/bin/env bash
# Builds CNCF distribution v3's registry, for one comparison in `npm run bench` only (issue 17 §1): the tests and every
# other bench section use Debian's docker-registry (distribution 2.8.2). 2.8.2 compiles its whole route table again
# for every request (fixed upstream in distribution/distribution#3683, first released in v3), which on these 2-core
# machines puts 31–45 % of its CPU per manifest HEAD on the cores our webhook shares with it (BENCHMARKS.md). The
# network section measures its ours ÷ digester cell against this build too, so that figure can be read without the
# fixture's own overhead. Built from the Go module proxy at one pinned version and cached OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/distribution/<version>/registry
#
# Idempotent: when the binary exists nothing is fetched or built. Safe to run concurrently (flock).
# Prints the binary's path as its last (only) stdout line; progress goes to stderr.
# At run time it listens on loopback only (the fixture's config sets http.addr to 127.0.0.1).
#
# Environment:
#   ATW_CACHE_DIR         cache root (default $HOME/.cache/actortemplate-webhook)
#   DISTRIBUTION_VERSION  module version (default v3.0.0)
#   GO                    go binary (default /usr/local/go/bin/go, else `go` on PATH)
set -euo pipefail

module=github.com/distribution/distribution/v3
version="${DISTRIBUTION_VERSION:-v3.0.0}"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/distribution/$version"
binary="$out_dir/registry"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if [[ -z "${GO:-}" ]]; then
  if [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
if [[ -z "$GO" ]] || ! "$GO" version >/dev/null 2>&1; then
  echo "build-registry-v3: no usable Go toolchain (tried '${GO:-go}'); install Go or set GO=" >&2
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

echo "build-registry-v3: building $module@$version/cmd/registry into $out_dir ($("$GO" version)); about 2 minutes the first time" >&2
start=$SECONDS
# Download the exact version and build as the main module: `go install module@version` would also ask the proxy for
# the module's version list, which these machines' proxy may refuse.
source_dir="$("$GO" mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$source_dir" && -f "$source_dir/go.mod" ]] || { echo "build-registry-v3: the module proxy did not serve $module@$version" >&2; exit 1; }
built="$tmp_dir/registry"
(cd "$source_dir" && "$GO" build -trimpath -ldflags='-s -w' -o "$built" ./cmd/registry)
echo "build-registry-v3: built after $((SECONDS - start))s" >&2
"$built" --version >/dev/null
mv -f "$built" "$binary"
echo "$binary"

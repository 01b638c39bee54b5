#!/usr/bin/env bash
# Builds google/k8s-digester, the peer that `npm run bench` compares us with (issue 6), from the Go module
# proxy at one pinned version, and caches the binary OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/digester/<version>/digester
#
# Idempotent: when the binary exists nothing is fetched or built. Safe to run concurrently (flock).
# Prints the binary's path as its last (only) stdout line; progress goes to stderr.
# At run time the binary needs only loopback (the bench's registry and cluster).
#
# Why v0.1.16: the proxy refuses @latest and the version list for this module (403); of the exact versions tried
# once each (v0.1.11 … v0.1.20, v0.2.0) it served v0.1.15 and v0.1.16 only. Change DIGESTER_VERSION to try another.
#
# Environment:
#   ATW_CACHE_DIR     cache root (default $HOME/.cache/actortemplate-webhook)
#   DIGESTER_VERSION  module version (default v0.1.16)
#   GO                go binary (default /usr/local/go/bin/go, else `go` on PATH)
set -euo pipefail

module=github.com/google/k8s-digester
version="${DIGESTER_VERSION:-v0.1.16}"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/digester/$version"
binary="$out_dir/digester"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if [[ -z "${GO:-}" ]]; then
  if [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
if [[ -z "$GO" ]] || ! "$GO" version >/dev/null 2>&1; then
  echo "build-digester: no usable Go toolchain (tried '${GO:-go}'); install Go or set GO=" >&2
  exit 1
fi

mkdir -p "$out_dir"
exec 9>"$out_dir/.lock"
flock 9
# Another process may have finished the build while we waited for the lock.
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

# The module's own go.mod and go.sum decide every dependency; never fetch another toolchain or read a go.work.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

echo "build-digester: building $module@$version into $out_dir ($("$GO" version)); the first build takes a few minutes" >&2
start=$SECONDS
# Not `go install module@version`: that also asks the proxy for the version list (to report deprecation), which
# the proxy refuses for this module. Download the exact version and build inside it as the main module instead.
source_dir="$("$GO" mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$source_dir" && -f "$source_dir/go.mod" ]] || { echo "build-digester: the module proxy did not serve $module@$version" >&2; exit 1; }
built="$tmp_dir/digester"
(cd "$source_dir" && "$GO" build -trimpath -ldflags='-s -w' -o "$built" .)
echo "build-digester: built after $((SECONDS - start))s" >&2
"$built" --help >/dev/null
mv -f "$built" "$binary"
echo "$binary"

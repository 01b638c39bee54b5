#!/usr/bin/env bash
# Builds promtool (Prometheus' rule checker and rule unit-test runner) from the Go module proxy at one pinned
# version, and caches the binary OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/promtool/<version>/promtool
#
# The monitoring tests (test/deploy/monitoring-*.test.ts, issue 14 §3) run `promtool check rules` and
# `promtool test rules` on the PrometheusRule content the chart and the kustomize component ship.
#
# Idempotent: when the binary exists nothing is fetched or built. Safe to run concurrently (flock).
# Prints the binary's path as its last (only) stdout line; progress goes to stderr.
#
# Why v0.316.0 (Prometheus 3.x's Go module numbering): the newest version the proxy served when this was written;
# its go.mod asks for go 1.26.7, which the machine's Go 1.26.8 satisfies, so no other toolchain is fetched.
# Built with -tags remove_all_sd: promtool's rule commands need none of the cloud service-discovery plugins, and
# leaving them out saves downloading and compiling the cloud SDKs (several minutes on two cores).
#
# Environment:
#   ATW_CACHE_DIR     cache root (default $HOME/.cache/actortemplate-webhook)
#   PROMTOOL_VERSION  github.com/prometheus/prometheus module version (default v0.316.0)
#   GO                go binary (default /usr/local/go/bin/go, else `go` on PATH)
set -euo pipefail

module=github.com/prometheus/prometheus
version="${PROMTOOL_VERSION:-v0.316.0}"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/promtool/$version"
binary="$out_dir/promtool"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if [[ -z "${GO:-}" ]]; then
  if [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
if [[ -z "$GO" ]] || ! "$GO" version >/dev/null 2>&1; then
  echo "build-promtool: no usable Go toolchain (tried '${GO:-go}'); install Go >= 1.26.7 or set GO=" >&2
  exit 1
fi

mkdir -p "$out_dir"
exec 9>"$out_dir/.lock"
flock 9
# A concurrent run may have published the binary while this one waited for the lock.
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

# The module's own go.mod and go.sum pin every dependency; never fetch another toolchain, never read a go.work.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

echo "build-promtool: building $module/cmd/promtool@$version into $out_dir ($("$GO" version)); the first build takes several minutes" >&2
start=$SECONDS
# Build inside the downloaded module as the main module, so its go.sum is the one that verifies the dependencies.
source_dir="$("$GO" mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$source_dir" && -f "$source_dir/go.mod" ]] || { echo "build-promtool: the module proxy did not serve $module@$version" >&2; exit 1; }
built="$tmp_dir/promtool"
(cd "$source_dir" && "$GO" build -trimpath -tags remove_all_sd -ldflags='-s -w' -o "$built" ./cmd/promtool)
echo "build-promtool: built after $((SECONDS - start))s" >&2
# Smoke-check before publishing: a binary that cannot print its help is not cached.
"$built" --help >/dev/null
mv -f "$built" "$binary"
echo "$binary"

#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, cmd/helm) for the chart tests (issue 14 §2) from the Go module proxy at one pinned
# version, and caches the binary OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/helm/<version>/helm
#
# Idempotent: when the binary exists nothing is fetched or built. Safe to run concurrently (flock).
# Prints the binary's path as its last (only) stdout line; progress goes to stderr.
#
# The module is built inside its own downloaded source, as the main module, so Helm's go.mod and go.sum decide every
# dependency (no go.mod of ours to keep in step). Why v4.3.2: the newest v4 the proxy serves here (issue 14).
#
# Environment:
#   ATW_CACHE_DIR  cache root (default $HOME/.cache/actortemplate-webhook)
#   HELM_VERSION   module version (default v4.3.2)
#   GO             go binary (default /usr/local/go/bin/go, else `go` on PATH)
set -euo pipefail

module=helm.sh/helm/v4
version="${HELM_VERSION:-v4.3.2}"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/helm/$version"
binary="$out_dir/helm"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if [[ -z "${GO:-}" ]]; then
  if [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
if [[ -z "$GO" ]] || ! "$GO" version >/dev/null 2>&1; then
  echo "build-helm: no usable Go toolchain (tried '${GO:-go}'); install Go >= 1.26 or set GO=" >&2
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

# Never fetch another toolchain, never read a go.work, never rewrite Helm's go.mod/go.sum.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

echo "build-helm: building $module@$version into $out_dir ($("$GO" version)); the first build takes a few minutes" >&2
start=$SECONDS
# Not `go install module@version`: download the exact version and build inside it, so no version list is asked for.
source_dir="$("$GO" mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$source_dir" && -f "$source_dir/go.mod" ]] || { echo "build-helm: the module proxy did not serve $module@$version" >&2; exit 1; }
built="$tmp_dir/helm"
# Helm's Makefile stamps the version the same way; without it `helm version` says only the minor (v4.3).
ldflags="-s -w -X $module/internal/version.version=$version -X $module/internal/version.gitTreeState=clean"
(cd "$source_dir" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags="$ldflags" -o "$built" ./cmd/helm)
echo "build-helm: built after $((SECONDS - start))s" >&2
"$built" version --short >/dev/null
mv -f "$built" "$binary"
echo "$binary"

#!/usr/bin/env bash
# Builds the node half of the real-node e2e cluster (kubelet, kube-controller-manager, kube-scheduler,
# kube-proxy) from test/e2e/cluster/node, the same k8s.io/kubernetes version as scripts/build-cluster.sh,
# and caches them OUTSIDE the repository, keyed by that module's go.sum:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/node/<key>/bin/{kubelet,kube-controller-manager,kube-scheduler,kube-proxy}
#
# A separate module (and cache key) from the apiserver's so the apiserver-only e2e tests never wait for the
# kubelet, the slowest build (~16 min on a loaded 2-core machine). Idempotent; safe to run concurrently (flock).
# Prints the bin directory as its last (only) stdout line; progress goes to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="$repo_root/test/e2e/cluster/node"
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$module/go.mod")"
[[ -n "$k8s_version" ]] || { echo "build-node: cannot find the k8s.io/kubernetes version in $module/go.mod" >&2; exit 1; }

key="$(sha256sum "$module/go.sum" | cut -c1-16)"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/node/$key"
bin_dir="$out_dir/bin"
binaries=(kubelet kube-controller-manager kube-scheduler kube-proxy)

all_present() {
  local b
  for b in "${binaries[@]}"; do [[ -x "$bin_dir/$b" ]] || return 1; done
}
if all_present; then echo "$bin_dir"; exit 0; fi

if [[ -z "${GO:-}" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"; else GO=/usr/local/go/bin/go; fi
fi
"$GO" version >/dev/null 2>&1 || { echo "build-node: no usable Go toolchain (tried '$GO')" >&2; exit 1; }

mkdir -p "$bin_dir"
exec 9>"$out_dir/.lock"
flock 9
if all_present; then echo "$bin_dir"; exit 0; fi

export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly
tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

echo "build-node: building ${binaries[*]} $k8s_version into $bin_dir; the first build takes 15-25 min" >&2
start=$SECONDS
version_pkg=k8s.io/component-base/version
ldflags="-s -w -X $version_pkg.gitVersion=$k8s_version -X $version_pkg.gitTreeState=clean"
for b in "${binaries[@]}"; do
  [[ -x "$bin_dir/$b" ]] && continue
  (cd "$module" && "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp_dir/$b" "./$b")
  "$tmp_dir/$b" --version >/dev/null
  # Publish each binary as soon as it is built, so an interrupted build resumes where it stopped.
  mv -f "$tmp_dir/$b" "$bin_dir/$b"
  echo "build-node: $b built after $((SECONDS - start))s" >&2
done
echo "$bin_dir"

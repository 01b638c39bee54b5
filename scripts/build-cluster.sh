#!/usr/bin/env bash
# Builds the binaries of the end-to-end test cluster (kube-apiserver, kubectl, etcd) from the
# Go modules under test/e2e/cluster/ and caches them OUTSIDE the repository, keyed by the go.sum
# files, so fresh clones on the same machine reuse them:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/cluster/<key>/bin/{kube-apiserver,kubectl,etcd}
#
# Idempotent: when all binaries exist nothing is built. Safe to run concurrently (flock).
# Prints the bin directory as its last (only) stdout line; progress goes to stderr.
#
# Environment:
#   ATW_CACHE_DIR   cache root (default $HOME/.cache/actortemplate-webhook)
#   GO              go binary (default: `go` on PATH, else /usr/local/go/bin/go)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
modules_dir="$repo_root/test/e2e/cluster"
k8s_module="$modules_dir/kubernetes"
etcd_module="$modules_dir/etcd"

# Version stamped into the binaries' version info; must match k8s.io/kubernetes in kubernetes/go.mod.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }' "$k8s_module/go.mod")"
if [[ -z "$k8s_version" ]]; then
  echo "build-cluster: cannot find the k8s.io/kubernetes version in $k8s_module/go.mod" >&2
  exit 1
fi

key="$(cat "$etcd_module/go.sum" "$k8s_module/go.sum" | sha256sum | cut -c1-16)"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/cluster/$key"
bin_dir="$out_dir/bin"
binaries=(kube-apiserver kubectl etcd)

all_present() {
  local b
  for b in "${binaries[@]}"; do
    [[ -x "$bin_dir/$b" ]] || return 1
  done
}

if all_present; then
  echo "$bin_dir"
  exit 0
fi

if [[ -z "${GO:-}" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"; else GO=/usr/local/go/bin/go; fi
fi
if ! "$GO" version >/dev/null 2>&1; then
  echo "build-cluster: no usable Go toolchain (tried '$GO'); install Go >= 1.26 or set GO=" >&2
  exit 1
fi

mkdir -p "$bin_dir"
exec 9>"$out_dir/.lock"
flock 9
# Another process may have finished the build while we waited for the lock.
if all_present; then
  echo "$bin_dir"
  exit 0
fi

# Never fetch another toolchain, never touch a go.work, never rewrite go.mod/go.sum.
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly

tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

echo "build-cluster: building kube-apiserver, kubectl $k8s_version and etcd into $bin_dir ($("$GO" version)); the first build takes a while" >&2
start=$SECONDS

version_pkg=k8s.io/component-base/version
ldflags="-s -w -X $version_pkg.gitVersion=$k8s_version -X $version_pkg.gitTreeState=clean"
(cd "$k8s_module" && "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp_dir/" ./kube-apiserver ./kubectl)
echo "build-cluster: kube-apiserver and kubectl built after $((SECONDS - start))s" >&2
(cd "$etcd_module" && "$GO" build -trimpath -ldflags='-s -w' -o "$tmp_dir/etcd" .)
echo "build-cluster: etcd built after $((SECONDS - start))s" >&2

# Smoke-check the binaries before publishing them.
"$tmp_dir/kube-apiserver" --version >/dev/null
"$tmp_dir/kubectl" version --client >/dev/null
"$tmp_dir/etcd" --version >/dev/null
# Publish each binary atomically (rename within one filesystem); readers require all of them.
for b in "${binaries[@]}"; do
  mv -f "$tmp_dir/$b" "$bin_dir/$b"
done

echo "$bin_dir"

# shellcheck shell=bash
# Shared by the scripts/build-*.sh that build one test or bench tool from the Go module proxy (helm, promtool,
# k8s-digester, toxiproxy, distribution v3). Source it, then call:
#
#   go_module_binary LABEL CACHE_NAME MODULE VERSION PACKAGE BINARY FIRST_BUILD [GO_BUILD_FLAG...] -- [CHECK_ARG...]
#
# e.g. go_module_binary build-helm helm helm.sh/helm/v4 v4.3.2 ./cmd/helm helm 'a few minutes' -ldflags=… -- version
#
# It builds PACKAGE of MODULE@VERSION once and caches it OUTSIDE the repository, at
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/CACHE_NAME/VERSION/BINARY
#
# Idempotent: when the binary exists nothing is fetched or built. Safe to run concurrently (flock). Prints the
# binary's path as its last (only) stdout line; progress goes to stderr, prefixed with LABEL. Before publishing, the
# new binary must run with CHECK_ARG... (a binary that cannot print its help or version is not cached).
#
# How: the exact version is downloaded and built inside its own source as the main module, so the module's go.mod
# and go.sum decide every dependency (no go.mod of ours to keep in step). Not `go install module@version`: that also
# asks the proxy for the module's version list, which these machines' proxy refuses for some modules. Never another
# toolchain, never a go.work, never an edit to the module's go.mod. GO_BUILD_FLAGs come after `-trimpath`; with no
# `-ldflags` among them, `-ldflags=-s -w` is used. Extra build environment (e.g. CGO_ENABLED=0) is the caller's export.
#
# Environment: ATW_CACHE_DIR (cache root), GO (go binary; default /usr/local/go/bin/go, else `go` on PATH).

go_module_binary() {
  local label="$1" cache_name="$2" module="$3" version="$4" package="$5" binary_name="$6" first_build="$7"
  shift 7
  local build_flags=() check_args=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do build_flags+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  check_args=("$@")
  local flag has_ldflags=false
  for flag in "${build_flags[@]}"; do [[ "$flag" == -ldflags* ]] && has_ldflags=true; done
  $has_ldflags || build_flags+=("-ldflags=-s -w")

  local cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
  local out_dir="$cache_root/$cache_name/$version"
  local binary="$out_dir/$binary_name"
  if [[ -x "$binary" ]]; then
    echo "$binary"
    return 0
  fi

  local go="${GO:-}"
  if [[ -z "$go" ]]; then
    if [[ -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go; else go="$(command -v go || true)"; fi
  fi
  if [[ -z "$go" ]] || ! "$go" version >/dev/null 2>&1; then
    echo "$label: no usable Go toolchain (tried '${go:-go}'); install Go or set GO=" >&2
    return 1
  fi

  mkdir -p "$out_dir"
  exec 9>"$out_dir/.lock"
  flock 9
  # Another process may have finished the build while this one waited for the lock.
  if [[ -x "$binary" ]]; then
    echo "$binary"
    return 0
  fi

  export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
  local tmp_dir
  tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
  # The caller's shell exits right after; a failed build must not leave its temporary directory behind.
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp_dir'" EXIT

  echo "$label: building $module@$version ($package) into $out_dir ($("$go" version)); $first_build the first time" >&2
  local start=$SECONDS source_dir
  local download
  # -json reports a refusal in its "Error" field (exit status 1), not on stderr: keep it for the message below.
  download="$("$go" mod download -json "$module@$version" || true)"
  source_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$download")"
  if [[ -z "$source_dir" || ! -f "$source_dir/go.mod" ]]; then
    echo "$label: the module proxy did not serve $module@$version: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/\1/p' <<<"$download")" >&2
    return 1
  fi
  local built="$tmp_dir/$binary_name"
  (cd "$source_dir" && "$go" build -trimpath "${build_flags[@]}" -o "$built" "$package")
  echo "$label: built after $((SECONDS - start))s" >&2
  "$built" "${check_args[@]}" >/dev/null
  mv -f "$built" "$binary"
  echo "$binary"
}

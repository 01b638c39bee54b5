#!/usr/bin/env bash
# Builds the webhook's image from the unchanged Dockerfile with docker or podman (scripts/image-engine.sh) and prints
# its image ID; with --push, pushes it and prints the digest reference to put in manifests.
#
#   npm run image                                        → image ID
#   npm run image -- --push REGISTRY/REPO[:TAG]          → REGISTRY/REPO@sha256:…  (TAG defaults to package.json version)
#   npm run image -- --push 127.0.0.1:5000/atw --tls-verify=false     a plain-HTTP registry (also: --insecure)
#   npm run image -- --node-image node:24-slim           a base of your own instead of the local stand-in
#   bash scripts/image.sh --print-engine | --print-run   the engine command (one argument a line) tests use
#
# The base defaults to scripts/build-base-image.sh's stand-in for node:24-slim, which cannot be pulled here. The image
# is tagged localhost/actortemplate-webhook:<version> and :inputs-<key>, key = hash of the Dockerfile, .dockerignore,
# package*.json, tsconfig*.json, src/** and the base image ID; when that tag exists nothing is built. Idempotent; safe
# to run concurrently (flock); the newest three builds are kept. Progress goes to stderr, the result to stdout.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/image-engine.sh
source "$repo_root/scripts/image-engine.sh"

usage() {
  echo "usage: scripts/image.sh [--node-image REF] [--push REGISTRY/REPO[:TAG] [--tls-verify=false | --insecure]]" >&2
  echo "       scripts/image.sh --print-engine | --print-run" >&2
  exit 2
}

push_ref='' node_image='' tls_verify=true
while (($# > 0)); do
  case "$1" in
    --push) (($# > 1)) || usage; push_ref="$2"; shift ;;
    --push=*) push_ref="${1#--push=}" ;;
    --node-image) (($# > 1)) || usage; node_image="$2"; shift ;;
    --node-image=*) node_image="${1#--node-image=}" ;;
    --tls-verify=false | --insecure) tls_verify=false ;;
    --tls-verify=true | --tls-verify) tls_verify=true ;;
    --print-engine) printf '%s\n' "${engine[@]}"; exit 0 ;;
    --print-run) printf '%s\n' "${engine[@]}" run "${run_flags[@]}"; exit 0 ;;
    -h | --help) usage ;;
    *) echo "image: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done

image_exists() { "${engine[@]}" image inspect "$1" >/dev/null 2>&1; }
image_id() { "${engine[@]}" image inspect --format '{{.Id}}' "$1"; }

if [[ -z "$node_image" ]]; then node_image="$(bash "$repo_root/scripts/build-base-image.sh")"; fi
image_exists "$node_image" || { echo "image: base image $node_image is not in the $engine_kind store" >&2; exit 1; }
base_id="$(image_id "$node_image")"
version="$(node -p 'require(process.argv[1]).version' "$repo_root/package.json")"

# Exactly the build context .dockerignore lets through, plus the base: what the Dockerfile's output depends on.
key="$(cd "$repo_root" && {
  printf '%s\n' "$base_id" "$version"
  find Dockerfile .dockerignore package.json package-lock.json tsconfig*.json src -type f -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)"
repository=localhost/actortemplate-webhook
ref="$repository:inputs-$key"

work_root="$cache_root/image"
mkdir -p "$work_root"
if ! image_exists "$ref"; then
  lock_file "$work_root/.image.lock"
fi
if ! image_exists "$ref"; then
  echo "image: building $ref on $node_image with $engine_kind (a few minutes the first time)" >&2
  start=$SECONDS
  build_flags=()
  # npm ci in the build stage needs the npm registry: the host's network (and its resolver and hosts file) has the
  # way there; an engine bridge network would need NAT and DNS set up for it. Never pull: the base is local.
  if [[ "$engine_kind" == podman ]]; then
    build_flags+=(--pull=never --layers)
    # The build's npm ci trusts the CAs this machine trusts: where egress goes through a TLS-inspecting proxy, only the
    # system bundle has its CA (the npm registry answered "self-signed certificate in certificate chain" otherwise).
    # The bundle and an .npmrc naming it are mounted into RUN steps only (buildah volumes are never committed).
    host_cafile="${ATW_BUILD_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}"
    if [[ -f "$host_cafile" ]]; then
      build_dir="$(mktemp -d "$work_root/.build.XXXXXX")"
      trap 'rm -rf "$build_dir"' EXIT
      echo 'cafile=/run/atw-build-ca.crt' >"$build_dir/npmrc"
      build_flags+=(--volume "$host_cafile:/run/atw-build-ca.crt:ro" --volume "$build_dir/npmrc:/root/.npmrc:ro")
      echo "image: the build's npm trusts $host_cafile" >&2
    fi
  fi
  "${engine[@]}" build "${build_flags[@]}" --network host \
    --build-arg "NODE_IMAGE=$node_image" --build-arg "VERSION=$version" \
    --label "dev.ate.actortemplate-webhook.inputs=$key" \
    --tag "$ref" --tag "$repository:$version" \
    --file "$repo_root/Dockerfile" "$repo_root" >&2
  echo "image: built $ref in $((SECONDS - start))s" >&2
  # Keep the newest three builds (worktrees sharing the cache may alternate between them); older ones only fill the
  # disk. An image a container still uses stays.
  "${engine[@]}" images --filter "reference=$repository:inputs-*" --format '{{.Repository}}:{{.Tag}}' | grep -F ':inputs-' | tail -n +4 |
    xargs -r "${engine[@]}" rmi >&2 2>/dev/null || true
fi
id="$(image_id "$ref")"

if [[ -z "$push_ref" ]]; then echo "$id"; exit 0; fi

# A tag is what follows the last ':' of the last path component (a registry's :port is not one).
last="${push_ref##*/}"
if [[ "$last" == *:* ]]; then dest="$push_ref"; else dest="$push_ref:$version"; fi
dest_repository="${dest%:*}"
tmp_dir="$(mktemp -d "$work_root/.push.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT
echo "image: pushing $id to $dest" >&2
if [[ "$engine_kind" == podman ]]; then
  "${engine[@]}" push --tls-verify="$tls_verify" --digestfile "$tmp_dir/digest" "$id" "docker://$dest" >&2
else
  command -v skopeo >/dev/null 2>&1 || { echo "image: --push with docker needs skopeo (apt-get install skopeo)" >&2; exit 1; }
  skopeo copy --dest-tls-verify="$tls_verify" --digestfile "$tmp_dir/digest" "docker-daemon:$ref" "docker://$dest" >&2
fi
digest="$(cat "$tmp_dir/digest")"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "image: the push reported no digest (got '$digest')" >&2; exit 1; }
echo "$dest_repository@$digest"

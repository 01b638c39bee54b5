#!/usr/bin/env bash
# Builds the pod sandbox ("pause") image of the real-node e2e cluster as an OCI image layout, FROM scratch:
# one layer holding Debian's static catatonit, run as `catatonit -P` (its pause mode). Nothing can be pulled
# from public registries here (../shared/docs/real-node.md), and containerd needs a sandbox image for every pod.
#
# Written by hand with tar and sha256sum (no image builder needed) and cached OUTSIDE the repository, keyed by
# this script and the catatonit binary:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/pause/<key>/layout   (ref name: the tag below)
#
# Idempotent; safe to run concurrently (flock). Prints the layout directory as its last (only) stdout line.
set -euo pipefail

catatonit="${ATW_CATATONIT:-/usr/bin/catatonit}"
tag=3.10
[[ -x "$catatonit" ]] || { echo "build-pause-image: $catatonit not found (apt-get install catatonit)" >&2; exit 1; }

key="$(cat "${BASH_SOURCE[0]}" "$catatonit" | sha256sum | cut -c1-16)"
cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"
out_dir="$cache_root/pause/$key"
layout="$out_dir/layout"
if [[ -f "$layout/index.json" ]]; then echo "$layout"; exit 0; fi

mkdir -p "$out_dir"
exec 9>"$out_dir/.lock"
flock 9
if [[ -f "$layout/index.json" ]]; then echo "$layout"; exit 0; fi

tmp_dir="$(mktemp -d "$out_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT
blobs="$tmp_dir/layout/blobs/sha256"
mkdir -p "$tmp_dir/rootfs" "$blobs"
install -m 0755 "$catatonit" "$tmp_dir/rootfs/catatonit"

# Reproducible layer: fixed order, owner and mtime, so the same inputs give the same digests.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp_dir/rootfs" -cf "$tmp_dir/layer.tar" catatonit
diff_id="$(sha256sum "$tmp_dir/layer.tar" | cut -d' ' -f1)"
gzip -n -9 "$tmp_dir/layer.tar"

# Stores a file as a blob; prints "<hex> <size>".
put_blob() {
  local hex size
  hex="$(sha256sum "$1" | cut -d' ' -f1)"
  size="$(stat -c %s "$1")"
  mv "$1" "$blobs/$hex"
  echo "$hex $size"
}

read -r layer_hex layer_size < <(put_blob "$tmp_dir/layer.tar.gz")
printf '%s' "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/catatonit\",\"-P\"],\"User\":\"65535:65535\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\"history\":[{\"created_by\":\"scripts/build-pause-image.sh: catatonit -P\"}]}" > "$tmp_dir/config.json"
read -r config_hex config_size < <(put_blob "$tmp_dir/config.json")
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_hex\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer_hex\",\"size\":$layer_size}]}" > "$tmp_dir/manifest.json"
read -r manifest_hex manifest_size < <(put_blob "$tmp_dir/manifest.json")
printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$tmp_dir/layout/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest_hex\",\"size\":$manifest_size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" > "$tmp_dir/layout/index.json"

rm -rf "$layout"
mv "$tmp_dir/layout" "$layout"
echo "$layout"

#!/usr/bin/env bash
# Makes sure the tests have their system tools, from Debian's packages:
#   registry fixtures (test/support/registry.ts, push.ts): docker-registry (CNCF distribution 2.8), skopeo;
#   the image (scripts/image.sh): podman, mmdebstrap (the stand-in base), uidmap, fuse-overlayfs, slirp4netns;
#   the real-node cluster: containerd, runc, the CNI plugins, catatonit (the sandbox image's init), iptables and
#   conntrack (kube-proxy), iproute2 (the network namespace).
# Runs before every test run, so the common case (all present) must be silent and cost only a few `test -x`s.
set -euo pipefail

# package → a file it installs; fixtures spawn these by absolute path, so a different one on PATH doesn't count.
declare -A probe=(
  [docker-registry]=/usr/bin/docker-registry
  [skopeo]=/usr/bin/skopeo
  [podman]=/usr/bin/podman
  [mmdebstrap]=/usr/bin/mmdebstrap
  [uidmap]=/usr/bin/newuidmap
  [fuse-overlayfs]=/usr/bin/fuse-overlayfs
  [slirp4netns]=/usr/bin/slirp4netns
  [containerd]=/usr/bin/containerd
  [runc]=/usr/sbin/runc
  [containernetworking-plugins]=/usr/lib/cni/bridge
  [catatonit]=/usr/bin/catatonit
  [iptables]=/usr/sbin/iptables
  [conntrack]=/usr/sbin/conntrack
  [iproute2]=/usr/sbin/ip
)
missing=()
for package in "${!probe[@]}"; do
  [[ -x "${probe[$package]}" ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

fail() {
  echo "install-test-deps: $*" >&2
  echo "install-test-deps: install them by hand: apt-get install --no-install-recommends ${!probe[*]}" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and apt-get is not available on this machine"

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  # -n: a password prompt would hang an unattended test run; fail instead.
  command -v sudo >/dev/null 2>&1 || fail "missing ${missing[*]}; not root and sudo is not installed"
  sudo -n true 2>/dev/null || fail "missing ${missing[*]}; not root and sudo needs a password"
  as_root=(sudo -n)
fi

echo "install-test-deps: installing ${missing[*]}" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "${as_root[@]}" apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get update failed"
fi
# Always install the whole list: asking for one already installed is a no-op, and the list stays in one place.
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${!probe[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get install ${!probe[*]} failed"
fi

# The packages enable a system registry on :5000 (all interfaces) and a system containerd. The tests start their
# own, so switch off the services this script just brought in (never ones that were there before).
if [[ -d /run/systemd/system ]]; then
  for service in docker-registry containerd; do
    if [[ " ${missing[*]} " == *" $service "* ]]; then
      "${as_root[@]}" systemctl disable --now "$service.service" >/dev/null 2>&1 || true
    fi
  done
fi

for package in "${!probe[@]}"; do
  [[ -x "${probe[$package]}" ]] || fail "$package was installed but ${probe[$package]} is missing"
done

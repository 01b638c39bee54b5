#!/usr/bin/env bash
# Makes sure the registry test fixtures (test/support/registry.ts, push.ts) have their two system
# tools: Debian's `docker-registry` (CNCF distribution 2.8) and `skopeo`. Runs before every test run,
# so the common case (both present) must be silent and cost no more than two `command -v`s.
set -euo pipefail

missing=()
# The fixture spawns /usr/bin/docker-registry by absolute path, so a different one on PATH doesn't count.
[[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
((${#missing[@]} == 0)) && exit 0

fail() {
  echo "install-test-deps: $*" >&2
  echo "install-test-deps: install them by hand: apt-get install --no-install-recommends docker-registry skopeo" >&2
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
# Always install both: asking for one already installed is a no-op, and the list stays in one place.
if ! "${as_root[@]}" apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get update failed"
fi
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends docker-registry skopeo >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get install docker-registry skopeo failed"
fi

# The package enables a system registry on :5000, all interfaces. The tests start their own on
# loopback, so switch off the one this script just brought in (never one that was there before).
if [[ " ${missing[*]} " == *" docker-registry "* && -d /run/systemd/system ]]; then
  "${as_root[@]}" systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi

[[ -x /usr/bin/docker-registry ]] || fail "docker-registry was installed but /usr/bin/docker-registry is missing"
command -v skopeo >/dev/null 2>&1 || fail "skopeo was installed but is not on PATH"

#!/usr/bin/env bash
# Builds google/k8s-digester, the peer that `npm run bench` compares us with (issue 6), from the Go module
# proxy at one pinned version, and caches the binary OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/digester/<version>/digester
#
# At run time the binary needs only loopback (the bench's registry and cluster).
#
# Why v0.1.16: the proxy refuses @latest and the version list for this module (403); of the exact versions tried
# once each (v0.1.11 … v0.1.20, v0.2.0) it served v0.1.15 and v0.1.16 only. Change DIGESTER_VERSION to try another.
#
# Environment:
#   ATW_CACHE_DIR     cache root (default $HOME/.cache/actortemplate-webhook)
#   DIGESTER_VERSION  module version (default v0.1.16)
#   GO                go binary (default /usr/local/go/bin/go, else `go` on PATH)
#
# Caching, locking, output and how it builds: scripts/lib/go-module-binary.sh.
set -euo pipefail
# shellcheck source=lib/go-module-binary.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
go_module_binary build-digester digester github.com/google/k8s-digester "${DIGESTER_VERSION:-v0.1.16}" . digester \
  'a few minutes' -- --help

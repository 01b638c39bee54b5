#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, cmd/helm) for the chart tests (issue 14 §2) from the Go module proxy at one pinned
# version, and caches the binary OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/helm/<version>/helm
#
# The module is built inside its own downloaded source, as the main module, so Helm's go.mod and go.sum decide every
# dependency (no go.mod of ours to keep in step). Why v4.3.2: the newest v4 the proxy serves here (issue 14).
#
# Environment:
#   ATW_CACHE_DIR  cache root (default $HOME/.cache/actortemplate-webhook)
#   HELM_VERSION   module version (default v4.3.2)
#   GO             go binary (default /usr/local/go/bin/go, else `go` on PATH)
#
# Caching, locking, output and how it builds: scripts/lib/go-module-binary.sh.
set -euo pipefail
# shellcheck source=lib/go-module-binary.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
module=helm.sh/helm/v4
version="${HELM_VERSION:-v4.3.2}"
export CGO_ENABLED=0
# Helm's Makefile stamps the version the same way; without it `helm version` says only the minor (v4.3).
go_module_binary build-helm helm "$module" "$version" ./cmd/helm helm 'a few minutes' \
  "-ldflags=-s -w -X $module/internal/version.version=$version -X $module/internal/version.gitTreeState=clean" -- version --short

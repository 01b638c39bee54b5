#!/usr/bin/env bash
# Builds promtool (Prometheus' rule checker and rule unit-test runner) from the Go module proxy at one pinned
# version, and caches the binary OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/promtool/<version>/promtool
#
# The monitoring tests (test/deploy/monitoring-*.test.ts, issue 14 §3) run `promtool check rules` and
# `promtool test rules` on the PrometheusRule content the chart and the kustomize component ship.
#
# Why v0.316.0 (Prometheus 3.x's Go module numbering): the newest version the proxy served when this was written;
# its go.mod asks for go 1.26.7, which the machine's Go 1.26.8 satisfies, so no other toolchain is fetched.
# Built with -tags remove_all_sd: promtool's rule commands need none of the cloud service-discovery plugins, and
# leaving them out saves downloading and compiling the cloud SDKs (several minutes on two cores).
#
# Environment:
#   ATW_CACHE_DIR     cache root (default $HOME/.cache/actortemplate-webhook)
#   PROMTOOL_VERSION  github.com/prometheus/prometheus module version (default v0.316.0)
#   GO                go binary (default /usr/local/go/bin/go, else `go` on PATH)
#
# Caching, locking, output and how it builds: scripts/lib/go-module-binary.sh.
set -euo pipefail
# shellcheck source=lib/go-module-binary.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
# -tags remove_all_sd: see above.
go_module_binary build-promtool promtool github.com/prometheus/prometheus "${PROMTOOL_VERSION:-v0.316.0}" ./cmd/promtool \
  promtool 'several minutes' -tags remove_all_sd -- --help

#!/usr/bin/env bash
# Builds Shopify/toxiproxy's server, the latency proxy `npm run bench` puts between the webhook and the registry (and
# its token server) to give every exchange a chosen round trip (issue 17 §1: `tc netem` is not available in these
# machines' kernel). Built from the Go module proxy at one pinned version and cached OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/toxiproxy/<version>/toxiproxy-server
#
# At run time the server listens on loopback only (the bench passes -host 127.0.0.1).
#
# Environment:
#   ATW_CACHE_DIR      cache root (default $HOME/.cache/actortemplate-webhook)
#   TOXIPROXY_VERSION  module version (default v2.5.0)
#   GO                 go binary (default /usr/local/go/bin/go, else `go` on PATH)
#
# Caching, locking, output and how it builds: scripts/lib/go-module-binary.sh.
set -euo pipefail
# shellcheck source=lib/go-module-binary.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
go_module_binary build-toxiproxy toxiproxy github.com/Shopify/toxiproxy/v2 "${TOXIPROXY_VERSION:-v2.5.0}" ./cmd/server \
  toxiproxy-server 'about 20 s' -- -version

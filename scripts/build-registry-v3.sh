#!/usr/bin/env bash
# Builds CNCF distribution v3's registry, for one comparison in `npm run bench` only (issue 17 §1): the tests and every
# other bench section use Debian's docker-registry (distribution 2.8.2). 2.8.2 compiles its whole route table again
# for every request (fixed upstream in distribution/distribution#3683, first released in v3), which on these 2-core
# machines puts 31–45 % of its CPU per manifest HEAD on the cores our webhook shares with it (BENCHMARKS.md). The
# network section measures its ours ÷ digester cell against this build too, so that figure can be read without the
# fixture's own overhead. Built from the Go module proxy at one pinned version and cached OUTSIDE the repository:
#
#   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}/distribution/<version>/registry
#
# At run time it listens on loopback only (the fixture's config sets http.addr to 127.0.0.1).
#
# Environment:
#   ATW_CACHE_DIR         cache root (default $HOME/.cache/actortemplate-webhook)
#   DISTRIBUTION_VERSION  module version (default v3.0.0)
#   GO                    go binary (default /usr/local/go/bin/go, else `go` on PATH)
#
# Caching, locking, output and how it builds: scripts/lib/go-module-binary.sh.
set -euo pipefail
# shellcheck source=lib/go-module-binary.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module-binary.sh"
go_module_binary build-registry-v3 distribution github.com/distribution/distribution/v3 "${DISTRIBUTION_VERSION:-v3.0.0}" \
  ./cmd/registry registry 'about 80 s' -- --version

#!/usr/bin/env bash
# Issue 17 §4: where a warm admission's server CPU goes, measured in the real HTTPS server rather than in a profile
# (on this machine the profiler samples wall time, and the process is often preempted inside its TLS write). Each
# variant is a copy of a compiled tree with one part of the admission taken out; `bench/ab.ts` runs them against the
# full build and the floor in alternating rounds, so each difference is what that part costs:
#
#   bash bench/warm-decomposition.sh [COMPILED_DIST] [OUT]
#   npx tsx bench/ab.ts -c 16 full=OUT/full/main.js no-core=OUT/no-core/main.js no-log=OUT/no-log/main.js canned=OUT/canned/main.js
#
# full     the tree unchanged
# no-core  the admission core (mutateReview: plan, cached lookups, patch, annotation, warnings, audit) runs once; later
#          admissions reuse its outcome. Everything else still runs: decode, metrics, the log line, serialisation.
# no-log   the admission log line is neither built nor written
# canned   after the first admission, the route decodes the review and answers the first answer's bytes: fastify with
#          our options, hooks, logger and metrics start, without the admission (issue 6 finding 11's "canned copy")
#
# The bench sends the same body again and again, so reusing an outcome or an answer gives the same bytes back. These
# builds are for measuring only; a pattern that no longer matches means app.ts changed: the script says so and stops.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compiled="${1:-$repo_root/node_modules/.cache/atw-bench/dist}"
out="${2:-$repo_root/.scratch/warm-decomposition}"
[[ -f "$compiled/main.js" ]] || { echo "warm-decomposition: $compiled/main.js missing; compile first (tsc -p tsconfig.build.json --outDir DIR)" >&2; exit 1; }
case "$out" in "$repo_root"/*) ;; *) echo "warm-decomposition: OUT must be inside the repository so node_modules resolves" >&2; exit 1 ;; esac

rm -rf "$out"
mkdir -p "$out"
# Package scope lookup stops at node_modules: the compiled ESM needs its own "type".
printf '{ "type": "module", "private": true }\n' > "$out/package.json"

variant() {
  local name="$1" program="$2" marker="$3"
  cp -r "$compiled" "$out/$name"
  perl -0pi -e "$program" "$out/$name/http/app.js"
  grep -q "$marker" "$out/$name/http/app.js" || { echo "warm-decomposition: $name: pattern not found in http/app.js" >&2; exit 1; }
}

cp -r "$compiled" "$out/full"
variant no-core 's/const \{ result: outcome, registryRequests \} = await metrics\.tally\(/const { result: outcome, registryRequests } = globalThis.__atwOutcome ?? (globalThis.__atwOutcome = await metrics.tally(/; s/(: validateReview\(review, config\.admission\)\));/$1);/' '__atwOutcome = await'
variant no-log 's/const entry = admissionLogEntry\(webhook, review, outcome, \{[^\n]*\n/const entry = {};\n/; s/request\.log\.info\(entry, .admission.\);/void entry;/' 'void entry;'
variant canned 's/(const timeout = request\.query\.timeout;)/if (globalThis.__atwAnswer !== undefined) { await reply.code(200).header("content-type", "application\/json; charset=utf-8").send(globalThis.__atwAnswer); return; }\n$1/; s/(await reply\.code\(200\)\.send\(outcome\.review\);)/globalThis.__atwAnswer = JSON.stringify(outcome.review);\n$1/' '__atwAnswer = JSON'
echo "variants in $out: full no-core no-log canned"

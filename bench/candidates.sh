#!/usr/bin/env bash
# Candidate builds for BENCHMARKS.md: each applies one recommended src/ change to a copy of the bench's compiled tree
# (node_modules/.cache/atw-bench/dist, written by `npm run bench`), so its effect can be measured against the same
# baselines before anyone edits src/:
#
#   bash bench/candidates.sh
#   BENCH_ONLY=cold BENCH_OUR_MAIN=node_modules/.cache/atw-variants/keepalive/main.js npm run bench
#   npx tsx bench/ab.ts base=node_modules/.cache/atw-variants/base/main.js best=node_modules/.cache/atw-variants/best/main.js
#
# Variants: base (unchanged), keepalive (HEAD keeps its connection), ctx (one TLS SecureContext per registry),
# warn (fitWarning fast path), best (all three). A pattern that no longer matches means src/ changed (or took the
# fix): the script says so and leaves that variant out.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$repo_root/node_modules/.cache"
compiled="$cache/atw-bench/dist"
out="$cache/atw-variants"
[[ -f "$compiled/main.js" ]] || { echo "candidates: $compiled/main.js missing; run 'BENCH_ONLY=startup npm run bench' first" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
# Package scope lookup stops at node_modules: the compiled ESM needs its own "type".
printf '{ "type": "module", "private": true }\n' > "$out/package.json"

# src/registry/transport.ts: undici closes the connection after every HEAD unless the request says reset: false
# (undici client-h1.js, "interop with misbehaving servers"), so each lookup paid a TCP and TLS handshake.
keepalive() {
  perl -0pi -e "s/(await request\(current, \{\n(\s*)method: options\.method,)/\$1\n\$2reset: options.method === 'HEAD' ? false : undefined,/" "$1/registry/transport.js"
}
# src/registry/transport.ts: `connect: { ca }` makes Node build a SecureContext with every root certificate for each
# new connection (addCACerts); one context per registry does it once.
ctx() {
  perl -0pi -e "s/import \{ rootCertificates \} from 'node:tls';/import { createSecureContext, rootCertificates } from 'node:tls';/; s/\{ ca \}\),/{ secureContext: createSecureContext({ ca }) }),/" "$1/registry/transport.js"
}
# src/admission/warnings.ts: most warnings are short and plain; skip the per-code-point spread and map for them.
warn() {
  perl -0pi -e 's/(export function fitWarning\(text, max = maxWarningLength\) \{\n)/const mayNeedWork = \/[\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]\/;\n$1    if (text.length <= max && !mayNeedWork.test(text))\n        return text;\n/' "$1/admission/warnings.js"
}

variant() {
  local name="$1"
  shift
  cp -r "$compiled" "$out/$name"
  local change
  for change in "$@"; do
    local before
    before="$(cat "$out/$name/registry/transport.js" "$out/$name/admission/warnings.js" | sha256sum)"
    "$change" "$out/$name"
    if [[ "$before" == "$(cat "$out/$name/registry/transport.js" "$out/$name/admission/warnings.js" | sha256sum)" ]]; then
      echo "candidates: '$change' no longer applies to the compiled tree; leaving out $name" >&2
      rm -rf "${out:?}/$name"
      return 0
    fi
  done
  echo "$out/$name/main.js"
}

variant base
variant keepalive keepalive
variant ctx ctx
variant warn warn
variant best keepalive ctx warn

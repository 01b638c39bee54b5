#!/usr/bin/env bash
# `npm start`: the webhook on https://127.0.0.1:8443 with development certificates made on first use.
# Runs under npm, so `node` is the project's Node 24. Extra arguments go to `serve` (e.g. --insecure-registry localhost:5001).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -s certs/tls.crt || ! -s certs/tls.key ]]; then
  node dist/main.js certs --out certs --dns localhost --ip 127.0.0.1
fi

port="${ATW_PORT:-8443}"
# /metrics is plain HTTP on its own port; on a developer's machine it stays on loopback like the webhook.
export ATW_METRICS_HOST="${ATW_METRICS_HOST:-127.0.0.1}"
cat >&2 <<TRY
actortemplate-webhook: serving on https://127.0.0.1:${port} (dev certificates in certs/; CA certs/ca.crt)
Try it:
  curl --cacert certs/ca.crt -H 'content-type: application/json' \\
    --data @test/fixtures/reviews/create-invalid.json https://127.0.0.1:${port}/validate
  curl --cacert certs/ca.crt https://127.0.0.1:${port}/readyz
  curl http://${ATW_METRICS_HOST}:${ATW_METRICS_PORT:-9090}/metrics
TRY
exec node dist/main.js serve --host 127.0.0.1 --port "$port" --tls-cert certs/tls.crt --tls-key certs/tls.key "$@"

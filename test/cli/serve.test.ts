import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { Agent, request } from 'undici'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { main } from '../../src/cli/main.js'
import { loadReview } from '../fixtures/reviews/index.js'
import { writeTlsFiles } from '../support/tls.js'
import { captureIo } from './io.js'

t.test('a bad configuration lists every problem and exits 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-serve-'))
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, 'server:\n  port: 99999\n  bodyLimitBytes: 1024\nadmission:\n  maxResolveSeconds: 60\nresolver:\n  manifestMethod: post\ntypo: 1\n')
  const io = captureIo()
  t.equal(await main(['serve', '--config', configFile], io), 2)
  for (const problem of [/server\.port: must be <= 65535/, /server\.bodyLimitBytes: must be >= 7340032/, /admission\.maxResolveSeconds: must be <= 30/, /resolver\.manifestMethod/, /config: unknown key "typo"/]) {
    t.match(io.err(), problem)
  }
})

t.test('missing TLS files and bad flags exit 2 with the reason', async (t) => {
  const missing = captureIo()
  t.equal(await main(['serve', '--port', '0', '--tls-cert', '/nonexistent/tls.crt', '--tls-key', '/nonexistent/tls.key'], missing), 2)
  t.match(missing.err(), /cannot read the TLS certificate \/nonexistent\/tls\.crt or key \/nonexistent\/tls\.key: ENOENT/)
  const port = captureIo()
  t.equal(await main(['serve', '--port', 'https'], port), 2)
  t.match(port.err(), /--port must be a port number, got "https"/)
  const help = captureIo()
  t.equal(await main(['serve', '--help'], help), 0)
  t.match(help.out(), /--insecure-registry HOST\[:PORT\]\]\.\.\./)
})

t.test('the real process: serves HTTPS, logs one JSON line per admission, SIGTERM drains and exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-serve-'))
  const tls = await writeTlsFiles(dir)
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, 'server:\n  shutdownDelaySeconds: 1\n  metricsHost: 127.0.0.1\n  metricsPort: 0\n')
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0',
    '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--insecure-registry', 'localhost:5001', '--insecure-registry', 'localhost:5002'],
  { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>
      lines.push(entry)
      if (entry['msg'] === 'listening') resolve(String(entry['url']))
    })
    void exited.then((code) => { reject(new Error(`serve exited ${String(code)} before listening: ${stderr}`)) })
  })
  const agent = new Agent({ connect: { ca: tls.caPem } })
  t.teardown(async () => { await agent.close() })

  const review = loadReview('create-pinned')
  const answer = await request(`${url}/mutate?timeout=10s`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) })
  t.equal(answer.statusCode, 200)
  t.same((await answer.body.json() as AdmissionReviewResponse).response, { uid: review.request.uid, allowed: true })

  child.kill('SIGTERM')
  const started = Date.now()
  let ready = 200
  for (let tries = 0; tries < 20 && ready === 200; tries++) {
    const response = await request(`${url}/readyz`, { dispatcher: agent, reset: true })
    ready = response.statusCode
    await response.body.dump()
  }
  t.equal(ready, 503, 'readyz turns false right after SIGTERM')
  const during = await request(`${url}/healthz`, { dispatcher: agent, reset: true })
  t.equal(during.statusCode, 200, 'still serving during the shutdown delay')
  await during.body.dump()
  t.equal(await exited, 0, 'exit 0')
  t.ok(Date.now() - started >= 900, `exited after the ${Date.now() - started} ms delay`)

  const admission = lines.find((line) => line['msg'] === 'admission')
  t.match(admission, { webhook: 'mutate', uid: review.request.uid, object: 'team-a/agent', operation: 'CREATE', decision: 'allowed', reason: 'unchanged', registryRequests: 0 })
  t.ok(lines.some((line) => line['msg'] === 'closed'))
  t.equal(stderr, '', 'nothing on stderr')
})

import { spawn } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { stringify } from 'yaml'
import { writeTlsFiles } from '../support/tls.js'

/**
 * Issue 6: idle RSS. A `serve` that uses no Kubernetes feature must not load the Kubernetes client or the certificate
 * code (@peculiar/x509 and its ASN.1 stack); each replica would pay their memory for nothing. Nor undici before a
 * digest has to be looked up (issue 17 §3). The real process is started, so any static import chain that reaches
 * them again shows up here.
 */

const kubeClient = 'node_modules/@kubernetes/client-node/'
const x509 = 'node_modules/@peculiar/x509/'
const certificateManager = 'src/kube/certificate-manager.ts'
// Issue 17 §3: undici (~18 MB of idle RSS) is loaded by the first registry request, not at start-up.
const undici = 'node_modules/undici/'
/**
 * Issue 17 §3: the config and AdmissionReview validators are generated ahead of time (scripts/generate-validators.ts)
 * and fastify gets no schema compilers (src/http/no-route-schemas.ts), so serve loads no JSON schema compiler: not
 * ajv's (its runtime helpers, ajv/dist/runtime/, are what the generated code needs), not fastify's two, not
 * fast-json-stringify's (fastify's error serialiser needs only fast-json-stringify/lib/serializer.js, its runtime).
 */
const schemaCompilers = [
  'node_modules/ajv/dist/ajv.js',
  'node_modules/ajv/dist/core.js',
  'node_modules/ajv/dist/compile/',
  'node_modules/ajv/dist/vocabularies/',
  'node_modules/ajv-formats/',
  'node_modules/@fastify/ajv-compiler/',
  'node_modules/@fastify/fast-json-stringify-compiler/',
  'node_modules/fast-json-stringify/index.js',
  'node_modules/json-schema-ref-resolver/'
]

interface Served {
  loaded: string[]
  logs: Array<Record<string, unknown>>
}

/** Runs serve until it listens and `until` has been logged, stops it with SIGTERM, and returns the modules it loaded. */
async function serveAndStop (config: Record<string, unknown>, env: Record<string, string>,
  until: (line: Record<string, unknown>) => boolean): Promise<Served> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-lazy-'))
  const tls = await writeTlsFiles(dir)
  const configFile = join(dir, 'config.yaml')
  const loadedFile = join(dir, 'loaded.txt')
  await writeFile(configFile, stringify({ ...config, server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, shutdownDelaySeconds: 0, tlsCert: tls.certFile, tlsKey: tls.keyFile } }))
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/cli/loaded-modules-hook.ts', 'src/main.ts', 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Only what the child needs: an inherited KUBECONFIG or ATW_* would change what it loads.
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, ATW_TEST_LOADED_MODULES: loadedFile, ...env }
  })
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  try {
    await new Promise<void>((resolve, reject) => {
      let listening = false
      let seen = false
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        listening ||= entry['msg'] === 'listening'
        seen ||= until(entry)
        if (listening && seen) resolve()
      })
      void exited.then((code) => { reject(new Error(`serve exited ${String(code)} early: ${stderr}`)) })
    })
  } finally {
    child.kill('SIGTERM')
  }
  if (await exited !== 0) throw new Error(`serve did not exit 0: ${stderr}`)
  return { loaded: (await readFile(loadedFile, 'utf8')).split('\n'), logs }
}

/** The three plain-serve checks read one process's loaded modules: starting it costs seconds and they look at the same run. */
let plainServed: Promise<Served> | undefined
async function plainServe (): Promise<Served> {
  plainServed ??= serveAndStop({}, {}, () => true)
  return await plainServed
}

function loads (served: Served, path: string): boolean {
  return served.loaded.some((url) => url.includes(path))
}

t.test('issue 6: serve with certificates.mode files and no pull Secrets loads neither the Kubernetes client nor x509', async (t) => {
  const served = await plainServe()
  t.ok(loads(served, 'src/kube/integration.ts'), 'the hook sees our modules')
  for (const path of [kubeClient, x509, certificateManager, undici, 'src/kube/client.ts', 'src/certs/generate.ts']) {
    t.notOk(loads(served, path), `${path} not loaded`)
  }
})

t.test('issue 17 §3: serve loads no JSON schema compiler, only the generated validators and ajv\'s runtime', async (t) => {
  const served = await plainServe()
  for (const path of ['src/generated/config-validator.ts', 'src/generated/review-request-validator.ts', 'node_modules/ajv/dist/runtime/ucs2length.js']) {
    t.ok(loads(served, path), `${path} loaded: the hook sees what the generated code uses`)
  }
  for (const path of schemaCompilers) t.notOk(loads(served, path), `${path} not loaded`)
})

t.test('issue 17 §3: serve does not load Node\'s bundled undici (node:http\'s lazy WebSocket getters)', async (t) => {
  const served = await plainServe()
  t.ok(loads(served, 'node-internal:internal/http'), 'the hook sees Node\'s own modules')
  t.notOk(loads(served, 'node-internal:internal/deps/undici/'), 'internal/deps/undici not loaded')
})

t.test('issue 6: pull Secrets load the Kubernetes client, still not the certificate code', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-lazy-kube-'))
  const kubeconfig = join(dir, 'kubeconfig')
  // Port 1 refuses at once: the Secret read fails, is logged, and serving goes on without its credentials.
  await writeFile(kubeconfig, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nowhere', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'reader', user: { token: 'not-a-token' } }],
    contexts: [{ name: 'nowhere', context: { cluster: 'nowhere', user: 'reader' } }],
    'current-context': 'nowhere'
  }))
  const served = await serveAndStop({ credentials: { secrets: [{ namespace: 'hooks', name: 'pull' }] } }, { KUBECONFIG: kubeconfig },
    (line) => line['msg'] === 'registry credentials')
  t.match(served.logs.find((line) => line['msg'] === 'registry credentials'), { problem: /cannot read secret hooks\/pull/ })
  t.ok(loads(served, kubeClient), 'the Kubernetes client is loaded')
  for (const path of [x509, certificateManager, 'src/certs/generate.ts']) {
    t.notOk(loads(served, path), `${path} not loaded`)
  }
})

import { execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { httpsJson } from '../support/https-json.js'
import { freePort } from '../support/free-port.js'

/**
 * The Docker runtime stage without Docker: the same file set (dist/ from `tsc -p tsconfig.build.json`, package.json,
 * `npm ci --omit=dev --ignore-scripts` from package-lock.json) in a temporary directory, run with Node 24. It must
 * start every command and serve an AdmissionReview over TLS. A missing runtime dependency (one only in
 * devDependencies) fails here, not in a cluster.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
// npm's launcher is `#!/usr/bin/env node`: put the Node running this test (Node 24 from node_modules) first on PATH.
// No ATW_* from the caller's shell: the test's flags and config file alone configure the server.
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ATW_'))),
  PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`
}

const dir = await mkdtemp(join(tmpdir(), 'atw-production-'))
t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })

async function node (args: string[], timeout = 30_000): Promise<{ stdout: string, stderr: string }> {
  return await run(process.execPath, ['dist/main.js', ...args], { cwd: dir, env, timeout })
}

t.before(async () => {
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'))
  await copyFile(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'))
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
    { cwd: ROOT, env, timeout: 240_000 })
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env, timeout: 240_000 })
})

t.test('only production dependencies are installed', async (t) => {
  const installed = new Set(await readdir(join(dir, 'node_modules')))
  const packageJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>, devDependencies: Record<string, string> }
  for (const name of Object.keys(packageJson.dependencies)) t.ok(installed.has(name.split('/')[0] ?? name), `${name} installed`)
  for (const name of ['typescript', 'tap', 'eslint', 'tsx', 'node']) t.notOk(installed.has(name), `${name} (dev) not installed`)
})

t.test('every command starts from the production file set', async (t) => {
  for (const command of ['serve', 'certs', 'resolve', 'check', 'pin']) {
    const { stdout } = await node([command, '--help'])
    t.match(stdout, new RegExp(`^usage: actortemplate-webhook ${command}`), `${command} --help`)
  }
})

t.test('serve answers an AdmissionReview over TLS with certificates from `certs`', async (t) => {
  const certs = join(dir, 'certs')
  await node(['certs', '--out', certs, '--dns', 'localhost', '--ip', '127.0.0.1'])
  const port = await freePort()
  const config = join(dir, 'config.yaml')
  await writeFile(config, 'server:\n  shutdownDelaySeconds: 0\n  metricsHost: 127.0.0.1\n  metricsPort: 0\nlogLevel: warn\n')
  const server = spawn(process.execPath, ['dist/main.js', 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port),
    '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key')], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  server.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(server, 'exit')
  t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
  const ca = await readFile(join(certs, 'ca.crt'), 'utf8')

  let ready = false
  for (let attempt = 0; attempt < 100 && !ready && server.exitCode === null; attempt++) {
    ready = await httpsJson(port, ca, 'GET', '/readyz').then((response) => response.status === 200, () => false)
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(ready, `ready (stderr: ${stderr})`)

  const uid = randomUUID()
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'ate.dev', version: 'v1alpha1', kind: 'ActorTemplate' },
      resource: { group: 'ate.dev', version: 'v1alpha1', resource: 'actortemplates' },
      name: 'agent',
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo: { username: 'tester' },
      object: {
        apiVersion: 'ate.dev/v1alpha1',
        kind: 'ActorTemplate',
        metadata: { name: 'agent', namespace: 'team-a' },
        spec: {
          pauseImage: `registry.k8s.io/pause:3.10@sha256:${'a'.repeat(64)}`,
          containers: [{ name: 'pause', image: `ghcr.io/acme/agent@sha256:${'b'.repeat(64)}` }],
          snapshotsConfig: { location: 'gs://bucket/prefix/' }
        }
      },
      dryRun: false
    }
  }
  const response = await httpsJson(port, ca, 'POST', '/validate?timeout=10s', review)
  t.equal(response.status, 200)
  t.match(response.json, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: false, status: { message: /pause/ } } })

  server.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0, 'SIGTERM is a clean shutdown')
})

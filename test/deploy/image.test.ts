import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { parse, stringify } from 'yaml'
import { loadReview } from '../fixtures/reviews/index.js'
import { httpsJson } from '../support/https-json.js'
import { builtImage, engine, pushImage, runOnce, startContainer } from '../support/image.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'

/**
 * Issue 12 §1: the image `npm run image` builds from the unchanged Dockerfile, run the way manifests/base runs it:
 * UID 65532, read-only root, no capabilities, no new privileges, config and certificates where the Deployment mounts
 * them. Its contents are exactly dist/, package.json and the production tree of package-lock.json.
 */

t.setTimeout(20 * 60 * 1000)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const UID = 65532
const image = await builtImage()

interface Mount { name: string, mountPath: string, readOnly?: boolean }
interface WebhookContainer { env: Array<{ name: string, value: string }>, ports: Array<{ containerPort: number }>, volumeMounts: Mount[] }
const deployment = parse(await readFile(join(ROOT, 'manifests/base/deployment.yaml'), 'utf8')) as { spec: { template: { spec: { containers: WebhookContainer[] } } } }
const webhook = deployment.spec.template.spec.containers[0]
if (webhook === undefined) throw new Error('manifests/base/deployment.yaml has no container')
const mountPath = (name: string): Mount => {
  const found = webhook.volumeMounts.find((mount) => mount.name === name)
  if (found === undefined) throw new Error(`deployment.yaml mounts no volume ${name}`)
  return found
}
const configFile = webhook.env.find((variable) => variable.name === 'ATW_CONFIG')?.value ?? ''
const containerPort = webhook.ports[0]?.containerPort ?? 0

/** The securityContext of manifests/base/deployment.yaml as run flags. */
const hardened = [
  '--read-only', '--cap-drop=ALL', '--user', `${UID}:${UID}`, '--security-opt', 'no-new-privileges',
  // podman would also put tmpfs on /run and /var/tmp; the pod has only its /tmp emptyDir.
  ...(image.kind === 'podman' ? ['--read-only-tmpfs=false'] : []),
  '--tmpfs', `${mountPath('tmp').mountPath}:rw,size=16m,mode=1777`
]

/** The base config.yaml with its certificate and credential settings that need a cluster turned to files and none. */
async function writeConfig (t: Test, dir: string): Promise<void> {
  const config = parse(await readFile(join(ROOT, 'manifests/base/config.yaml'), 'utf8')) as { server: Record<string, unknown>, certificates: unknown, credentials: unknown }
  const tls = mountPath('tls').mountPath
  t.same([config.server['tlsCert'], config.server['tlsKey']], [`${tls}/tls.crt`, `${tls}/tls.key`], 'config.yaml reads the certificate from the tls mount')
  config.certificates = { mode: 'files' }
  config.credentials = {}
  config.server['shutdownDelaySeconds'] = 0
  await writeFile(join(dir, basename(configFile)), stringify(config))
  await chmod(dir, 0o755)
}

t.test('runs as 65532 on a read-only root without capabilities and answers AdmissionReviews over TLS', async (t) => {
  t.equal(dirname(configFile), mountPath('config').mountPath, 'ATW_CONFIG is in the config mount')
  const configDir = await mkdtemp(join(tmpdir(), 'atw-image-config-'))
  const tlsDir = await mkdtemp(join(tmpdir(), 'atw-image-tls-'))
  t.teardown(async () => { await Promise.all([rm(configDir, { recursive: true }), rm(tlsDir, { recursive: true })]) })
  await writeConfig(t, configDir)
  const tls = await writeTlsFiles(tlsDir, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  // What the pod's fsGroup does: the files belong to group 65532, the key readable by that group only.
  for (const path of [tlsDir, tls.certFile, tls.keyFile]) await chown(path, 0, UID)
  await chmod(tlsDir, 0o750)
  await chmod(tls.keyFile, 0o640)

  const container = await startContainer(image, {
    args: [...hardened, '--env', `ATW_CONFIG=${configFile}`,
      '--volume', `${configDir}:${mountPath('config').mountPath}:ro`,
      '--volume', `${tlsDir}:${mountPath('tls').mountPath}${mountPath('tls').readOnly === true ? ':ro' : ''}`],
    publish: containerPort,
    t
  })
  let ready = false
  for (let attempt = 0; attempt < 150 && !ready; attempt++) {
    ready = await httpsJson(container.port, tls.caPem, 'GET', '/readyz').then((response) => response.status === 200, () => false)
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.ok(ready, 'GET /readyz answers 200 over TLS', { logs: ready ? '' : await container.logs() })

  const pinned = loadReview('create-pinned')
  const mutated = await httpsJson(container.port, tls.caPem, 'POST', '/mutate?timeout=10s', pinned)
  t.equal(mutated.status, 200, 'POST /mutate: HTTP 200')
  t.match(mutated.json, { kind: 'AdmissionReview', response: { uid: pinned.request.uid, allowed: true } }, 'a pinned template is allowed')
  t.notOk((mutated.json as { response: Record<string, unknown> }).response['patch'], 'and left unpatched')
  const invalid = loadReview('create-invalid')
  const validated = await httpsJson(container.port, tls.caPem, 'POST', '/validate?timeout=10s', invalid)
  t.match(validated.json, { kind: 'AdmissionReview', response: { uid: invalid.request.uid, allowed: false, status: { message: /\S/ } } }, 'an invalid template is denied')

  const probe = `const fs = require('node:fs')
    const status = Object.fromEntries(fs.readFileSync('/proc/1/status', 'utf8').split('\\n').map((line) => line.split(/:\\s+/)))
    const write = (path) => { try { fs.writeFileSync(path, ''); return 'written' } catch (error) { return error.code } }
    console.log(JSON.stringify({ cmdline: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0'), status, app: write('/app/probe'), tmp: write('/tmp/probe') }))`
  const exec = await engine(image, ['exec', container.id, 'node', '-e', probe])
  t.equal(exec.code, 0, `exec in the running container ${exec.stderr}`)
  const facts = JSON.parse(exec.stdout) as { cmdline: string[], status: Record<string, string>, app: string, tmp: string }
  t.same(facts.cmdline.slice(0, 5), ['node', '--no-maglev', '--memory-saver-mode', 'dist/main.js', 'serve'], 'PID 1 is the ENTRYPOINT')
  t.match(facts.status, { Uid: `${UID}\t${UID}\t${UID}\t${UID}`, Gid: `${UID}\t${UID}\t${UID}\t${UID}` }, 'runs as 65532:65532')
  t.match(facts.status, { CapInh: '0000000000000000', CapPrm: '0000000000000000', CapEff: '0000000000000000', CapBnd: '0000000000000000', CapAmb: '0000000000000000' }, 'no capabilities')
  t.equal(facts.status['NoNewPrivs'], '1', 'no new privileges')
  t.equal(facts.status['Seccomp'], '2', 'a seccomp filter (RuntimeDefault)')
  t.equal(facts.app, 'EROFS', 'the root filesystem is read-only')
  t.equal(facts.tmp, 'written', '/tmp is writable, as the pod\'s emptyDir')
})

t.test('--help prints the serve usage and exits 0', async (t) => {
  const result = await runOnce(image, ['--network', 'none', ...hardened, image.id, '--help'])
  t.equal(result.code, 0, `exit 0 ${result.stderr}`)
  t.match(result.stdout, /^usage: actortemplate-webhook serve /, 'the serve usage on stdout')
})

t.test('holds dist, package.json and the production tree of package-lock.json: no dev dependencies, tests or npm cache', async (t) => {
  const script = `cd /app && ls -A && echo ==
    find node_modules -name package.json -printf '%h\\n' && echo ==
    find / -xdev \\( -name _cacache -o -name .npm -o -name .npmrc -o -name '*.tsbuildinfo' \\) -print && echo ==
    find /app -path /app/node_modules -prune -o \\( -name '*.test.*' -o -name '*.ts' ! -name '*.d.ts' -o -name 'tsconfig*.json' -o -name test -o -name src \\) -print && echo ==
    du -sb /app/node_modules /app/dist /app/package.json | cut -f1 | paste -sd ' '`
  const result = await runOnce(image, ['--network', 'none', '--user', '0:0', '--entrypoint', 'sh', image.id, '-c', script])
  t.equal(result.code, 0, `listing the image ${result.stderr}`)
  const [app = [], packages = [], caches = [], tests = [], sizes = []] = result.stdout.split('==\n').map((part) => part.split('\n').filter(Boolean))
  t.same(app, ['dist', 'node_modules', 'package.json'], '/app holds only what the runtime stage copies')
  const installed = new Set(packages.filter((path) => /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(path)))
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean, devOptional?: boolean, optional?: boolean }> }
  const entries = Object.entries(lock.packages).filter(([path]) => path !== '')
  const devOnly = entries.filter(([, entry]) => entry.dev === true).map(([path]) => path)
  const production = entries.filter(([, entry]) => entry.dev !== true && entry.devOptional !== true && entry.optional !== true).map(([path]) => path)
  t.ok(devOnly.length > 100 && production.length > 50, `${devOnly.length} dev-only and ${production.length} production packages in the lock`)
  t.same(devOnly.filter((path) => installed.has(path)), [], 'no dev-only package of the lock')
  t.same(production.filter((path) => !installed.has(path)), [], 'every production package of the lock')
  for (const name of ['tap', 'typescript', 'eslint', 'tsx', 'node']) t.notOk(installed.has(`node_modules/${name}`), `no ${name}`)
  t.same(caches, [], 'no npm cache or configuration anywhere in the image')
  t.same(tests, [], 'no tests, sources or TypeScript configuration under /app')

  const [modulesBytes = 0, distBytes = 0, packageJsonBytes = 0] = sizes.join(' ').split(' ').map(Number)
  const size = async (ref: string): Promise<number> => Number((await engine(image, ['image', 'inspect', '--format', '{{.Size}}', ref])).stdout.trim())
  const [imageBytes, baseBytes] = [await size(image.id), await size(image.baseRef)]
  const expected = baseBytes + modulesBytes + distBytes + packageJsonBytes
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`
  const ratio = imageBytes / expected
  t.comment(`image ${mb(imageBytes)}; base ${mb(baseBytes)} + production node_modules ${mb(modulesBytes)} + dist ${mb(distBytes)} + package.json = ${mb(expected)}; ratio ${ratio.toFixed(3)}`)
  t.ok(modulesBytes > 1e6 && distBytes > 1e4, 'node_modules and dist measured')
  t.ok(ratio <= 1.15, `the image is within 15% of base + node_modules + dist (${((ratio - 1) * 100).toFixed(1)}%)`)
})

t.test('--push puts the image in a plain-HTTP loopback registry and prints its digest reference', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  const reference = await pushImage(`${registry.host}/atw/webhook`, { tlsVerify: false })
  const match = new RegExp(`^${registry.host.replace(/\./g, '\\.')}/atw/webhook@(sha256:[0-9a-f]{64})$`).exec(reference)
  t.ok(match, `printed ${reference}`)
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
  const packageJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  for (const ref of [match?.[1] ?? 'missing', packageJson.version]) {
    const response = await fetch(`${registry.baseUrl}/v2/atw/webhook/manifests/${ref}`, { method: 'HEAD', headers: { accept } })
    t.equal(response.status, 200, `manifest ${ref} is in the registry`)
    t.equal(response.headers.get('docker-content-digest'), match?.[1], `${ref} has the printed digest`)
  }
})

/**
 * Issue 15 §5: the CLI uses the registry logins a developer already has. A real registry (TLS + basic auth) that
 * answers 401 without them; a real helper executable on PATH speaking the docker-credential-helper protocol; HOME and
 * DOCKER_CONFIG pointed at temp dirs. `resolve` pins with credentials found only through credHelpers, only through
 * credsStore, only through ~/.docker/config.json auths, only through $DOCKER_CONFIG, and fails with 401 under
 * --no-docker-config. A mirror with a path (a Harbor proxy project) is asked at /v2/<prefix>/<repo>/manifests/<tag>.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { buildOciImage } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { captureIo } from './io.js'

const registry = await startRegistry({ mode: 'basic', t })
const image = buildOciImage()
await Promise.all([push(registry, image, 'team/app', '1.0'), push(registry, image, 'dockerhub-proxy/library/nginx', '1.27')])
const dir = await mkdtemp(join(tmpdir(), 'atw-docker-config-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

// The registry's CA only: no credentials in the config, so any that arrive came from the docker config.
const configFile = join(dir, 'config.yaml')
await writeFile(configFile, JSON.stringify({ registries: [{ host: registry.host, caFile: registry.caFile }] }))

// A helper as `gcloud auth configure-docker` or Docker Desktop install one: `get` reads the server URL on stdin and
// prints {"ServerURL","Username","Secret"}; each call is logged so the test sees who asked for what.
const bin = join(dir, 'bin')
const helperLog = join(dir, 'helper.log')
await mkdir(bin)
for (const name of ['atw-fixture-helper', 'atw-fixture-store']) {
  const helper = join(bin, `docker-credential-${name}`)
  await writeFile(helper, `#!/bin/sh
[ "$1" = get ] || exit 3
read -r server
echo "${name} $1 $server" >> '${helperLog}'
if [ "$server" != "${registry.host}" ]; then echo "credentials not found in native keychain"; exit 1; fi
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" '${registry.username}' '${registry.password}'
`)
  await chmod(helper, 0o755)
}

const saved = { HOME: process.env['HOME'], DOCKER_CONFIG: process.env['DOCKER_CONFIG'], PATH: process.env['PATH'] }
t.teardown(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) Reflect.deleteProperty(process.env, key)
    else process.env[key] = value
  }
})
process.env['PATH'] = `${bin}:${saved.PATH ?? ''}`

const reference = `${registry.host}/team/app:1.0`
const pinned = `${reference}@${image.digest}`
const basicAuth = { [registry.host]: { auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64') } }

/** A fresh HOME holding `~/.docker/config.json` (when given), DOCKER_CONFIG unset unless `dockerConfigDir`. */
async function developer (name: string, homeConfig: unknown, dockerConfigDir?: { config: unknown }): Promise<void> {
  const home = join(dir, name)
  await mkdir(join(home, '.docker'), { recursive: true })
  if (homeConfig !== undefined) await writeFile(join(home, '.docker', 'config.json'), JSON.stringify(homeConfig))
  process.env['HOME'] = home
  Reflect.deleteProperty(process.env, 'DOCKER_CONFIG')
  if (dockerConfigDir !== undefined) {
    const other = join(dir, `${name}-docker-config`)
    await mkdir(other, { recursive: true })
    await writeFile(join(other, 'config.json'), JSON.stringify(dockerConfigDir.config))
    process.env['DOCKER_CONFIG'] = other
  }
  await writeFile(helperLog, '')
}

async function resolve (...flags: string[]): Promise<{ code: number, out: string, err: string, helperCalls: string[] }> {
  const io = captureIo()
  const code = await main(['resolve', '--config', configFile, '--timeout', '20', ...flags, reference], io)
  const helperCalls = (await readFile(helperLog, 'utf8')).split('\n').filter((line) => line !== '')
  return { code, out: io.out(), err: io.err(), helperCalls }
}

t.test('without any login the registry answers 401: the baseline the other cases must beat', async (t) => {
  await developer('nobody', undefined)
  const result = await resolve()
  t.equal(result.code, 1, 'exit 1')
  t.match(result.err, /401/, `401 on stderr: ${result.err}`)
})

t.test('credHelpers: the helper named for the registry is run with `get` and its answer is used', async (t) => {
  await developer('cred-helpers', { auths: {}, credHelpers: { [registry.host]: 'atw-fixture-helper', 'gcr.io': 'gcloud' } })
  const result = await resolve()
  t.equal(result.code, 0, `exit 0 (${result.err})`)
  t.equal(result.out, `${pinned}\n`)
  t.same(result.helperCalls, [`atw-fixture-helper get ${registry.host}`], 'asked once, with the registry host on stdin')
})

t.test('credsStore: the store answers for registries no credHelpers entry names ({} markers in auths, as docker writes)', async (t) => {
  await developer('creds-store', { auths: { [registry.host]: {} }, credsStore: 'atw-fixture-store' })
  const result = await resolve()
  t.equal(result.code, 0, `exit 0 (${result.err})`)
  t.equal(result.out, `${pinned}\n`)
  t.same(result.helperCalls, [`atw-fixture-store get ${registry.host}`])
  t.notMatch(result.err, /warning/, 'the {} markers are not reported as broken entries')
})

t.test('~/.docker/config.json auths (HOME pointed at a temp dir)', async (t) => {
  await developer('home-auths', { auths: basicAuth })
  const result = await resolve()
  t.equal(result.code, 0, `exit 0 (${result.err})`)
  t.equal(result.out, `${pinned}\n`)
  t.same(result.helperCalls, [], 'no helper involved')
})

t.test('$DOCKER_CONFIG/config.json is read instead of ~/.docker/config.json', async (t) => {
  await developer('docker-config-env', { auths: {} }, { config: { auths: basicAuth } })
  const result = await resolve()
  t.equal(result.code, 0, `exit 0 (${result.err})`)
  t.equal(result.out, `${pinned}\n`)
})

t.test('a credsStore whose helper is not installed is a warning, and auths still answer', async (t) => {
  await developer('missing-store', { auths: basicAuth, credsStore: 'atw-not-installed' })
  const result = await resolve()
  t.equal(result.code, 0, `exit 0 (${result.err})`)
  t.equal(result.out, `${pinned}\n`)
  t.match(result.err, /warning: credential helper docker-credential-atw-not-installed could not be started: ENOENT \(named in .*config\.json\); going on without it/)
})

t.test('--no-docker-config: the same logins are left out and the registry answers 401', async (t) => {
  await developer('opted-out', { auths: basicAuth, credsStore: 'atw-fixture-store' })
  const result = await resolve('--no-docker-config')
  t.equal(result.code, 1, 'exit 1')
  t.equal(result.out, '')
  t.match(result.err, /401/, `401 on stderr: ${result.err}`)
  t.same(result.helperCalls, [], 'no helper was run')
  const usage = captureIo()
  await main(['resolve', '--help'], usage)
  t.match(usage.out(), /--no-docker-config/, 'resolve --help names the flag')
})

t.test('a mirror with a path prefix: Docker Hub references looked up at /v2/dockerhub-proxy/<repo>/manifests/<tag>', async (t) => {
  await developer('mirror', { auths: { 'https://index.docker.io/v1/': basicAuth[registry.host] } })
  const mirrorConfig = join(dir, 'mirror.yaml')
  await writeFile(mirrorConfig, JSON.stringify({ registries: [{ host: 'docker.io', mirror: `${registry.baseUrl}/dockerhub-proxy`, caFile: registry.caFile }] }))
  registry.resetRequests()
  const io = captureIo()
  const code = await main(['resolve', '--config', mirrorConfig, '--timeout', '20', 'nginx:1.27'], io)
  t.equal(code, 0, `exit 0 (${io.err()})`)
  t.equal(io.out(), `nginx:1.27@${image.digest}\n`, 'the reference stays as written; the digest is the one the proxy project serves')
  const requests = await registry.waitForRequests((seen) => seen.some((request) => request.status === 200))
  t.same(requests.map((request) => `${request.method} ${request.path} ${request.status}`),
    ['HEAD /v2/dockerhub-proxy/library/nginx/manifests/1.27 401', 'HEAD /v2/dockerhub-proxy/library/nginx/manifests/1.27 200'],
    'every request carries the prefix; the docker.io login answered the challenge')
})

t.test('a mirror path with token auth (Harbor): the token is asked for the prefixed repository', async (t) => {
  const harbor = await startRegistry({ mode: 'token', t, tokenServer: { requireCredentials: true } })
  await push(harbor, image, 'dockerhub-proxy/library/busybox', '1.36')
  await developer('mirror-token', { auths: { 'https://index.docker.io/v1/': { username: harbor.username, password: harbor.password } } })
  const mirrorConfig = join(dir, 'mirror-token.yaml')
  await writeFile(mirrorConfig, JSON.stringify({
    registries: [{ host: 'docker.io', mirror: `${harbor.baseUrl}/dockerhub-proxy`, caFile: harbor.caFile, allowedRealmHosts: [new URL(harbor.tokenServer.realm).host] }]
  }))
  harbor.resetRequests()
  harbor.tokenServer.resetRequests()
  const io = captureIo()
  t.equal(await main(['resolve', '--config', mirrorConfig, '--timeout', '20', 'busybox:1.36'], io), 0, `exit 0 (${io.err()})`)
  t.equal(io.out(), `busybox:1.36@${image.digest}\n`)
  const tokens = harbor.tokenServer.requests()
  t.same(tokens.map((request) => [request.scopes, request.username, request.status]),
    [[['repository:dockerhub-proxy/library/busybox:pull'], harbor.username, 200]], 'one token, for the prefixed repository, bought with the docker.io login')
  const requests = await harbor.waitForRequests((seen) => seen.some((request) => request.status === 200))
  t.ok(requests.every((request) => request.path === '/v2/dockerhub-proxy/library/busybox/manifests/1.36'), requests.map((request) => request.path).join(', '))
})

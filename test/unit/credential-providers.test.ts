import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { credentialsFromConfig } from '../../src/registry/credentials-from-config.js'
import { StaticCredentials } from '../../src/registry/credentials.js'
import { CredentialHelper } from '../../src/registry/providers/credential-helper.js'
import { GoogleIdentity } from '../../src/registry/providers/google-identity.js'
import { matchesHostPattern } from '../../src/registry/providers/host-pattern.js'

t.test('host patterns', async (t) => {
  const table: Array<[string, string, boolean]> = [
    ['gcr.io', 'gcr.io', true],
    ['*.gcr.io', 'eu.gcr.io', true],
    ['*.gcr.io', 'gcr.io', false],
    ['*.gcr.io', 'a.b.gcr.io', false],
    ['*-docker.pkg.dev', 'europe-docker.pkg.dev', true],
    ['*-docker.pkg.dev', 'us-central1-docker.pkg.dev', true],
    ['*-docker.pkg.dev', 'docker.pkg.dev', false],
    ['*.dkr.ecr.*.amazonaws.com', '123.dkr.ecr.eu-west-1.amazonaws.com', true],
    ['localhost:*', 'localhost:5001', true],
    ['GCR.IO', 'gcr.io', true],
    ['gcr.io', 'gcr.io.evil.example', false]
  ]
  for (const [pattern, host, expected] of table) t.equal(matchesHostPattern(pattern, host), expected, `${pattern} ~ ${host}`)
})

async function metadataServer (t: Test, answer: (request: IncomingMessage) => { status: number, body: string }) {
  const requests: IncomingMessage[] = []
  const server = createServer((request, response) => {
    requests.push(request)
    const { status, body } = answer(request)
    response.writeHead(status, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/computeMetadata/v1/instance/service-accounts/default/token`, requests }
}

t.test('google identity: token from the metadata server, cached until shortly before expiry', async (t) => {
  let issued = 0
  const metadata = await metadataServer(t, (request) => request.headers['metadata-flavor'] === 'Google'
    ? { status: 200, body: JSON.stringify({ access_token: `ya29.token-${++issued}`, expires_in: 3599, token_type: 'Bearer' }) }
    : { status: 403, body: 'missing Metadata-Flavor' })
  let now = 0
  const identity = new GoogleIdentity({ metadataTokenUrl: metadata.url, serviceAccount: 'ns/sa', timeoutMs: 2000, now: () => now })
  t.teardown(async () => { await identity.close() })
  const [first, concurrent] = await Promise.all([identity.credentialFor(), identity.credentialFor()])
  t.same(first, { username: 'oauth2accesstoken', password: 'ya29.token-1', source: 'the google identity of ServiceAccount ns/sa', advice: first.advice })
  t.match(first.advice, /roles\/artifactregistry\.reader/)
  t.equal(concurrent.password, 'ya29.token-1')
  t.equal(metadata.requests.length, 1, 'concurrent callers share one metadata request')
  now = 3000_000
  t.equal((await identity.credentialFor()).password, 'ya29.token-1', 'still cached well before expiry')
  now = 3560_000
  t.equal((await identity.credentialFor()).password, 'ya29.token-2', 'refreshed within the last minute')
})

t.test('google identity failures are clear and typed', async (t) => {
  const refusing = await metadataServer(t, () => ({ status: 404, body: 'no such service account' }))
  const identity = new GoogleIdentity({ metadataTokenUrl: refusing.url, serviceAccount: 'ns/sa', timeoutMs: 2000 })
  t.teardown(async () => { await identity.close() })
  await t.rejects(identity.credentialFor(), { code: 'GOOGLE_IDENTITY_UNAVAILABLE', message: /answered 404; check the iam\.gke\.io\/gcp-service-account annotation of ServiceAccount ns\/sa/ })
  const garbage = await metadataServer(t, () => ({ status: 200, body: '<html>' }))
  const confused = new GoogleIdentity({ metadataTokenUrl: garbage.url, serviceAccount: 'ns/sa', timeoutMs: 2000 })
  t.teardown(async () => { await confused.close() })
  await t.rejects(confused.credentialFor(), /not JSON/)
  const down = new GoogleIdentity({ metadataTokenUrl: 'http://127.0.0.1:9/token', serviceAccount: 'ns/sa', timeoutMs: 2000 })
  t.teardown(async () => { await down.close() })
  await t.rejects(down.credentialFor(), /did not answer .*Workload Identity/)
})

async function helperScript (body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-helper-'))
  const path = join(dir, 'docker-credential-fixture')
  await writeFile(path, `#!/bin/sh\n${body}\n`)
  await chmod(path, 0o755)
  return path
}

t.test('credential helper protocol', async (t) => {
  const log = join(await mkdtemp(join(tmpdir(), 'atw-helper-log-')), 'calls')
  const ok = await helperScript(`[ "$1" = get ] || exit 3\nread server\necho "$server" >> ${log}\nprintf '{"ServerURL":"%s","Username":"AWS","Secret":"s3cr3t-%s"}' "$server" "$server"`)
  // lru-cache treats a start time of 0 as "no start" (never stale), and no real clock reads 0.
  let now = 1_000
  const helper = new CredentialHelper({ name: 'fixture', path: ok, timeoutMs: 5000, cacheMs: 1000, now: () => now })
  t.same(await helper.credentialFor('123.dkr.ecr.eu-west-1.amazonaws.com'),
    { username: 'AWS', password: 's3cr3t-123.dkr.ecr.eu-west-1.amazonaws.com', source: 'credential helper fixture' }, 'server URL on stdin, JSON on stdout')
  await helper.credentialFor('123.dkr.ecr.eu-west-1.amazonaws.com')
  now = 2_001
  await helper.credentialFor('123.dkr.ecr.eu-west-1.amazonaws.com')
  const { readFile } = await import('node:fs/promises')
  t.equal((await readFile(log, 'utf8')).trim().split('\n').length, 2, 'cached for cacheMs, then asked again')

  const notFound = await helperScript('echo "credentials not found in native keychain"\nexit 1')
  t.equal(await new CredentialHelper({ name: 'nf', path: notFound, timeoutMs: 5000, cacheMs: 0 }).credentialFor('r.example'), undefined, 'not found means no credential')

  const failing = await helperScript('echo "token=leaked-secret"\nexit 7')
  const error = await new CredentialHelper({ name: 'bad', path: failing, timeoutMs: 5000, cacheMs: 0 }).credentialFor('r.example').catch((e: Error) => e)
  t.match(error, { code: 'CREDENTIAL_HELPER_FAILED', message: /exit code 7/ })
  t.notMatch((error as Error).message, /leaked-secret/, 'the helper\'s output never reaches the error')

  const hanging = await helperScript('sleep 30')
  await t.rejects(new CredentialHelper({ name: 'slow', path: hanging, timeoutMs: 300, cacheMs: 0 }).credentialFor('r.example'), /did not answer within 300 ms/)
  await t.rejects(new CredentialHelper({ name: 'absent', timeoutMs: 1000, cacheMs: 0 }).credentialFor('r.example'), /docker-credential-absent could not be started: ENOENT/)
  const garbage = await helperScript('echo "not json"')
  await t.rejects(new CredentialHelper({ name: 'g', path: garbage, timeoutMs: 5000, cacheMs: 0 }).credentialFor('r.example'), /not JSON/)
})

t.test('precedence: Secrets, then config.json, then the bound provider, then anonymous', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-precedence-'))
  const configJson = join(dir, 'config.json')
  await writeFile(configJson, JSON.stringify({ auths: { 'both.example': { username: 'file', password: 'f' }, 'file.example': { username: 'file', password: 'f' } } }))
  const helper = await helperScript('printf \'{"Username":"helper","Secret":"h"}\'')
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, `credentials:\n  dockerConfigFiles: [${configJson}]\n  providers:\n    - provider: helper:fixture\n      hosts: ["*.example"]\n  helpers:\n    paths: { fixture: ${helper} }\n`)
  const config = loadConfig({ configFile }, {})
  const secrets = new StaticCredentials(new Map([['both.example', { username: 'secret', password: 's', source: 'secret ns/pull' }]]))
  const chain = credentialsFromConfig(config, () => {}, [secrets])
  t.equal((await chain.credentialFor('both.example'))?.username, 'secret')
  t.equal((await chain.credentialFor('file.example'))?.username, 'file')
  t.equal((await chain.credentialFor('other.example'))?.source, 'credential helper fixture')
  t.equal(await chain.credentialFor('ghcr.io'), undefined, 'hosts outside every binding stay anonymous')
})

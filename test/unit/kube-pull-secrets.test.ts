import t from 'tap'
import { KubeApiError, KubeErrorReason, type SecretObject } from '../../src/kube/api.js'
import { credentialsFromSecret, PullSecretCredentials } from '../../src/kube/pull-secrets.js'
import { ChainedCredentials, StaticCredentials } from '../../src/registry/credentials.js'
import { FakeKubeApi } from './certs-fake-api.js'

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

function pullSecret (name: string, auths: Record<string, unknown>, type = 'kubernetes.io/dockerconfigjson'): SecretObject {
  const key = type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson'
  const body = type === 'kubernetes.io/dockercfg' ? auths : { auths }
  return { metadata: { name, namespace: 'team-a' }, type, data: { [key]: b64(JSON.stringify(body)) } }
}

t.test('credentialsFromSecret reads dockerconfigjson and legacy dockercfg, and names what is wrong otherwise', async (t) => {
  const json = credentialsFromSecret(pullSecret('pull', { 'https://index.docker.io/v1/': { auth: b64('me:pw') } }), 'secret team-a/pull')
  t.match(json.credentials.get('docker.io'), { username: 'me', password: 'pw', source: 'secret team-a/pull' })
  const legacy = credentialsFromSecret(pullSecret('old', { 'ghcr.io': { username: 'u', password: 'p' } }, 'kubernetes.io/dockercfg'), 'secret team-a/old')
  t.match(legacy.credentials.get('ghcr.io'), { username: 'u', password: 'p' })
  t.match(credentialsFromSecret({ metadata: { name: 'x' }, type: 'Opaque', data: {} }, 's').problems, [/type is "Opaque", not kubernetes.io\/dockerconfigjson/])
  t.match(credentialsFromSecret({ metadata: { name: 'x' }, type: 'kubernetes.io/dockerconfigjson', data: {} }, 's').problems, [/has no .dockerconfigjson key/])
  t.match(credentialsFromSecret({ metadata: { name: 'x' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{') } }, 's').problems,
    [/JSON/])
})

t.test('lookups wait for the first read, follow the order of credentials.secrets, and re-parse only changed Secrets', async (t) => {
  const api = new FakeKubeApi()
  await api.createSecret('team-a', pullSecret('first', { 'ghcr.io': { username: 'first', password: '1' } }))
  await api.createSecret('team-a', pullSecret('second', { 'ghcr.io': { username: 'second', password: '2' }, 'quay.io': { username: 'q', password: 'q' } }))
  const problems: string[] = []
  const source = new PullSecretCredentials([{ namespace: 'team-a', name: 'first' }, { namespace: 'team-a', name: 'second' }], api,
    { refreshMs: 60_000, onProblem: (problem) => { problems.push(problem) } })
  const [ghcr, quay, none] = await Promise.all([source.credentialFor('ghcr.io'), source.credentialFor('quay.io'), source.credentialFor('docker.io')])
  t.match(ghcr, { username: 'first', source: 'secret team-a/first' })
  t.match(quay, { username: 'q', source: 'secret team-a/second' })
  t.equal(none, undefined)
  t.equal(api.count('readSecret'), 2, 'concurrent first lookups share one read per Secret')

  await api.writeBehindTheBack('team-a', 'first', (secret) => ({ ...secret, data: pullSecret('first', { 'ghcr.io': { username: 'rotated', password: '3' } }).data }))
  t.match(await source.credentialFor('ghcr.io'), { username: 'first' }, 'no API call on the lookup path')
  await source.refresh()
  t.match(await source.credentialFor('ghcr.io'), { username: 'rotated' }, 'a changed Secret is picked up by the next refresh')
  t.same(problems, [])
})

t.test('a deleted Secret stops providing credentials; an API outage keeps the last good ones; each problem is reported once', async (t) => {
  const api = new FakeKubeApi()
  await api.createSecret('team-a', pullSecret('pull', { 'ghcr.io': { username: 'u', password: 'p' } }))
  const problems: string[] = []
  const source = new PullSecretCredentials([{ namespace: 'team-a', name: 'pull' }, { namespace: 'team-a', name: 'missing' }], api,
    { refreshMs: 60_000, onProblem: (problem) => { problems.push(problem) } })
  await source.refresh()
  await source.refresh()
  t.same(problems, ['secret team-a/missing does not exist; no credentials from it'], 'reported once, not every refresh')

  api.before = (call) => {
    if (call.startsWith('readSecret')) throw new KubeApiError(KubeErrorReason.timeout, 'read Secret team-a/pull: timed out')
  }
  await source.refresh()
  t.match(await source.credentialFor('ghcr.io'), { username: 'u' }, 'an outage does not make pulls anonymous')
  t.ok(problems.includes('cannot read secret team-a/pull: read Secret team-a/pull: timed out'), problems.join('\n'))

  api.before = undefined
  api.secrets.delete('team-a/pull')
  await source.refresh()
  t.equal(await source.credentialFor('ghcr.io'), undefined, 'a deleted Secret is forgotten')
})

t.test('start() reads at once and refreshes on an interval until close(); it chains ahead of other sources', async (t) => {
  const api = new FakeKubeApi()
  await api.createSecret('team-a', pullSecret('pull', { 'ghcr.io': { username: 'secret', password: 'p' } }))
  const source = new PullSecretCredentials([{ namespace: 'team-a', name: 'pull' }], api, { refreshMs: 20 })
  await source.start()
  t.teardown(() => { source.close() })
  await api.writeBehindTheBack('team-a', 'pull', (secret) => ({ ...secret, data: pullSecret('pull', { 'ghcr.io': { username: 'new', password: 'p' } }).data }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const chain = new ChainedCredentials([source, new StaticCredentials(new Map([['ghcr.io', { username: 'file', password: 'x', source: 'config.json' }]]))])
  t.match(await chain.credentialFor('ghcr.io'), { username: 'new' })
  source.close()
  const reads = api.count('readSecret')
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(api.count('readSecret'), reads, 'no reads after close()')
})

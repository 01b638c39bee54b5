import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../../src/config.js'
import { inspectCertificate } from '../../src/certs/inspect.js'
import { startKubeIntegration } from '../../src/kube/integration.js'
import { FakeKubeApi, FakeReadiness } from './certs-fake-api.js'

async function configWith (content: unknown) {
  const dir = await mkdtemp(join(tmpdir(), 'atw-kube-integration-'))
  const file = join(dir, 'config.yaml')
  await writeFile(file, stringify(content))
  return { dir, config: loadConfig({ configFile: file }, {}) }
}

t.test('files mode without pull Secrets needs no cluster at all', async (t) => {
  const { config } = await configWith({})
  const kube = await startKubeIntegration(config)
  t.same(kube.credentialSources, [])
  t.equal(kube.certificates, undefined)
  kube.attachServer(async () => {})
  kube.close()
})

t.test('self-managed with a pull Secret: files exist before the server starts, credentials come from the Secret', async (t) => {
  const { dir, config } = await configWith({
    server: { tlsCert: 'PLACEHOLDER' },
    certificates: { mode: 'self-managed', namespace: 'hooks', serviceName: 'pinner' },
    credentials: { secrets: [{ namespace: 'hooks', name: 'pull' }] }
  })
  const tlsCert = join(dir, 'tls', 'tls.crt')
  const tlsKey = join(dir, 'tls', 'tls.key')
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', config.certificates.mutatingWebhookConfiguration, ['pin.actortemplates.ate.dev'])
  api.addWebhookConfiguration('validating', config.certificates.validatingWebhookConfiguration, ['validate.actortemplates.ate.dev'])
  await api.createSecret('hooks', {
    metadata: { name: 'pull' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { 'ghcr.io': { username: 'u', password: 'p' } } })).toString('base64') }
  })
  const readiness = new FakeReadiness()
  const kube = await startKubeIntegration({ ...config, server: { ...config.server, tlsCert, tlsKey } }, { api, readiness })
  t.teardown(kube.close)
  t.same(inspectCertificate(await readFile(tlsCert, 'utf8')).dnsNames, ['pinner.hooks.svc', 'pinner.hooks.svc.cluster.local'])
  t.ok(readiness.ready)
  t.equal(kube.credentialSources.length, 1)
  t.match(await kube.credentialSources[0]?.credentialFor('ghcr.io'), { username: 'u', source: 'secret hooks/pull' })
  let reloads = 0
  kube.attachServer(async () => { reloads++ })
  t.ok(kube.certificates !== undefined)
  await kube.certificates?.check()
  t.equal(reloads, 0, 'nothing new to serve, so no reload')
})

/**
 * issue 16 §2: the default install has no ValidatingWebhookConfiguration (the ValidatingAdmissionPolicy validates),
 * and its Deployment says so with ATW_VALIDATING_WEBHOOK_CONFIGURATION="". The self-managed certificates must then
 * publish caBundle to the mutating configuration alone, never ask for the validating one (RBAC grants nothing on it),
 * and become Ready. A name, as overlays/validating-webhook sets, still means "publish there and wait for it".
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../../src/config.js'
import { startKubeIntegration } from '../../src/kube/integration.js'
import { webhookConfigurationRefs } from '../../src/kube/from-config.js'
import { FakeKubeApi, FakeReadiness } from './certs-fake-api.js'

const MUTATING = 'pin.actortemplates.ate.dev'
const VALIDATING = 'validate.actortemplates.ate.dev'

async function selfManaged (env: NodeJS.ProcessEnv) {
  const dir = await mkdtemp(join(tmpdir(), 'atw-no-validating-'))
  const file = join(dir, 'config.yaml')
  await writeFile(file, stringify({ certificates: { mode: 'self-managed', namespace: 'hooks' } }))
  const config = loadConfig({ configFile: file }, env)
  return { ...config, server: { ...config.server, tlsCert: join(dir, 'tls', 'tls.crt'), tlsKey: join(dir, 'tls', 'tls.key') } }
}

t.test('an empty validating name is accepted and leaves only the mutating configuration to publish to', async (t) => {
  const config = await selfManaged({ ATW_VALIDATING_WEBHOOK_CONFIGURATION: '' })
  t.equal(config.certificates.validatingWebhookConfiguration, '')
  t.same(webhookConfigurationRefs(config), [{ kind: 'mutating', name: MUTATING }])
  const named = await selfManaged({ ATW_VALIDATING_WEBHOOK_CONFIGURATION: VALIDATING })
  t.same(webhookConfigurationRefs(named), [{ kind: 'mutating', name: MUTATING }, { kind: 'validating', name: VALIDATING }])
  t.throws(() => loadConfig({}, { ATW_MUTATING_WEBHOOK_CONFIGURATION: '' }), /mutatingWebhookConfiguration/, 'the mutating one stays required')
})

t.test('without a validating configuration: Ready, caBundle in the mutating one, no call about a validating one', async (t) => {
  const config = await selfManaged({ ATW_VALIDATING_WEBHOOK_CONFIGURATION: '' })
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', MUTATING, [MUTATING])
  const readiness = new FakeReadiness()
  const kube = await startKubeIntegration(config, { api, readiness })
  t.teardown(kube.close)
  t.ok(readiness.ready, `ready (blockers: ${JSON.stringify([...readiness.blockers])})`)
  t.match(api.caBundle('mutating', MUTATING)[0], /-----BEGIN CERTIFICATE-----/)
  t.equal(api.calls.filter((call) => call.includes('validating')).length, 0, 'never reads or patches a validating configuration')
  await kube.certificates?.check()
  t.equal(api.calls.filter((call) => call.includes('validating')).length, 0, 'nor on a later check')
})

t.test('with the name set (overlays/validating-webhook) a missing configuration still blocks readiness', async (t) => {
  const config = await selfManaged({ ATW_VALIDATING_WEBHOOK_CONFIGURATION: VALIDATING })
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', MUTATING, [MUTATING])
  const readiness = new FakeReadiness()
  const kube = await startKubeIntegration(config, { api, readiness })
  t.teardown(kube.close)
  t.notOk(readiness.ready)
  t.match(readiness.blockers.get('ca-bundle'), `validating webhook configuration ${VALIDATING} does not exist`)
})

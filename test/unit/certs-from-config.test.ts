import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { rotationPolicy, servingNames, webhookNamespace } from '../../src/kube/from-config.js'

t.test('the namespace comes from the config, else from the pod\'s service-account mount', async (t) => {
  const config = loadConfig({}, {})
  const file = join(await mkdtemp(join(tmpdir(), 'atw-ns-')), 'namespace')
  await writeFile(file, 'hooks\n')
  t.equal(await webhookNamespace(config, file), 'hooks')
  t.equal(await webhookNamespace({ certificates: { ...config.certificates, namespace: 'set' } }, file), 'set')
  const error = await webhookNamespace(config, join(file, 'missing')).catch((caught: unknown) => caught)
  t.ok(error instanceof ConfigError)
  t.match((error as Error).message, /certificates\.namespace is not set and the pod namespace cannot be read/)
})

t.test('serving names are the two forms of the Service name; the policy is the certificates section', async (t) => {
  t.same(servingNames('svc', 'ns'), { dnsNames: ['svc.ns.svc', 'svc.ns.svc.cluster.local'], ipAddresses: [] })
  t.same(rotationPolicy(loadConfig({}, {})), { caValidityDays: 1825, caRenewBeforeDays: 365, leafValidityDays: 90, leafRenewBeforeDays: 30, caBundleSettleSeconds: 60 })
})

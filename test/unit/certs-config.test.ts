import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'

async function configFile (content: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'atw-certs-config-')), 'config.yaml')
  await writeFile(file, stringify(content))
  return file
}

t.test('certificates and kube sections: defaults need no cluster', async (t) => {
  const config = loadConfig({}, {})
  t.equal(config.certificates.mode, 'files', 'plain `serve` reads server.tlsCert/tlsKey; the manifests choose self-managed')
  t.equal(config.certificates.namespace, undefined, 'the pod namespace is read at run time')
  t.match(config.certificates, {
    serviceName: 'actortemplate-webhook',
    secretName: 'actortemplate-webhook-certs',
    mutatingWebhookConfiguration: 'pin.actortemplates.ate.dev',
    validatingWebhookConfiguration: 'validate.actortemplates.ate.dev',
    caValidityDays: 1825,
    caRenewBeforeDays: 365,
    leafValidityDays: 90,
    leafRenewBeforeDays: 30
  })
  t.match(config.kube, { requestTimeoutSeconds: 10, pullSecretRefreshSeconds: 30 })
})

t.test('renewal windows must fit inside validity, and a leaf must renew before its CA', async (t) => {
  const file = await configFile({ certificates: { caValidityDays: 10, caRenewBeforeDays: 10, leafValidityDays: 5, leafRenewBeforeDays: 12 } })
  const error = t.throws(() => loadConfig({ configFile: file }, {})) as unknown
  t.ok(error instanceof ConfigError)
  t.same((error as ConfigError).problems, [
    'certificates: caRenewBeforeDays must be less than caValidityDays',
    'certificates: leafRenewBeforeDays must be less than leafValidityDays',
    'certificates: leafRenewBeforeDays must be less than caRenewBeforeDays'
  ])
})

t.test('unknown keys and bad modes are listed', async (t) => {
  const file = await configFile({ certificates: { mode: 'magic', secret: 'x' }, kube: { requestTimeoutSeconds: 0 } })
  const error = t.throws(() => loadConfig({ configFile: file }, {})) as ConfigError
  t.match(error.problems.join('\n'), /certificates: unknown key "secret"/)
  t.match(error.problems.join('\n'), /certificates\.mode: must be one of files, self-managed/)
  t.match(error.problems.join('\n'), /kube\.requestTimeoutSeconds/)
})

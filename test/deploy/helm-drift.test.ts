/**
 * issue 14 §2 after issue 16: the kustomize install and the chart must not drift. Each kustomize target is rendered
 * with an image set as an admin would, the chart with the same image and the values that select the same install, and
 * every object must match after DOCUMENTED_DIFFERENCES (the chart README's table) are taken out:
 *
 *   manifests/base                        the chart's defaults
 *   manifests/overlays/validating-webhook validation.webhook.enabled=true
 *   manifests/overlays/cert-manager       certificates.mode=cert-manager
 *
 * The policy and the matchConditions have one source: the chart reads copies of manifests/base's text from files/,
 * and the copies must equal it.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { CHART, renderChart, TEST_IMAGE } from '../support/helm.js'
import { comparableSet, DOCUMENTED_DIFFERENCES, key, renderKustomizeWithImage } from './helm-drift.js'
import { MANIFESTS } from './kustomize.js'

t.setTimeout(10 * 60 * 1000)

const CASES = [
  { target: 'base', values: {} },
  { target: 'overlays/validating-webhook', values: { validation: { webhook: { enabled: true } } } },
  { target: 'overlays/cert-manager', values: { certificates: { mode: 'cert-manager' } } }
] as const

t.comment(`documented differences:\n${DOCUMENTED_DIFFERENCES.map((d) => `  - ${d.what}: ${d.why}`).join('\n')}`)

for (const { target, values } of CASES) {
  t.test(`${target} and the chart with ${JSON.stringify(values)} render the same objects`, async (t) => {
    const expected = comparableSet(await renderKustomizeWithImage(target, TEST_IMAGE))
    const actual = comparableSet(await renderChart({ image: TEST_IMAGE, ...values }))
    t.strictSame([...actual.keys()].sort(), [...expected.keys()].sort(), 'the same kinds and names')
    for (const [name, object] of expected) {
      t.strictSame(actual.get(name), object, name)
    }
    t.ok(expected.size >= 12, `${expected.size} objects compared: ${[...expected.values()].map(key).join(', ')}`)
  })
}

t.test('a changed field is caught (the comparison is not vacuous)', async (t) => {
  const expected = comparableSet(await renderKustomizeWithImage('base', TEST_IMAGE))
  const cases: Array<[string, object, string[]]> = [
    ['timeoutSeconds and a registry port', { webhook: { timeoutSeconds: 11 }, networkPolicy: { egress: { registryPorts: [443, 5000] } } },
      ['MutatingWebhookConfiguration/pin.actortemplates.ate.dev', 'NetworkPolicy/actortemplate-webhook']],
    ['another annotation key in the matchConditions', { config: { admission: { annotationKey: 'example.com/pins' } } },
      ['ConfigMap/actortemplate-webhook-config', 'MutatingWebhookConfiguration/pin.actortemplates.ate.dev']],
    ['the validating webhook named to the pod', { validation: { webhook: { enabled: true } } },
      ['ClusterRole/actortemplate-webhook', 'Deployment/actortemplate-webhook']]
  ]
  for (const [what, values, differ] of cases) {
    const actual = comparableSet(await renderChart({ image: TEST_IMAGE, ...values }))
    const differing = [...expected.keys()].filter((name) => !isDeepStrictEqual(actual.get(name), expected.get(name)))
    t.strictSame(differing.sort(), differ, `${what}: exactly these objects differ`)
  }
})

t.test('one source: the chart\'s policy file is manifests/base/validating-admission-policy.yaml, byte for byte', async (t) => {
  const base = await readFile(join(MANIFESTS, 'base', 'validating-admission-policy.yaml'), 'utf8')
  const chart = await readFile(join(CHART, 'files', 'validating-admission-policy.yaml'), 'utf8')
  t.equal(chart, base, 'identical (after a change to manifests/base, copy the file to charts/actortemplate-webhook/files/)')
  t.match(base, /kind: ValidatingAdmissionPolicyBinding/, 'the file holds the binding too')
})

t.test('one source: the chart\'s matchConditions file is the list in manifests/base/webhooks.yaml', async (t) => {
  const webhooks = parse(await readFile(join(MANIFESTS, 'base', 'webhooks.yaml'), 'utf8')) as { webhooks: Array<{ matchConditions?: unknown[] }> }
  const base = webhooks.webhooks[0]?.matchConditions
  t.ok(Array.isArray(base) && base.length > 0, 'base has matchConditions')
  t.strictSame(parse(await readFile(join(CHART, 'files', 'match-conditions.yaml'), 'utf8')), base,
    'files/match-conditions.yaml parses to the same names and the same expression text')
})

/**
 * issue 18: the chart's drift report. Off by default (no RBAC, no alert, no drift key in the config); drift.enabled
 * renders config.drift.intervalMinutes, a list-only ClusterRole bound to the release's ServiceAccount, and with
 * metrics.prometheusRule.enabled the two alerts, which pass `promtool check rules` and the firing / not-firing cases of
 * test/fixtures/monitoring/drift-rules.test.yaml as rendered. promtool comes from scripts/build-promtool.sh.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { promtool } from '../support/promtool.js'
import { helm, CHART, renderChart, TEST_IMAGE, type RenderedObject } from '../support/helm.js'

const UNIT_TESTS = fileURLToPath(new URL('../fixtures/monitoring/drift-rules.test.yaml', import.meta.url))
const RELEASE = { name: 'atw', namespace: 'atw' }
const ALERTS = ['ActorTemplateImageOutdated', 'ActorTemplateDriftScanStale']

interface Rule { alert: string, expr: string, for: string }
interface RuleFile { groups: Array<{ name: string, rules: Rule[] }> }


const configOf = (objects: readonly RenderedObject[]): Record<string, unknown> => {
  const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name.endsWith('-config'))
  return parse(String((configMap?.['data'] as Record<string, string> | undefined)?.['config.yaml'])) as Record<string, unknown>
}
const driftObjects = (objects: readonly RenderedObject[]): RenderedObject[] => objects.filter((object) => object.metadata.name.endsWith('-drift'))

t.test('off by default: no drift key in the config, no ClusterRole, no alert', async (t) => {
  const objects = await renderChart({ image: TEST_IMAGE, metrics: { prometheusRule: { enabled: true } } })
  t.same(driftObjects(objects), [])
  t.notOk('drift' in configOf(objects))
})

t.test('drift.enabled: config.drift.intervalMinutes, a list-only ClusterRole bound to the release\'s ServiceAccount', async (t) => {
  const objects = await renderChart({ image: TEST_IMAGE, drift: { enabled: true, intervalMinutes: 15 }, config: { drift: { lookupTimeoutSeconds: 30 } } },
    { name: 'acme', namespace: 'platform' })
  t.same(configOf(objects)['drift'], { intervalMinutes: 15, lookupTimeoutSeconds: 30 }, 'the chart value wins, the rest of config.drift is kept')
  const [role, binding, ...rest] = driftObjects(objects)
  t.same(rest, [], 'no PrometheusRule without metrics.prometheusRule.enabled')
  t.match(role, { kind: 'ClusterRole', metadata: { name: 'acme-actortemplate-webhook-drift' } })
  t.same(role?.['rules'], [{ apiGroups: ['ate.dev'], resources: ['actortemplates'], verbs: ['list'] }])
  t.match(binding, {
    kind: 'ClusterRoleBinding',
    roleRef: { kind: 'ClusterRole', name: 'acme-actortemplate-webhook-drift' },
    subjects: [{ kind: 'ServiceAccount', name: 'acme-actortemplate-webhook', namespace: 'platform' }]
  })
  const serviceAccount = objects.find((object) => object.kind === 'ServiceAccount')
  t.equal(serviceAccount?.metadata.name, 'acme-actortemplate-webhook', 'the subject is the ServiceAccount the pods run as')
})

t.test('config.drift.intervalMinutes without drift.enabled is refused: it would scan without RBAC', async (t) => {
  const result = await helm(['template', 'atw', CHART], { values: { image: TEST_IMAGE, config: { drift: { intervalMinutes: 5 } } } })
  t.not(result.code, 0)
  t.match(result.stderr, 'config.drift.intervalMinutes is set but drift.enabled is false')
  const invalid = await helm(['template', 'atw', CHART], { values: { image: TEST_IMAGE, drift: { enabled: true, intervalMinutes: 0, alertAfter: 'a day' } } })
  t.not(invalid.code, 0, 'the values schema refuses interval 0 and an alertAfter that is no duration')
  t.match(invalid.stderr, '/drift/intervalMinutes')
  t.match(invalid.stderr, '/drift/alertAfter')
})

async function renderedRules (): Promise<RuleFile> {
  const objects = await renderChart({ image: TEST_IMAGE, drift: { enabled: true, intervalMinutes: 10, alertAfter: '2h' }, metrics: { prometheusRule: { enabled: true } } }, RELEASE)
  const rule = objects.find((object) => object.kind === 'PrometheusRule' && object.metadata.name === 'atw-actortemplate-webhook-drift')
  if (rule === undefined) throw new Error('no drift PrometheusRule rendered')
  return rule['spec'] as RuleFile
}
const rules = await renderedRules()

/** promtool test rules on `ruleFile`: written beside a copy of the unit tests, which name it drift-rules.yaml. */
async function unitTestsAgainst (ruleFile: RuleFile): Promise<{ code: number, output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-drift-promtool-'))
  try {
    await writeFile(join(dir, 'drift-rules.yaml'), stringify(ruleFile))
    await copyFile(UNIT_TESTS, join(dir, 'tests.yaml'))
    return await promtool(['test', 'rules', join(dir, 'tests.yaml')])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function withExpr (alert: string, expr: string): RuleFile {
  return { groups: rules.groups.map((group) => ({ ...group, rules: group.rules.map((rule) => rule.alert === alert ? { ...rule, expr } : rule) })) }
}

t.test('the rendered rules pass promtool check rules, with alertAfter as the outdated alert\'s for:', async (t) => {
  t.same(rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert)), ALERTS)
  t.equal(rules.groups[0]?.rules[0]?.for, '2h')
  t.match(rules.groups[0]?.rules[1]?.expr, /> 1800\n?$/, '3 x drift.intervalMinutes, in seconds')
  const dir = await mkdtemp(join(tmpdir(), 'atw-drift-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'rules.yaml'), stringify(rules))
  const checked = await promtool(['check', 'rules', join(dir, 'rules.yaml')])
  t.equal(checked.code, 0, checked.output)
  t.match(checked.output, 'SUCCESS: 2 rules found')
})

t.test('promtool test rules: each alert fires on its series and stays quiet on the others', async (t) => {
  const tested = await unitTestsAgainst(rules)
  t.equal(tested.code, 0, tested.output)
  t.match(tested.output, /SUCCESS/)
  const unitTests = parse(await readFile(UNIT_TESTS, 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string, exp_alerts: unknown[] }> }> }
  const cases = unitTests.tests.flatMap((test) => test.alert_rule_test)
  for (const alert of ALERTS) {
    t.ok(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} has a firing case`)
    t.ok(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} has a not-firing case`)
  }
})

t.test('the unit tests fail when an alert never fires or always fires', async (t) => {
  for (const alert of ALERTS) {
    const silent = await unitTestsAgainst(withExpr(alert, 'vector(1) < 0'))
    t.not(silent.code, 0, `${alert} made silent: the unit tests fail`)
    t.match(silent.output, `alertname: ${alert}`)
    const noisy = await unitTestsAgainst(withExpr(alert, 'vector(1)'))
    t.not(noisy.code, 0, `${alert} made to always fire: the unit tests fail`)
    t.match(noisy.output, `alertname: ${alert}`)
  }
})

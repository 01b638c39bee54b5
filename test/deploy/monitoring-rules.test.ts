/**
 * Issue 14 §3: the alerts (charts/actortemplate-webhook/files/prometheus-rules.yaml) pass `promtool check rules`, and
 * `promtool test rules` runs test/fixtures/monitoring/prometheus-rules.test.yaml, where each alert has input series
 * that make it fire and series that must not. Mutations prove those unit tests bite: an alert made to never fire, or
 * to always fire, must fail them. promtool comes from scripts/build-promtool.sh.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { promtool, type PromtoolRun } from '../support/promtool.js'

const RULES = fileURLToPath(new URL('../../charts/actortemplate-webhook/files/prometheus-rules.yaml', import.meta.url))
const UNIT_TESTS = fileURLToPath(new URL('../fixtures/monitoring/prometheus-rules.test.yaml', import.meta.url))

interface Rule { alert: string, expr: string }
interface RuleFile { groups: Array<{ name: string, rules: Rule[] }> }
interface UnitTests { rule_files: string[], tests: Array<{ name: string, alert_rule_test?: Array<{ alertname: string, exp_alerts?: unknown[] }> }> }

const rules = parse(await readFile(RULES, 'utf8')) as RuleFile
const alerts = rules.groups.flatMap((group) => group.rules)
const unitTests = parse(await readFile(UNIT_TESTS, 'utf8')) as UnitTests


/** The unit tests run against `mutated` rules: both files in a temp dir, the tests pointing at the copy. */
async function runUnitTestsAgainst (mutated: RuleFile): Promise<PromtoolRun> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-promtool-'))
  await mkdir(join(dir, 'rules'))
  await writeFile(join(dir, 'rules', 'mutated.yaml'), stringify(mutated))
  await writeFile(join(dir, 'tests.yaml'), stringify({ ...unitTests, rule_files: ['rules/mutated.yaml'] }))
  return await promtool(['test', 'rules', join(dir, 'tests.yaml')])
}

function withExpr (alert: string, expr: string): RuleFile {
  return { groups: rules.groups.map((group) => ({ ...group, rules: group.rules.map((rule) => rule.alert === alert ? { ...rule, expr } : rule) })) }
}

t.test('promtool check rules accepts every alert', async (t) => {
  const checked = await promtool(['check', 'rules', RULES])
  t.equal(checked.code, 0, checked.output)
  t.match(checked.output, new RegExp(`SUCCESS: ${alerts.length} rules found`))
  t.same(alerts.map((rule) => rule.alert).sort(), [
    'ActorTemplateWebhookCertificateExpiresSoon', 'ActorTemplateWebhookCertificateExpiresVerySoon', 'ActorTemplateWebhookLatencyNearTimeout',
    'ActorTemplateWebhookMetricsAbsent', 'ActorTemplateWebhookNoReadyReplica', 'ActorTemplateWebhookRegistryDenials'
  ], 'the alerts issue 14 asks for: registry denials, latency near the timeout, certificate expiry, no ready replica')
})

t.test('promtool test rules: each alert fires on its input series and stays quiet on the others', async (t) => {
  const cases = unitTests.tests.flatMap((test) => test.alert_rule_test ?? [])
  for (const { alert } of alerts) {
    t.ok(cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length > 0), `${alert} has a firing case`)
    t.ok(cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length === 0), `${alert} has a not-firing case`)
  }
  // The unit tests name the rule file by a path relative to themselves: run them where they are.
  const tested = await promtool(['test', 'rules', UNIT_TESTS])
  t.equal(tested.code, 0, tested.output)
  t.match(tested.output, /SUCCESS/)
  t.notMatch(tested.output, /FAILED/)
})

t.test('the unit tests fail when an alert never fires or always fires', async (t) => {
  const unchanged = await runUnitTestsAgainst(rules)
  t.equal(unchanged.code, 0, `the harness itself passes on the real rules: ${unchanged.output}`)
  for (const { alert } of alerts) {
    const silent = await runUnitTestsAgainst(withExpr(alert, 'vector(1) < 0'))
    t.not(silent.code, 0, `${alert} made silent: the unit tests fail`)
    t.match(silent.output, new RegExp(`alertname: ${alert}`), `${alert} made silent: promtool names it`)
    const noisy = await runUnitTestsAgainst(withExpr(alert, 'vector(1)'))
    t.not(noisy.code, 0, `${alert} made to always fire: the unit tests fail`)
    t.match(noisy.output, new RegExp(`alertname: ${alert}`), `${alert} made to always fire: promtool names it`)
  }
})

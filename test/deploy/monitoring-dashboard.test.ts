/**
 * Issue 14 §3: the Grafana dashboard (charts/actortemplate-webhook/files/grafana-dashboard.json) queries only metrics
 * that the webhook really exports. The names come from a real webhook process's /metrics after admissions that pinned,
 * reused and failed lookups at a real registry, never from a list in this file. Every query is also valid PromQL
 * (promtool check rules on the queries as recording rules), and the panels the issue asks for are there.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { request } from 'undici'
import { parse, stringify } from 'yaml'
import { postJson, webhookAgent } from '../support/battery-load.js'
import { templateReview } from '../support/battery-reviews.js'
import { reviewOf } from '../support/battery-webhook.js'
import { scriptOutput } from '../support/build-script.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { startWebhook } from '../support/webhook-process.js'
import { exportedNames, metricNamesIn, metricOfLabelValues } from './monitoring-names.js'

const DASHBOARD = new URL('../../charts/actortemplate-webhook/files/grafana-dashboard.json', import.meta.url)
const RULES = new URL('../../charts/actortemplate-webhook/files/prometheus-rules.yaml', import.meta.url)

interface Target { expr: string, refId: string }
interface Panel { title: string, targets?: Target[] }
interface Dashboard {
  panels: Panel[]
  templating: { list: Array<{ name: string, type: string, query?: string | { query: string } }> }
}

const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard
const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })))
const variableQueries = dashboard.templating.list.filter((variable) => variable.type === 'query')
  .map((variable) => typeof variable.query === 'string' ? variable.query : variable.query?.query ?? '')

async function runWithInput (command: string, args: string[], input: string): Promise<{ code: number | null, output: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stdin.end(input)
  const [code] = await once(child, 'close') as [number | null]
  return { code, output: output.trim() }
}

t.test('metricNamesIn finds the selected metrics and nothing else', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['sum by (decision) (rate(atw_admissions_total{namespace=~"$namespace"}[$__rate_interval]))', ['atw_admissions_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="by (y)"}[5m]))) > 1e3', ['a_bucket']],
    ['min by (pod) (expiry_seconds) - time()', ['expiry_seconds']],
    ['a / on (pod) group_left (node) b offset 5m unless c', ['a', 'b', 'c']],
    ['absent(up{job="x"} == 1)', ['up']]
  ]
  for (const [expr, names] of cases) t.same(metricNamesIn(expr), names, expr)
  t.equal(metricOfLabelValues('label_values(atw_admissions_total, namespace)'), 'atw_admissions_total')
})

t.test('every dashboard query names only metrics a running webhook exports', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  await push(registry, buildOciIndex(), 'acme/agent', 'v1')
  const tls = await writeTlsFiles(join(await mkdtemp(join(tmpdir(), 'atw-dashboard-')), 'tls'))
  const webhook = await startWebhook({
    tls,
    config: { registries: [{ host: registry.host, insecure: true }], server: { shutdownDelaySeconds: 0 } },
    t
  })
  const agent = webhookAgent(tls.caPem, 4)
  t.teardown(async () => { await agent.close() })
  const admit = async (uid: string, images: string[], path = '/mutate'): Promise<boolean | undefined> =>
    reviewOf(await postJson(agent, `${webhook.url}${path}?timeout=10s`, templateReview(uid, images)))?.response.allowed

  t.equal(await admit('pin', [`${registry.host}/acme/agent:v1`]), true, 'a tag is pinned through the registry')
  t.equal(await admit('again', [`${registry.host}/acme/agent:v1`]), true, 'and again, from the resolver cache')
  t.equal(await admit('missing', [`${registry.host}/acme/agent:missing`]), false, 'a missing tag is denied')
  t.equal(await admit('validate', [`${registry.host}/acme/agent:v1`], '/validate'), false, 'an unpinned template fails validation')

  const metricsUrl = String((await webhook.waitForLog((line) => line.msg === 'serving metrics'))['url'])
  const scraped = await request(metricsUrl)
  t.equal(scraped.statusCode, 200, `scraped ${metricsUrl}`)
  const text = await scraped.body.text()
  t.match(text, /^atw_admissions_total\{webhook="mutate",decision="patched",reason="pinned"\} 2$/m, 'the admissions were counted')
  t.match(text, /^atw_resolutions_total\{registry="[^"]+",outcome="pinned"\} 1$/m, 'a lookup went to the registry')
  // Prometheus' own linter (names, units, _total on counters only, HELP present) on our atw_* families; prom-client's
  // default nodejs_* metrics are not ours to rename (it flags gauges such as nodejs_active_handles_total).
  const ours = text.split('\n').filter((line) => /^(# (HELP|TYPE) )?atw_/.test(line)).join('\n') + '\n'
  t.match(ours, /^# TYPE atw_serving_certificate_expiry_timestamp_seconds gauge$/m, 'the linted text holds our families')
  const linted = await runWithInput(await scriptOutput('build-promtool.sh'), ['check', 'metrics'], ours)
  t.equal(linted.code, 0, `promtool check metrics on the atw_* families: ${linted.output === '' ? 'no problem' : linted.output}`)
  const exported = exportedNames(text)
  t.comment(`the webhook exports ${exported.size} names, ${[...exported].filter((name) => name.startsWith('atw_')).length} of them atw_*`)

  t.ok(queries.length >= 10, `${queries.length} panel queries`)
  for (const { panel, expr } of queries) {
    const names = metricNamesIn(expr)
    t.ok(names.length > 0, `${panel}: the query reads a metric`)
    for (const name of names) t.ok(exported.has(name), `${panel}: ${name} is exported`)
  }
  for (const query of variableQueries) {
    const name = metricOfLabelValues(query)
    t.ok(name !== undefined && exported.has(name), `variable query ${query} reads an exported metric`)
  }

  // The alerts too: their atw_* names are the webhook's; the others are Prometheus' up and kube-state-metrics'.
  const rules = parse(await readFile(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string, expr: string }> }> }
  for (const rule of rules.groups.flatMap((group) => group.rules)) {
    for (const name of metricNamesIn(rule.expr)) {
      if (name.startsWith('atw_')) t.ok(exported.has(name), `alert ${rule.alert}: ${name} is exported`)
      else t.ok(name === 'up' || name.startsWith('kube_'), `alert ${rule.alert}: ${name} comes from Prometheus or kube-state-metrics`)
    }
  }
})

t.test('every dashboard query is valid PromQL (promtool check rules)', async (t) => {
  const promtool = await scriptOutput('build-promtool.sh')
  // Grafana fills in its variables before Prometheus sees a query; these are values it could fill in.
  const asPromql = (expr: string): string => expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*')
  const rules = { groups: [{ name: 'dashboard', rules: queries.map((query, index) => ({ record: `dashboard:query_${index}`, expr: asPromql(query.expr) })) }] }
  const file = join(await mkdtemp(join(tmpdir(), 'atw-dashboard-promql-')), 'queries.yaml')
  await writeFile(file, stringify(rules))
  const { stdout } = await promisify(execFile)(promtool, ['check', 'rules', file])
  t.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`))
})

t.test('the dashboard has the panels issue 14 asks for', async (t) => {
  const wanted: Array<[string, RegExp]> = [
    ['admissions by decision', /by \(decision\) \(rate\(atw_admissions_total/],
    ['pin latency by registry', /histogram_quantile\(.*by \([^)]*registry[^)]*\) \(rate\(atw_registry_lookup_duration_seconds_bucket\{[^}]*status="pinned"/],
    ['registry requests by status', /by \(registry, status\) \(rate\(atw_registry_request_duration_seconds_count/],
    ['cache and single-flight hits', /by \(source\) \(rate\(atw_cache_hits_total/],
    ['certificate expiry', /atw_serving_certificate_expiry_timestamp_seconds.*- time\(\)/]
  ]
  for (const [topic, pattern] of wanted) {
    const found = queries.find((query) => pattern.test(query.expr))
    t.ok(found, `${topic}: ${found?.panel ?? 'no panel'}`)
  }
})

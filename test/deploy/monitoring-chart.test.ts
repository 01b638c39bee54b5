/**
 * Issue 14 §3 in the Helm chart: metrics.serviceMonitor / prometheusRule / dashboard render the same objects as
 * manifests/components/monitoring, from the same files (files/prometheus-rules.yaml, files/grafana-dashboard.json).
 * The ServiceMonitor selects the chart's Service by its labels and port; the rules pass promtool as rendered.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { scriptOutput } from '../support/build-script.js'
import { renderChart, TEST_IMAGE, type RenderedObject } from '../support/helm.js'

const FILES = new URL('../../charts/actortemplate-webhook/files/', import.meta.url)
const RELEASE = { name: 'team', namespace: 'platform' }
const MONITORING_KINDS = ['ServiceMonitor', 'PrometheusRule']

interface ServiceMonitor extends RenderedObject {
  spec: { jobLabel: string, selector: { matchLabels: Record<string, string> }, endpoints: Array<{ port: string, interval: string }> }
}
interface Service extends RenderedObject { spec: { ports: Array<{ name: string }> } }

const one = <T extends RenderedObject>(objects: RenderedObject[], kind: string): T => {
  const found = objects.filter((object) => object.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return found[0] as T
}

t.test('by default the chart renders no monitoring object', async (t) => {
  const objects = await renderChart({ image: TEST_IMAGE }, RELEASE)
  t.same(objects.filter((object) => MONITORING_KINDS.includes(object.kind) || object.metadata.labels?.['grafana_dashboard'] !== undefined), [])
})

t.test('metrics.* enabled: ServiceMonitor, PrometheusRule and dashboard from the shared files', async (t) => {
  const objects = await renderChart({
    image: TEST_IMAGE,
    metrics: {
      serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'kube-prometheus-stack' } },
      prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
      dashboard: { enabled: true }
    }
  }, RELEASE)
  const monitor = one<ServiceMonitor>(objects, 'ServiceMonitor')
  const service = one<Service>(objects, 'Service')
  t.equal(monitor.metadata.namespace, RELEASE.namespace)
  t.equal(monitor.metadata.labels?.['release'], 'kube-prometheus-stack', 'metrics.serviceMonitor.labels')
  for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) t.equal(service.metadata.labels?.[key], value, `the Service carries ${key}=${value}`)
  t.equal(service.metadata.labels?.[monitor.spec.jobLabel], 'actortemplate-webhook', 'job = actortemplate-webhook, as the alerts expect')
  t.match(monitor.spec.endpoints, [{ port: 'metrics', interval: '15s' }])
  t.ok(service.spec.ports.some((port) => port.name === 'metrics'), 'the Service has the port the ServiceMonitor scrapes')

  const rule = one<RenderedObject & { spec: unknown }>(objects, 'PrometheusRule')
  t.equal(rule.metadata.labels?.['release'], 'kube-prometheus-stack', 'metrics.prometheusRule.labels')
  const deployment = one(objects, 'Deployment').metadata.name
  const canonical = (await readFile(new URL('prometheus-rules.yaml', FILES), 'utf8'))
    .replace('deployment=~".*actortemplate-webhook.*"', `namespace="${RELEASE.namespace}", deployment="${deployment}"`)
  t.same(rule.spec, parse(canonical), 'the rules file, with the Deployment matcher narrowed to this release')
  const file = join(await mkdtemp(join(tmpdir(), 'atw-chart-rules-')), 'rules.yaml')
  await writeFile(file, stringify(rule.spec))
  const { stdout } = await promisify(execFile)(await scriptOutput('build-promtool.sh'), ['check', 'rules', file])
  t.match(stdout, /SUCCESS: 6 rules found/, 'promtool accepts the rendered rules')

  const dashboard = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.labels?.['grafana_dashboard'] === '1') as RenderedObject & { data: Record<string, string> } | undefined
  t.ok(dashboard, 'the dashboard ConfigMap with the Grafana sidecar label')
  t.same(JSON.parse(dashboard?.data['actortemplate-webhook.json'] ?? 'null'), JSON.parse(await readFile(new URL('grafana-dashboard.json', FILES), 'utf8')))
})

/**
 * Issue 14 §3: manifests/components/monitoring, added by an admin's overlay (in a temp dir, outside the repository)
 * over manifests/ and its overlays, renders with kubectl's kustomize; its ServiceMonitor selects the webhook's Service
 * by the Service's own labels and scrapes the port that reaches the pod's metrics listener; its copies of the rules
 * and the dashboard are the chart's files, byte for byte.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { buildClusterBinaries } from '../support/cluster.js'
import { build, MANIFESTS, only, type K8sObject } from './kustomize.js'
import { podConfig } from './pod-config.js'

const COMPONENT = join(MANIFESTS, 'components', 'monitoring')
const FILES = new URL('../../charts/actortemplate-webhook/files/', import.meta.url)
// kubectl 1.37's kustomize, the one the e2e cluster is built with (ATW_KUBECTL wins).
const kubectl = process.env['ATW_KUBECTL'] ?? `${await buildClusterBinaries()}/kubectl`

interface ServiceMonitor extends K8sObject {
  spec: { jobLabel?: string, selector: { matchLabels: Record<string, string> }, endpoints: Array<{ port: string, path?: string, scheme?: string }>, namespaceSelector?: unknown }
}

async function renderWithComponent (target: string, lines: string[]): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-monitoring-overlay-'))
  try {
    await writeFile(join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', ...lines,
      'resources:', `  - ${relative(dir, join(MANIFESTS, target))}`,
      'components:', `  - ${relative(dir, COMPONENT)}`, ''
    ].join('\n'))
    return await build(dir, kubectl)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function checkScrapeTarget (t: Test, objects: readonly K8sObject[], namespace: string): void {
  const monitor = only(objects, 'ServiceMonitor') as ServiceMonitor
  const service = only(objects, 'Service') as K8sObject & V1Service
  t.equal(monitor.metadata.namespace, namespace, 'the ServiceMonitor is in the namespace')
  t.equal(service.metadata.namespace, namespace, 'beside the Service: with no namespaceSelector it looks in its own namespace')
  t.equal(monitor.spec.namespaceSelector, undefined)
  const selected = Object.entries(monitor.spec.selector.matchLabels)
  t.ok(selected.length > 0, 'it selects by labels')
  for (const [key, value] of selected) t.equal(service.metadata.labels?.[key], value, `the Service carries ${key}=${value}`)
  const others = objects.filter((object) => object.kind === 'Service' && object !== service)
  t.same(others, [], 'and there is no other Service it could select')

  const jobLabel = monitor.spec.jobLabel ?? ''
  t.equal(service.metadata.labels?.[jobLabel], 'actortemplate-webhook', `job = the Service's ${jobLabel}, as the alerts' up{job="actortemplate-webhook"} expects`)

  t.equal(monitor.spec.endpoints.length, 1)
  const endpoint = monitor.spec.endpoints[0]
  t.match(endpoint, { port: 'metrics', path: '/metrics', scheme: 'http' })
  const servicePort = service.spec?.ports?.find((port) => port.name === endpoint?.port)
  t.ok(servicePort, `the Service has a port named ${endpoint?.port ?? ''}`)
  const deployment = only(objects, 'Deployment') as K8sObject & V1Deployment
  const containerPort = deployment.spec?.template.spec?.containers[0]?.ports?.find((port) => port.name === servicePort?.targetPort)
  t.ok(containerPort, `its targetPort ${String(servicePort?.targetPort)} is a named container port`)
}

t.test('the component\'s rules and dashboard are the chart\'s files', async (t) => {
  const rule = parse(await readFile(join(COMPONENT, 'prometheusrule.yaml'), 'utf8')) as { kind: string, spec: unknown }
  t.equal(rule.kind, 'PrometheusRule')
  t.same(rule.spec, parse(await readFile(new URL('prometheus-rules.yaml', FILES), 'utf8')), 'PrometheusRule spec = files/prometheus-rules.yaml')
  t.equal(await readFile(join(COMPONENT, 'grafana-dashboard.json'), 'utf8'), await readFile(new URL('grafana-dashboard.json', FILES), 'utf8'),
    'grafana-dashboard.json = files/grafana-dashboard.json')
})

for (const target of ['', 'overlays/cert-manager'] as const) {
  t.test(`an overlay over manifests/${target} with namespace, name prefix and the component`, async (t) => {
    const objects = await renderWithComponent(target, ['namespace: platform-monitoring-test', 'namePrefix: acme-'])
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
      t.equal(only(objects, kind).metadata.name, 'acme-actortemplate-webhook', `${kind} takes the prefix`)
    }
    checkScrapeTarget(t, objects, 'platform-monitoring-test')
    const dashboard = only(objects, 'ConfigMap', 'acme-actortemplate-webhook-dashboard')
    t.equal(dashboard.metadata.namespace, 'platform-monitoring-test')
    t.equal(dashboard.metadata.labels?.['grafana_dashboard'], '1', 'the Grafana sidecar label')
    const json = (dashboard as K8sObject & { data?: Record<string, string> }).data?.['actortemplate-webhook.json'] ?? ''
    t.same(JSON.parse(json), JSON.parse(await readFile(new URL('grafana-dashboard.json', FILES), 'utf8')), 'the dashboard JSON')
    const rule = only(objects, 'PrometheusRule') as K8sObject & { spec: unknown }
    t.same(rule.spec, parse(await readFile(new URL('prometheus-rules.yaml', FILES), 'utf8')), 'the rules, unchanged by kustomize')

    // The pod listens for scrapes where the Service sends them: the config's metricsPort is the container port.
    const config = await podConfig(objects.filter((object) => object !== dashboard))
    const deployment = only(objects, 'Deployment') as K8sObject & V1Deployment
    const metricsPort = deployment.spec?.template.spec?.containers[0]?.ports?.find((port) => port.name === 'metrics')
    t.equal(metricsPort?.containerPort, config.server.metricsPort, `the webhook serves /metrics on ${config.server.metricsPort}`)
  })
}

t.test('an overlay with no namespace of its own keeps everything in the base namespace', async (t) => {
  const objects = await renderWithComponent('', [])
  checkScrapeTarget(t, objects, 'actortemplate-webhook')
  t.equal(only(objects, 'PrometheusRule').metadata.namespace, 'actortemplate-webhook')
  t.equal(only(objects, 'ConfigMap', 'actortemplate-webhook-dashboard').metadata.namespace, 'actortemplate-webhook')
})

t.test('the README\'s patch labels the ServiceMonitor and the PrometheusRule for Prometheus to select, and nothing else', async (t) => {
  const objects = await renderWithComponent('', ['patches:', '  - target: { group: monitoring.coreos.com, kind: ServiceMonitor|PrometheusRule }',
    '    patch: |-', '      - op: add', '        path: /metadata/labels/release', '        value: kube-prometheus-stack'])
  const labelled = objects.filter((object) => object.metadata.labels?.['release'] === 'kube-prometheus-stack').map((object) => object.kind).sort()
  t.same(labelled, ['PrometheusRule', 'ServiceMonitor'])
})

/**
 * Issue 14 §4, ports and egress: the README's table states what the rendered install holds (Service 443 → 8443,
 * metrics 9090, egress 53/443/6443), and its example patch for a registry on another port, taken from the README and
 * rendered with `kubectl kustomize` over manifests/, allows exactly that port more, still never to link-local.
 * Evaluated rule by rule (network-policy-eval.ts): the e2e CNI does not enforce NetworkPolicy.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { V1Deployment, V1NetworkPolicy, V1Service } from '@kubernetes/client-node'
import t from 'tap'
import { onlyBlock, readManifestsReadme, section, shellCommands } from './admin-docs-readme.js'
import { build, MANIFESTS, only } from './kustomize.js'
import { allows, type Connection, type Rule } from './network-policy-eval.js'

const readme = await readManifestsReadme()
const ports = section(readme, 'Ports and egress')
const tcp = (address: string, port: number): Connection => ({ address, port, protocol: 'TCP' })
const egressOf = (policy: V1NetworkPolicy): Rule[] =>
  (policy.spec?.egress ?? []).map((rule) => ({ ...(rule.ports === undefined ? {} : { ports: rule.ports }), ...(rule.to === undefined ? {} : { peers: rule.to }) }))
const egressPorts = (policy: V1NetworkPolicy): number[] =>
  [...new Set((policy.spec?.egress ?? []).flatMap((rule) => rule.ports ?? []).map((port) => Number(port.port)))].toSorted((a, b) => a - b)

t.test('the table states the ports the rendered install uses', async (t) => {
  const objects = await build(MANIFESTS)
  const service = only(objects, 'Service') as unknown as V1Service
  const deployment = only(objects, 'Deployment') as unknown as V1Deployment
  const containerPort = (name: string): number | undefined =>
    deployment.spec?.template.spec?.containers[0]?.ports?.find((port) => port.name === name)?.containerPort
  const servicePort = (name: string): number | undefined => service.spec?.ports?.find((port) => port.targetPort === name)?.port
  t.same([servicePort('https'), containerPort('https')], [443, 8443], 'Service 443 → the pod\'s 8443')
  t.same([servicePort('metrics'), containerPort('metrics')], [9090, 9090], 'metrics 9090')
  t.match(ports, '**TCP 8443** (Service port 443 → targetPort 8443)')
  const policy = only(objects, 'NetworkPolicy') as unknown as V1NetworkPolicy
  const ingressPorts = (policy.spec?.ingress ?? []).flatMap((rule) => rule.ports ?? []).map((port) => port.port)
  t.same(ingressPorts, [8443, 9090], 'ingress: serving and metrics')
  t.match(ports, '| ingress | Prometheus → webhook pods | TCP 9090 |')
  t.same(egressPorts(policy), [53, 443, 6443], 'egress as shipped: DNS, 443, 6443')
  t.match(ports, '| egress | webhook → DNS | UDP and TCP 53 |')
  t.match(ports, 'TCP 443 (Service) and 6443')
  t.match(ports, 'TCP 80 (and 988 on Dataplane V2) to 169.254.169.254', 'GKE metadata, for the google provider')
  t.match(ports, 'token realms')
})

t.test('the GKE private-cluster firewall rule opens 8443 from the control plane to the nodes', async (t) => {
  const [rule, ...more] = shellCommands(onlyBlock(readme, 'Ports and egress', 'sh'))
  t.equal(more.length, 0)
  t.same(rule?.slice(0, 4), ['gcloud', 'compute', 'firewall-rules', 'create'])
  const flag = (name: string): string | undefined => rule?.[rule.indexOf(name) + 1]
  t.equal(flag('--allow'), 'tcp:8443', 'the targetPort, not the Service port: the control plane connects to the pod')
  t.equal(flag('--direction'), 'INGRESS')
  t.equal(flag('--source-ranges'), 'CONTROL_PLANE_CIDR')
  t.equal(flag('--target-tags'), 'NODE_TAG')
})

t.test('the README\'s patch for registries on 5000 and 8443, rendered over manifests/', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-admin-netpol-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const patch = onlyBlock(readme, 'Ports and egress', 'yaml')
  await writeFile(join(dir, 'kustomization.yaml'), `resources:\n  - ${relative(dir, MANIFESTS)}\n${patch}`)
  const policy = only(await build(dir), 'NetworkPolicy') as unknown as V1NetworkPolicy
  const shipped = only(await build(MANIFESTS), 'NetworkPolicy') as unknown as V1NetworkPolicy
  t.same(egressPorts(policy), [53, 443, 5000, 6443, 8443], 'two ports more')
  t.same(policy.spec?.egress?.slice(0, -1), shipped.spec?.egress, 'the shipped rules untouched')
  t.same(policy.spec?.ingress, shipped.spec?.ingress, 'ingress untouched')
  const egress = egressOf(policy)
  for (const [connection, expected, why] of [
    [tcp('10.0.0.5', 5000), true, 'a registry on 5000'],
    [tcp('203.0.113.7', 8443), true, 'a registry on 8443'],
    [tcp('2001:db8::7', 5000), true, 'over IPv6'],
    [tcp('169.254.169.254', 5000), false, 'never link-local'],
    [tcp('169.254.169.254', 8443), false, 'never link-local'],
    [tcp('fe80::1', 8443), false, 'nor IPv6 link-local'],
    [tcp('10.0.0.5', 5001), false, 'only the ports listed'],
    [{ address: '10.0.0.5', port: 5000, protocol: 'UDP' } as const, false, 'TCP only'],
    [tcp('140.82.112.33', 443), true, '443 as before']
  ] as const) {
    t.equal(allows(egress, connection), expected, `${connection.protocol} ${connection.address}:${connection.port}: ${why}`)
  }
  t.equal(allows(egressOf(shipped), tcp('10.0.0.5', 5000)), false, 'without the patch, 5000 is refused (the lookups would time out)')
})

/**
 * Issue 12 §4: the real-node e2e cluster uses the CNI bridge plugin, which does not enforce NetworkPolicy, so the
 * shipped policy is checked here statically: what it would allow and refuse, connection by connection.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node'
import t from 'tap'
import { parse } from 'yaml'
import { MANIFESTS } from './kustomize.js'
import { allows, type Connection, type Rule } from './network-policy-eval.js'

const load = async <T>(file: string): Promise<T> => parse(await readFile(join(MANIFESTS, 'base', file), 'utf8')) as T
const policy = await load<V1NetworkPolicy>('networkpolicy.yaml')
const deployment = await load<V1Deployment>('deployment.yaml')
// Parsed from YAML, the ingress peers are under `from`; the client's type names that field `_from` (a reserved word
// in its generator), so the raw shape is read here.
const ingress: Rule[] = ((policy.spec?.ingress ?? []) as Array<{ from?: Rule['peers'], ports?: Rule['ports'] }>)
  .map((rule) => ({ ...(rule.ports === undefined ? {} : { ports: rule.ports }), ...(rule.from === undefined ? {} : { peers: rule.from }) }))
const egress: Rule[] = (policy.spec?.egress ?? []).map((rule) => ({ ...(rule.ports === undefined ? {} : { ports: rule.ports }), ...(rule.to === undefined ? {} : { peers: rule.to }) }))

const tcp = (address: string, port: number): Connection => ({ address, port, protocol: 'TCP' })
const udp = (address: string, port: number): Connection => ({ address, port, protocol: 'UDP' })

t.test('selects the webhook pods and governs both directions', async (t) => {
  t.same(policy.spec?.podSelector?.matchLabels, deployment.spec?.selector.matchLabels)
  t.same(policy.spec?.policyTypes, ['Ingress', 'Egress'], 'without Egress listed, egress rules would be ignored')
  t.ok(ingress.filter((rule) => rule.ports?.some((port) => port.port === 8443) === true).every((rule) => rule.peers === undefined),
    'the serving port from any peer: where the apiserver calls from differs by cluster')
})

t.test('ingress: the serving port from anywhere, metrics from the monitoring namespace, nothing else', async (t) => {
  const container = deployment.spec?.template.spec?.containers[0]
  const serving = container?.ports?.find((port) => port.name === 'https')?.containerPort
  t.equal(serving, 8443)
  t.equal(container?.ports?.find((port) => port.name === 'metrics')?.containerPort, 9090, 'the config\'s default server.metricsPort')
  for (const [connection, expected] of [
    [tcp('10.0.0.1', 8443), true], // a pod network apiserver
    [tcp('172.16.5.4', 8443), true], // host network, control-plane VPC
    [tcp('2001:db8::1', 8443), true],
    [tcp('pod', 8443), true],
    [udp('10.0.0.1', 8443), false],
    [tcp('10.0.0.1', 9090), false], // metrics only from monitoring pods
    [{ ...tcp('pod', 9090), namespace: 'monitoring' }, true], // Prometheus (issue 13 §5)
    [{ ...tcp('pod', 9090), namespace: 'team-a' }, false], // a tenant reads no metrics
    [{ ...tcp('pod', 8080), namespace: 'monitoring' }, false],
    [tcp('10.0.0.1', 22), false]
  ] as const) {
    t.equal(allows(ingress, connection), expected, `ingress ${connection.protocol} ${connection.address}:${connection.port}`)
  }
})

t.test('egress: DNS anywhere, 443 and 6443 anywhere but link-local, nothing else', async (t) => {
  for (const [connection, expected, why] of [
    [udp('10.96.0.10', 53), true, 'kube-dns Service'],
    [tcp('10.96.0.10', 53), true, 'DNS over TCP (large answers)'],
    [udp('169.254.20.10', 53), true, 'node-local DNS cache listens on link-local'],
    [tcp('pod', 53), true, 'kube-dns pods'],
    [tcp('140.82.112.33', 443), true, 'a registry'],
    [tcp('2606:50c0:8000::154', 443), true, 'a registry over IPv6'],
    [tcp('10.96.0.1', 443), true, 'the kubernetes Service'],
    [tcp('192.168.0.2', 6443), true, 'an apiserver endpoint'],
    [tcp('169.254.169.254', 443), false, 'cloud metadata'],
    [tcp('169.254.169.254', 80), false, 'cloud metadata over HTTP'],
    [tcp('169.254.0.1', 6443), false, 'anything link-local'],
    [tcp('fe80::1', 443), false, 'IPv6 link-local'],
    [tcp('fe80::a9fe:a9fe', 443), false, 'IPv6 link-local'],
    [tcp('10.0.0.5', 5000), false, 'plain-HTTP registries need an overlay (overlays/dev adds 5000)'],
    [tcp('10.0.0.5', 80), false, 'plain HTTP'],
    [udp('10.0.0.5', 443), false, 'QUIC']
  ] as const) {
    t.equal(allows(egress, connection), expected, `egress ${connection.protocol} ${connection.address}:${connection.port}: ${why}`)
  }
})

t.test('every ipBlock excludes its family\'s whole link-local range', async (t) => {
  const blocks = (policy.spec?.egress ?? []).flatMap((rule) => rule.to ?? []).map((peer) => peer.ipBlock)
  t.ok(blocks.length > 0)
  for (const block of blocks) {
    t.ok(block !== undefined, 'only ipBlock peers in egress')
    const linkLocal = block?.cidr.includes(':') === true ? 'fe80::/10' : '169.254.0.0/16'
    t.ok(block?.except?.includes(linkLocal), `${String(block?.cidr)} excepts ${linkLocal}`)
  }
})

t.test('not enforced in the e2e cluster: said in manifests/README.md', async (t) => {
  const readme = await readFile(join(MANIFESTS, 'README.md'), 'utf8')
  t.match(readme, /NetworkPolicy[^\n]*not enforced/i)
})

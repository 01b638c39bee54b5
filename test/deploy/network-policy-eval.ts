/**
 * Evaluates a NetworkPolicy's rules the way the API documents them (networking.k8s.io/v1): a rule allows a
 * connection when one of its ports matches (no ports: every port) and one of its peers matches (no peers: every
 * address); an ipBlock matches inside `cidr` and outside every `except`. No CNI here enforces policies (the bridge
 * plugin ignores them), so the deploy tests check what the policy would allow, address by address.
 */
import type { V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node'
import ipaddr from 'ipaddr.js'

export interface Rule {
  ports?: V1NetworkPolicyPort[]
  peers?: V1NetworkPolicyPeer[]
}

export interface Connection {
  /** A literal IPv4 or IPv6 address, or 'pod' for a peer chosen by pod or namespace selector. */
  address: string
  /** For a 'pod': its namespace, matched against a namespaceSelector on kubernetes.io/metadata.name. */
  namespace?: string
  port: number
  protocol: 'TCP' | 'UDP'
}

function inCidr (address: string, cidr: string): boolean {
  const parsed = ipaddr.parse(address)
  const [range, bits] = ipaddr.parseCIDR(cidr)
  return parsed.kind() === range.kind() && parsed.match(range, bits)
}

function peerMatches (peer: V1NetworkPolicyPeer, connection: Connection): boolean {
  const { address } = connection
  if (peer.ipBlock === undefined) {
    if (address !== 'pod') return false
    const namespace = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']
    return namespace === undefined || namespace === connection.namespace
  }
  if (address === 'pod') return false
  return inCidr(address, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((cidr) => inCidr(address, cidr))
}

function portMatches (port: V1NetworkPolicyPort, connection: Connection): boolean {
  const protocol = port.protocol ?? 'TCP'
  if (protocol !== connection.protocol) return false
  if (port.port === undefined) return true
  if (typeof port.port === 'string') return false
  return port.endPort === undefined ? port.port === connection.port : connection.port >= port.port && connection.port <= port.endPort
}

export function allows (rules: readonly Rule[], connection: Connection): boolean {
  return rules.some((rule) =>
    ((rule.ports ?? []).length === 0 || (rule.ports ?? []).some((port) => portMatches(port, connection))) &&
    ((rule.peers ?? []).length === 0 || (rule.peers ?? []).some((peer) => peerMatches(peer, connection))))
}

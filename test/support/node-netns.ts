/**
 * The one network namespace a real-node cluster runs in (issue 12 §2). Inside: `lo`, a veth pair whose both ends
 * stay inside (the kernel here has no `dummy` module) carrying the node address, and a blackhole default route, so
 * no packet can leave. Deleting the namespace removes the veths, the CNI bridge, kube-proxy's iptables rules and
 * conntrack state with it.
 */
import { NODE_NETWORK } from './node-configs.js'
import { mustRun, run } from './netns-process.js'

export const NETNS_PREFIX = 'atw-node-'

export interface NodeNetns {
  name: string
  /** /var/run/netns/<name>, for nsenter --net= */
  path: string
}

/** `atw-node-<pid>-<random>`: also names the cluster's temp dir, cgroup root and CNI network, so a sweep finds them. */
export function newClusterId (): string {
  return `${NETNS_PREFIX}${process.pid}-${Math.floor(Math.random() * 1e6)}`
}

export async function createNodeNetns (name: string): Promise<NodeNetns> {
  await mustRun(['ip', 'netns', 'add', name])
  try {
    const ip = async (...args: string[]): Promise<void> => { await mustRun(['ip', '-n', name, ...args]) }
    await ip('link', 'set', 'lo', 'up')
    await ip('link', 'add', 'atw0', 'type', 'veth', 'peer', 'name', 'atw1')
    await ip('addr', 'add', NODE_NETWORK.nodeCidr, 'dev', 'atw0')
    await ip('link', 'set', 'atw0', 'up')
    await ip('link', 'set', 'atw1', 'up')
    // Locally originated packets to a Service address need a route before kube-proxy's OUTPUT DNAT rewrites them.
    await ip('route', 'add', NODE_NETWORK.serviceCidr, 'dev', 'atw0')
    await ip('route', 'add', 'blackhole', 'default')
  } catch (error) {
    await deleteNodeNetns(name)
    throw error
  }
  return { name, path: `/var/run/netns/${name}` }
}

export async function deleteNodeNetns (name: string): Promise<void> {
  await run(['ip', 'netns', 'del', name]).catch(() => undefined)
}

/** True for a cluster id whose test process is gone (SIGKILL before teardown). */
export function isStale (id: string): boolean {
  const match = new RegExp(`^${NETNS_PREFIX}(\\d+)-\\d+$`).exec(id)
  return match !== null && !alive(Number(match[1]))
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

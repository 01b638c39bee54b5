/**
 * Gives back everything a real-node cluster took from the machine, once its daemons are stopped (or dead): pod
 * processes and their cgroups, shims, mounts, the network namespace, log links, libcni cache entries, kernel
 * settings and the temp dir. Synchronous, so the same code serves stop(), a process 'exit' hook and the sweep of
 * clusters whose test process was SIGKILLed.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { paths } from './node-configs.js'
import { absentFixedPaths, killShims, removeCgroupRoot, removeCniCache, removeFixedPaths, removeLogLinks, removeShimSockets, restoreSysctls, saveSysctls, unmountUnder } from './node-host-state.js'
import { alive, isStale, NETNS_PREFIX } from './node-netns.js'

export interface HostClaim {
  /** Cluster id: names the netns, the cgroup root (/<id>), the CNI network and the temp dir. */
  id: string
  dir: string
  /** The machine as it was before the first of our kubelets started. */
  before?: HostBefore
  keepDir?: boolean
}

export function clusterDir (id: string): string {
  return join(tmpdir(), id)
}

export function releaseHost (claim: HostClaim): void {
  const layout = { dir: claim.dir, cgroupRoot: `/${claim.id}`, cniNetwork: claim.id }
  const p = paths(layout)
  removeCgroupRoot(layout.cgroupRoot)
  removeShimSockets(p.containerdSocket, p.containerdState)
  killShims(p.containerdSocket)
  unmountUnder(claim.dir)
  removeCgroupRoot(layout.cgroupRoot)
  try { execFileSync('ip', ['netns', 'del', claim.id], { stdio: 'ignore' }) } catch { /* already gone */ }
  removeLogLinks(claim.dir)
  removeCniCache(layout.cniNetwork, p.containerdRoot)
  // Clusters running at once share these machine-wide settings and paths: the last one out restores them.
  if (claim.before !== undefined && otherLiveClusters(claim.id).length === 0) {
    restoreSysctls(new Map(Object.entries(claim.before.sysctls)))
    removeFixedPaths(claim.before.absentPaths)
  }
  // Never recurse into a dir that still has a mount in it: rm would delete through it.
  if (claim.keepDir !== true && existsSync(claim.dir)) {
    unmountUnder(claim.dir)
    rmSync(claim.dir, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** Releases what clusters of dead test processes left behind (their daemons died with them: parent-death signal). */
export function sweepStaleClusters (): void {
  const ids = new Set<string>()
  for (const entry of readdirSync(tmpdir())) if (entry.startsWith(NETNS_PREFIX)) ids.add(entry)
  try {
    const listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    for (const match of listing.matchAll(new RegExp(`^${NETNS_PREFIX}\\d+-\\d+`, 'gm'))) ids.add(match[0])
  } catch { /* no netns support: nothing to sweep there */ }
  for (const id of ids) {
    if (!isStale(id)) continue
    const dir = clusterDir(id)
    releaseHost({ id, dir, keepDir: existsSync(join(dir, 'keep')), ...withBefore(savedBefore(dir)) })
  }
}

/** Machine-wide state our kubelets change: kernel settings, and fixed paths they create. */
export interface HostBefore {
  sysctls: Record<string, string>
  absentPaths: string[]
}

export const BEFORE_FILE = 'host-before.json'

function savedBefore (dir: string): HostBefore | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, BEFORE_FILE), 'utf8')) as HostBefore
  } catch {
    return undefined
  }
}

function withBefore (before: HostBefore | undefined): { before?: HostBefore } {
  return before === undefined ? {} : { before }
}

/** Ids of clusters of live test processes other than `id` (this process's own other clusters included). */
export function otherLiveClusters (id: string): string[] {
  return readdirSync(tmpdir()).filter((entry) => {
    const match = new RegExp(`^${NETNS_PREFIX}(\\d+)-\\d+$`).exec(entry)
    return match !== null && entry !== id && alive(Number(match[1]))
  })
}

/**
 * The machine as it was before any kubelet of ours changed it: another live cluster's record if there is one (its
 * kubelet may already have changed it), else what is there now.
 */
export function hostBefore (id: string): HostBefore {
  for (const other of otherLiveClusters(id)) {
    const saved = savedBefore(clusterDir(other))
    if (saved !== undefined) return saved
  }
  return { sysctls: Object.fromEntries(saveSysctls()), absentPaths: absentFixedPaths() }
}

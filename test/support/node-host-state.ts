/**
 * What a real-node cluster leaves on the machine outside its network namespace and its temp dir, and how teardown
 * takes it back: a cgroup subtree for the pods, mounts under the temp dir (volumes, rootfs, pod namespaces), the
 * kubelet's /var/log/containers links, libcni's result cache, containerd shims, and the kernel settings the kubelet
 * rewrites. Synchronous where it can be, so a process 'exit' hook can use it too.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'

const CGROUP_FS = '/sys/fs/cgroup'

/** cgroup v1 hierarchies mounted here (cgroup2's "unified" holds no controllers on this machine kind). */
function hierarchies (): string[] {
  if (!existsSync(CGROUP_FS)) return []
  return readdirSync(CGROUP_FS)
    .filter((name) => name !== 'unified')
    .map((name) => join(CGROUP_FS, name))
    .filter((path) => statSync(path).isDirectory() && existsSync(join(path, 'cgroup.procs')))
}

/**
 * The kubelet's `cgroupRoot` must exist in every hierarchy before it starts ("cgroup-root doesn't exist"). A new
 * cpuset cgroup starts with no CPUs and no memory nodes, so it gets its parent's.
 */
export function createCgroupRoot (root: string): void {
  for (const hierarchy of hierarchies()) {
    const dir = join(hierarchy, root)
    mkdirSync(dir, { recursive: true })
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(dir, file)) && readFileSync(join(dir, file), 'utf8').trim() === '') {
        writeFileSync(join(dir, file), readFileSync(join(hierarchy, file), 'utf8'))
      }
    }
  }
}

function subtreeDeepestFirst (dir: string): string[] {
  if (!existsSync(dir)) return []
  const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name))
  return [...children.flatMap(subtreeDeepestFirst), dir]
}

function pidsIn (dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return []
  }
}

/** SIGKILLs every process in the subtree (the pods' containers), then removes the subtree. */
export function removeCgroupRoot (root: string): void {
  for (let round = 0; round < 50; round++) {
    let found = 0
    for (const hierarchy of hierarchies()) {
      for (const dir of subtreeDeepestFirst(join(hierarchy, root))) {
        for (const pid of pidsIn(dir)) {
          found++
          try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
        }
      }
    }
    if (found === 0) break
    execFileSync('sleep', ['0.1'])
  }
  for (const hierarchy of hierarchies()) {
    for (const dir of subtreeDeepestFirst(join(hierarchy, root))) {
      try { rmdirSync(dir) } catch { /* a process still exiting; the next sweep retries */ }
    }
  }
}

/** Decodes mountinfo's octal escapes (\040 for a space). */
function unescapeMount (path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder (dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map(unescapeMount)
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length)
}

/** Unmounts everything under `dir`; lazily when busy, so teardown never hangs on a straggler. */
export function unmountUnder (dir: string): void {
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir)
    if (points.length === 0) return
    for (const point of points) {
      try {
        execFileSync('umount', [point], { stdio: 'ignore' })
      } catch {
        try { execFileSync('umount', ['-l', point], { stdio: 'ignore' }) } catch { /* gone meanwhile */ }
      }
    }
  }
}

/** Kernel settings the kubelet rewrites at start (container manager "kernel tunables"); machine-wide, so restored. */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes']

export function saveSysctls (): Map<string, string> {
  const saved = new Map<string, string>()
  for (const name of KUBELET_SYSCTLS) {
    try { saved.set(name, readFileSync(join('/proc/sys', name), 'utf8')) } catch { /* not on this kernel */ }
  }
  return saved
}

export function restoreSysctls (saved: ReadonlyMap<string, string>): void {
  for (const [name, value] of saved) {
    try {
      if (readFileSync(join('/proc/sys', name), 'utf8') !== value) writeFileSync(join('/proc/sys', name), value)
    } catch { /* read-only here: nothing was changed either */ }
  }
}

/** The kubelet links every container log into /var/log/containers (a fixed path); drop the links into `dir`. */
export function removeLogLinks (dir: string): void {
  const links = '/var/log/containers'
  if (!existsSync(links)) return
  for (const entry of readdirSync(links)) {
    try {
      if (readlinkSync(join(links, entry)).startsWith(dir)) rmSync(join(links, entry))
    } catch { /* not a link */ }
  }
}

/**
 * libcni caches each attachment as /var/lib/cni/results/<network>-<sandbox>-<ifname>, containerd's loopback one as
 * cni-loopback-<sandbox>-lo; containerd 1.6 has no setting for that dir. Ours: our network, or our sandboxes (the
 * CRI plugin's sandbox dirs under our containerd root).
 */
export function removeCniCache (network: string, containerdRoot: string): void {
  const results = '/var/lib/cni/results'
  if (!existsSync(results)) return
  const sandboxes = join(containerdRoot, 'io.containerd.grpc.v1.cri', 'sandboxes')
  const ours = new Set(existsSync(sandboxes) ? readdirSync(sandboxes).map((id) => `cni-loopback-${id}-lo`) : [])
  for (const entry of readdirSync(results)) {
    if (entry.startsWith(`${network}-`) || ours.has(entry)) rmSync(join(results, entry), { force: true })
  }
}

/** containerd shims outlive containerd; ours are the ones started with our socket address. */
export function killShims (containerdSocket: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const argv = readFileSync(join('/proc', entry, 'cmdline'), 'utf8').split('\0')
      if (argv[0]?.endsWith('containerd-shim-runc-v2') === true && argv.includes(containerdSocket)) process.kill(Number(entry), 'SIGKILL')
    } catch { /* exited meanwhile */ }
  }
}

/**
 * A SIGKILLed shim leaves its socket in /run/containerd/s (a fixed root in containerd 1.6), named
 * sha256(<containerd address>/<namespace>/<task id>) (runtime/v2/shim/util_unix.go SocketAddress). Task ids are the
 * bundle directories under our state dir, so we remove exactly our sockets.
 */
export function removeShimSockets (containerdSocket: string, containerdState: string): void {
  const bundles = join(containerdState, 'io.containerd.runtime.v2.task', 'k8s.io')
  if (!existsSync(bundles)) return
  for (const id of readdirSync(bundles)) {
    const hex = createHash('sha256').update(join(containerdSocket, 'k8s.io', id)).digest('hex')
    rmSync(join('/run/containerd/s', hex), { force: true })
  }
  // Created by the first shim if absent; removed only when empty, so another containerd's files are never touched.
  for (const dir of ['/run/containerd/s', '/run/containerd']) {
    try { rmdirSync(dir) } catch { /* not empty, or not there */ }
  }
}

/**
 * Paths outside the cluster dir that the kubelet and libcni use whatever they are told (the kubelet's device-plugin
 * socket dir is a constant of the device-plugin API), deepest first. Teardown removes the ones that were absent
 * before, directories only when empty.
 */
const FIXED_PATHS = [
  '/var/lib/kubelet/device-plugins/kubelet.sock',
  '/var/lib/kubelet/device-plugins',
  '/var/lib/kubelet',
  '/var/lib/cni/results',
  '/var/lib/cni',
  '/var/log/containers'
]

export function absentFixedPaths (): string[] {
  return FIXED_PATHS.filter((path) => !existsSync(path))
}

export function removeFixedPaths (absentBefore: readonly string[]): void {
  for (const path of FIXED_PATHS.filter((p) => absentBefore.includes(p))) {
    try {
      if (statSync(path).isDirectory()) rmdirSync(path)
      else rmSync(path)
    } catch { /* not there, or not empty: someone else's */ }
  }
}

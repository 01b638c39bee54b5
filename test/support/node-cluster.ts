/**
 * A real single-node Kubernetes cluster for e2e tests that need pods (issue 12 §2): etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy, CNI bridge networking and a plain-HTTP
 * registry, all inside ONE network namespace the test creates, whose default route is a blackhole. Everything is
 * reached through `nsenter --net`; kubectl too. ../shared/docs/real-node.md lists what each setting is for.
 *
 *   const cluster = await startNodeCluster()
 *   t.teardown(() => cluster.stop())
 *   const ref = await cluster.pushLayout(layoutDir, 'latest', 'team/app', 'v1')
 *   await cluster.kubectl(['apply', '-k', overlayDir])
 *
 * The apiserver-only cluster (test/support/cluster.ts) stays the faster choice for tests that need no pods.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Cluster, KubectlOptions, KubectlResult } from './cluster.js'
import { exited } from './child-process.js'
import { nodeBinaries } from './node-binaries.js'
import { API_SERVER, commandFor, ETCD_URL, skopeoPushCommand, type Component } from './node-components.js'
import * as configs from './node-configs.js'
import { KUBELET_CLIENT_USER } from './node-credentials.js'
import { apiserverCa, writeConfigs } from './node-files.js'
import { createCgroupRoot } from './node-host-state.js'
import { createNodeNetns, newClusterId } from './node-netns.js'
import { runInNetns, startInNetns, stopProcess, type RunOptions, type RunResult } from './netns-process.js'
import { BEFORE_FILE, clusterDir, hostBefore, releaseHost, sweepStaleClusters, type HostClaim } from './node-teardown.js'
import { onProcessExit } from './node-exit-hooks.js'

export interface NodeClusterTimings {
  /** From the call to the apiserver answering /readyz. */
  apiserverReadyMs: number
  /** From the call to the node reporting Ready with the pause image in the registry: the cluster start time. */
  readyMs: number
}

export interface NodeCluster extends Cluster {
  id: string
  netnsPath: string
  nodeName: string
  nodeIp: string
  /** host:port of the plain-HTTP registry, reachable from the node, its pods and runInNetns. */
  registryHost: string
  timings: NodeClusterTimings
  runInNetns: (command: readonly string[], opts?: RunOptions) => Promise<RunResult>
  /** Pushes an OCI layout's `ref` to registryHost/repo:tag; returns registryHost/repo@<digest>. */
  pushLayout: (layoutDir: string, ref: string, repo: string, tag: string) => Promise<string>
  componentLog: (component: Component, lines?: number) => Promise<string>
}

export interface StartNodeClusterOptions {
  /** Whole start, binaries already cached. Default 180 s. */
  readyTimeoutMs?: number
  /** Keep the temp dir (logs, configs) after stop(). Default: $ATW_KEEP_CLUSTER_DIR === '1'. */
  keepDir?: boolean
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function tail (file: string, lines: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines - 1).join('\n')
  } catch (error) {
    return `(cannot read ${file}: ${String(error)})`
  }
}

export async function startNodeCluster (options: StartNodeClusterOptions = {}): Promise<NodeCluster> {
  const bin = await nodeBinaries()
  const started = Date.now()
  const deadline = started + (options.readyTimeoutMs ?? 180_000)
  sweepStaleClusters()
  const id = newClusterId()
  const dir = clusterDir(id)
  const layout: configs.NodeLayout = { dir, cgroupRoot: `/${id}`, cniNetwork: id }
  const p = configs.paths(layout)
  const claim: HostClaim = { id, dir, keepDir: options.keepDir ?? process.env['ATW_KEEP_CLUSTER_DIR'] === '1' }
  const children = new Map<Component, ChildProcess>()
  const killAll = (): void => {
    for (const child of children.values()) if (!exited(child)) child.kill('SIGKILL')
    releaseHost(claim)
  }
  const removeHook = onProcessExit(killAll)
  let stopped = false

  const logOf = (component: Component): string => join(dir, 'logs', `${component}.log`)
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Node side first so nothing restarts what is being torn down; the apiserver last but etcd.
    for (const component of ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager', 'containerd', 'registry', 'kube-apiserver', 'etcd'] as const) {
      const child = children.get(component)
      if (child !== undefined) await stopProcess(child, component === 'kube-apiserver' ? 5_000 : 10_000)
    }
    releaseHost(claim)
    removeHook()
  }

  try {
    await mkdir(join(dir, 'logs'), { recursive: true })
    if (claim.keepDir === true) await writeFile(join(dir, 'keep'), '')
    const netns = await createNodeNetns(id)
    createCgroupRoot(layout.cgroupRoot)
    const creds = await writeConfigs(layout, p)
    const start = (component: Component): ChildProcess => {
      const child = startInNetns(netns.path, commandFor(component, bin, layout, creds), logOf(component))
      children.set(component, child)
      return child
    }
    const inNetns = async (command: readonly string[], opts?: RunOptions): Promise<RunResult> => await runInNetns(netns.path, command, opts)
    const kubectl = async (args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> => {
      const env: NodeJS.ProcessEnv = { ...process.env, KUBERC: 'off' }
      delete env['KUBECONFIG']
      return await inNetns([bin.kubectl, `--kubeconfig=${p.kubeconfig}`, `--cache-dir=${join(dir, 'kube-cache')}`, ...args],
        { env, timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input === undefined ? {} : { input: opts.input }) })
    }
    const waitFor = async (what: string, component: Component, check: () => Promise<boolean>): Promise<void> => {
      for (;;) {
        const child = children.get(component)
        if (child !== undefined && exited(child)) throw new Error(`${component} exited (${String(child.exitCode ?? child.signalCode)}) while waiting for ${what}:\n${await tail(logOf(component), 40)}`)
        if (await check()) return
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${component} log:\n${await tail(logOf(component), 40)}`)
        await sleep(500)
      }
    }
    const curlOk = async (args: string[]): Promise<boolean> => (await inNetns(['curl', '-fsS', '-o', '/dev/null', '--max-time', '3', ...args])).code === 0

    start('etcd')
    start('registry')
    start('containerd')
    start('kube-apiserver')

    const pushPause = (async () => {
      await waitFor('the registry', 'registry', async () => await curlOk([`http://${configs.registryHost}/v2/`]))
      const pushed = await inNetns(skopeoPushCommand(bin.pauseLayout, configs.PAUSE_TAG, 'pause', configs.PAUSE_TAG))
      if (pushed.code !== 0) throw new Error(`pushing the pause image failed: ${pushed.stderr}`)
    })()

    await waitFor('kube-apiserver /readyz', 'kube-apiserver', async () =>
      await curlOk(['-k', '-H', `Authorization: Bearer ${creds.token}`, `${API_SERVER}/readyz`]))
    const apiserverReadyMs = Date.now() - started
    const caPem = await apiserverCa(dir)
    await writeFile(join(dir, 'apiserver-ca.crt'), caPem)
    start('kube-controller-manager')
    start('kube-scheduler')
    start('kube-proxy')
    await waitFor('the containerd socket', 'containerd', async () => existsSync(p.containerdSocket))
    // The kubelet rewrites machine-wide kernel settings; remembered here (and on disk for a sweep) to restore them.
    claim.before = hostBefore(id)
    await writeFile(join(dir, BEFORE_FILE), JSON.stringify(claim.before))
    start('kubelet')

    const bound = await kubectl(['create', 'clusterrolebinding', 'atw-apiserver-kubelet', '--clusterrole=system:kubelet-api-admin', `--user=${KUBELET_CLIENT_USER}`])
    if (bound.code !== 0) throw new Error(`cannot bind the apiserver's kubelet client: ${bound.stderr}`)
    await waitFor(`node ${configs.NODE_NETWORK.nodeName} Ready`, 'kubelet', async () => {
      const ready = await kubectl(['get', 'node', configs.NODE_NETWORK.nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])
      return ready.stdout.trim() === 'True'
    })
    await pushPause
    const readyMs = Date.now() - started

    return {
      id,
      dir,
      kubeconfig: p.kubeconfig,
      server: API_SERVER,
      token: creds.token,
      caPem,
      binDir: join(bin.kubectl, '..'),
      kubectlPath: bin.kubectl,
      etcdUrl: ETCD_URL,
      pids: { etcd: children.get('etcd')?.pid ?? -1, apiserver: children.get('kube-apiserver')?.pid ?? -1 },
      netnsPath: netns.path,
      nodeName: configs.NODE_NETWORK.nodeName,
      nodeIp: configs.NODE_NETWORK.nodeIp,
      registryHost: configs.registryHost,
      timings: { apiserverReadyMs, readyMs },
      kubectl,
      runInNetns: inNetns,
      pushLayout: async (layoutDir, ref, repo, tag) => await pushLayout(inNetns, dir, layoutDir, ref, repo, tag),
      logTail: async (which = 'apiserver', lines = 40) => await tail(logOf(which === 'apiserver' ? 'kube-apiserver' : 'etcd'), lines),
      componentLog: async (component, lines = 40) => await tail(logOf(component), lines),
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function pushLayout (inNetns: NodeCluster['runInNetns'], dir: string, layoutDir: string, ref: string, repo: string, tag: string): Promise<string> {
  const digestFile = join(dir, `digest-${Date.now()}-${Math.floor(Math.random() * 1e6)}`)
  const command = skopeoPushCommand(layoutDir, ref, repo, tag)
  const pushed = await inNetns([...command.slice(0, 2), `--digestfile=${digestFile}`, ...command.slice(2)])
  if (pushed.code !== 0) throw new Error(`skopeo copy to ${configs.registryHost}/${repo}:${tag} failed: ${pushed.stderr}`)
  const digest = (await readFile(digestFile, 'utf8')).trim()
  await rm(digestFile, { force: true })
  return `${configs.registryHost}/${repo}@${digest}`
}

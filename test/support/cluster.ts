/**
 * A real, throw-away Kubernetes control plane (etcd + kube-apiserver, no nodes, no controllers) for
 * end-to-end tests. Binaries come from scripts/build-cluster.sh, which builds them once per go.sum
 * into a cache outside the repository. See /work/shared/docs/spec-checklist.md §D.
 *
 *   const cluster = await startCluster()
 *   t.teardown(() => cluster.stop())
 *   await installCrd(cluster)
 *   const r = await cluster.kubectl(['create', '-f', '-'], { input: yaml })
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { existsSync, openSync, closeSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { scriptOutput } from './build-script.js'
import { exited, SETPRIV, waitForExit } from './child-process.js'

export { freePort }
import { freePort } from './free-port.js'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CRD_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'crd', 'actortemplates.ate.dev.yaml')
export const CRD_NAME = 'actortemplates.ate.dev'

export interface KubectlResult {
  /** Exit code, or null when kubectl was killed by a signal (e.g. the timeout). */
  code: number | null
  stdout: string
  stderr: string
}

export interface KubectlOptions {
  /** Written to kubectl's stdin. Use `-f -`; `-f /dev/stdin` fails (stdin is a socket, ENXIO). */
  input?: string
  /** Kill kubectl after this long. Default 120 s. */
  timeoutMs?: number
}

export interface StartClusterOptions {
  /** Directory holding kube-apiserver and etcd (and optionally kubectl). Default: run scripts/build-cluster.sh. */
  binDir?: string
  /** kubectl binary. Default: $ATW_KUBECTL, else `<binDir>/kubectl` if built, else `kubectl` on PATH. */
  kubectlPath?: string
  /** Overall deadline for etcd and kube-apiserver to become ready. Default 120 s. */
  readyTimeoutMs?: number
  /** Extra kube-apiserver flags, appended after the defaults (a later flag wins). */
  extraApiServerArgs?: string[]
  /** Keep the temp dir (logs, certs, etcd data) after stop(). Default: $ATW_KEEP_CLUSTER_DIR === '1'. */
  keepDir?: boolean
}

export interface Cluster {
  /** The cluster's temp dir: logs (etcd.log, kube-apiserver.log), certs, keys, etcd data, kubeconfig. */
  dir: string
  /** Path of a kubeconfig for the admin user (system:masters, bearer token). */
  kubeconfig: string
  /** https://127.0.0.1:<port> */
  server: string
  /** Bearer token of the admin user (group system:masters). */
  token: string
  /** PEM of the CA that signed the apiserver's serving certificate (also usable as a trust root). */
  caPem: string
  binDir: string
  kubectlPath: string
  etcdUrl: string
  pids: { etcd: number; apiserver: number }
  /** Runs kubectl against this cluster. Never rejects for a non-zero exit; check `code`. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>
  /** Returns the last lines of the kube-apiserver (default) or etcd log. */
  logTail(which?: 'apiserver' | 'etcd', lines?: number): Promise<string>
  /** Terminates exactly the processes this cluster started and removes its temp dir. Idempotent. */
  stop(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Cleanup when the test process exits without calling stop() (failed assertion, tap timeout).

const liveClusters = new Set<() => void>()
let exitHooksInstalled = false

function installExitHooks(): void {
  if (exitHooksInstalled) return
  exitHooksInstalled = true
  process.on('exit', killAllSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllSync()
      // Re-raise so the default action (or another library's handler) still ends the process.
      process.kill(process.pid, signal)
    })
  }
}

function killAllSync(): void {
  for (const kill of [...liveClusters]) kill()
}

const TEMP_PREFIX = 'atw-cluster-'
const OWNER_FILE = 'owner.pid'
const KEEP_FILE = 'keep'

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/**
 * Removes temp dirs left by test processes that died without cleanup (SIGKILL). Their etcd and
 * kube-apiserver are already gone (parent-death signal). Dirs of live processes and kept dirs stay.
 */
async function sweepStaleDirs(): Promise<void> {
  let entries: string[]
  try {
    entries = (await readdir(tmpdir())).filter((e) => e.startsWith(TEMP_PREFIX))
  } catch {
    return
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry)
    if (existsSync(join(dir, KEEP_FILE))) continue
    let owner: number
    try {
      owner = Number.parseInt(await readFile(join(dir, OWNER_FILE), 'utf8'), 10)
    } catch {
      continue // not ours, or still being created
    }
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Binaries

/** Runs scripts/build-cluster.sh (once per process) and returns the bin dir it prints last. */
export function buildClusterBinaries(): Promise<string> {
  return scriptOutput('build-cluster.sh')
}

// ---------------------------------------------------------------------------------------------
// Small helpers

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines - 1).join('\n')
}

async function fileTail(path: string, lines: number): Promise<string> {
  try {
    return tail(await readFile(path, 'utf8'), lines)
  } catch (err) {
    return `(cannot read ${path}: ${String(err)})`
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Parent-death signal wrapper: the child is SIGKILLed even if this Node process is SIGKILLed. */

function startProcess(binary: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a')
  try {
    const [command, argv] = SETPRIV === undefined
      ? [binary, args]
      : [SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...args]]
    // setpriv execs the binary, so the spawned pid IS the server process.
    return spawn(command, argv, { stdio: ['ignore', fd, fd], env: { ...process.env, GOTRACEBACK: 'all' } })
  } finally {
    closeSync(fd)
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (exited(child)) return
  child.kill('SIGTERM')
  if (await waitForExit(child, 10_000)) return
  child.kill('SIGKILL')
  await waitForExit(child, 10_000)
}

interface HttpResult { status: number; body: string }

/** GET over HTTPS to the local apiserver, trusting its self-signed certificate. */
function httpsGet(url: string, token: string, timeoutMs: number): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
      rejectUnauthorized: false,
      timeout: timeoutMs
    }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`timeout after ${timeoutMs} ms`)) })
    req.on('error', reject)
    req.end()
  })
}

async function httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  return { status: res.status, body: await res.text() }
}

class StartError extends Error {
  constructor (message: string, readonly portInUse: boolean) {
    super(message)
    this.name = 'StartError'
  }
}

const PORT_IN_USE = /address already in use|bind: address/i

async function pollUntilReady(opts: {
  what: string
  child: ChildProcess
  logFile: string
  deadline: number
  probe: () => Promise<HttpResult>
}): Promise<void> {
  let last = 'no answer yet'
  for (;;) {
    if (exited(opts.child)) {
      const log = await fileTail(opts.logFile, 40)
      throw new StartError(
        `${opts.what} exited early (code ${String(opts.child.exitCode)}, signal ${String(opts.child.signalCode)}); ` +
        `last lines of ${opts.logFile}:\n${log}`, PORT_IN_USE.test(log))
    }
    try {
      const res = await opts.probe()
      if (res.status === 200) return
      last = `HTTP ${res.status}: ${res.body.trim()}`
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
    }
    if (Date.now() > opts.deadline) {
      const log = await fileTail(opts.logFile, 40)
      throw new StartError(`${opts.what} not ready before the deadline; last probe: ${tail(last, 30)}\n` +
        `last lines of ${opts.logFile}:\n${log}`, PORT_IN_USE.test(log))
    }
    await sleep(250)
  }
}

function resolveKubectl(binDir: string, explicit: string | undefined): string {
  if (explicit !== undefined) return explicit
  const fromEnv = process.env.ATW_KUBECTL
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const built = join(binDir, 'kubectl')
  return existsSync(built) ? built : 'kubectl'
}

function runKubectl(kubectlPath: string, baseArgs: string[], args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERC: 'off' }
    delete env.KUBECONFIG
    const child = execFile(kubectlPath, [...baseArgs, ...args], {
      env,
      timeout: opts.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8'
    }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code === 'string') {
        // Spawn failure (ENOENT …), not a kubectl exit status.
        reject(new Error(`cannot run ${kubectlPath}: ${err.message}`))
        return
      }
      resolve({ code: child.exitCode, stdout, stderr })
    })
    child.stdin?.on('error', () => { /* kubectl may exit before reading stdin */ })
    child.stdin?.end(opts.input ?? '')
  })
}

// ---------------------------------------------------------------------------------------------
// The cluster

export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const binDir = options.binDir ?? await buildClusterBinaries()
  for (const b of ['etcd', 'kube-apiserver']) {
    if (!existsSync(join(binDir, b))) throw new Error(`${join(binDir, b)} does not exist; run scripts/build-cluster.sh`)
  }
  const attempts = 3
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, options)
    } catch (err) {
      // Free ports are found by bind-and-close, so another process may grab one first: retry.
      if (!(err instanceof StartError && err.portInUse) || attempt >= attempts) throw err
    }
  }
}

async function startOnce(binDir: string, options: StartClusterOptions): Promise<Cluster> {
  installExitHooks()
  await sweepStaleDirs()
  const dir = await mkdtemp(join(tmpdir(), TEMP_PREFIX))
  const keepDir = options.keepDir ?? process.env.ATW_KEEP_CLUSTER_DIR === '1'
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`)
  if (keepDir) await writeFile(join(dir, KEEP_FILE), '')
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000)
  const children: ChildProcess[] = []
  let stopped = false

  const killSync = (): void => {
    for (const c of children) if (!exited(c)) c.kill('SIGKILL')
    if (keepDir) return
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      // Best effort while the process is exiting.
    }
  }
  liveClusters.add(killSync)

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // apiserver first, so it does not log a storm of etcd connection errors.
    for (const c of [...children].reverse()) await terminate(c)
    liveClusters.delete(killSync)
    if (!keepDir) await rm(dir, { recursive: true, force: true })
  }

  try {
    const [etcdClientPort, etcdPeerPort, securePort] = await distinctFreePorts(3) as [number, number, number]
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`
    const server = `https://127.0.0.1:${securePort}`
    const etcdLog = join(dir, 'etcd.log')
    const apiserverLog = join(dir, 'kube-apiserver.log')

    // --- etcd
    const etcd = startProcess(join(binDir, 'etcd'), [
      '--name=default',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync',
      '--log-level=warn'
    ], etcdLog)
    children.push(etcd)
    await pollUntilReady({
      what: 'etcd', child: etcd, logFile: etcdLog, deadline,
      probe: () => httpGet(`${etcdUrl}/health`, 2_000)
    })

    // --- credentials
    const token = randomBytes(32).toString('hex')
    const tokenFile = join(dir, 'tokens.csv')
    await writeFile(tokenFile, `${token},admin,${randomUUID()},"system:masters"\n`, { mode: 0o600 })
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const saKey = join(dir, 'sa.key')
    const saPub = join(dir, 'sa.pub')
    await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
    await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }))
    const certDir = join(dir, 'certs')
    await mkdir(certDir)

    // --- kube-apiserver
    const apiserver = startProcess(join(binDir, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${securePort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // Since ~1.36 the default "lease" endpoint reconciler refuses a loopback advertise address
      // ("cannot use public IP 127.0.0.1 with endpoint reconciler"); nothing needs the endpoints.
      '--endpoint-reconciler-type=none',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokenFile}`,
      ...(options.extraApiServerArgs ?? [])
    ], apiserverLog)
    children.push(apiserver)
    await pollUntilReady({
      what: 'kube-apiserver', child: apiserver, logFile: apiserverLog, deadline,
      probe: () => httpsGet(`${server}/readyz?verbose`, token, 5_000)
    })

    // The self-signed serving cert is written as cert + CA; the last PEM block is the CA.
    const certPem = await readFile(join(certDir, 'apiserver.crt'), 'utf8')
    const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    const caPem = `${blocks.at(-1) ?? certPem}\n`

    const kubeconfig = join(dir, 'kubeconfig')
    await writeFile(kubeconfig, [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e',
      '  cluster:',
      `    server: ${server}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: admin',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: e2e',
      '  context:',
      '    cluster: e2e',
      '    user: admin',
      'current-context: e2e',
      ''
    ].join('\n'), { mode: 0o600 })

    const kubectlPath = resolveKubectl(binDir, options.kubectlPath)
    const baseArgs = [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'kube-cache')}`]
    const logs = { apiserver: apiserverLog, etcd: etcdLog }

    return {
      dir,
      kubeconfig,
      server,
      token,
      caPem,
      binDir,
      kubectlPath,
      etcdUrl,
      pids: { etcd: etcd.pid ?? -1, apiserver: apiserver.pid ?? -1 },
      kubectl: (args, opts) => runKubectl(kubectlPath, baseArgs, args, opts),
      logTail: (which = 'apiserver', lines = 40) => fileTail(logs[which], lines),
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

function crdName(text: string): string | undefined {
  for (const doc of parseAllDocuments(text)) {
    const obj: unknown = doc.toJS()
    if (typeof obj !== 'object' || obj === null) continue
    const { kind, metadata } = obj as { kind?: unknown; metadata?: { name?: unknown } }
    if (kind === 'CustomResourceDefinition' && typeof metadata?.name === 'string') return metadata.name
  }
  return undefined
}

/**
 * Applies test/fixtures/crd/actortemplates.ate.dev.yaml (or `file`) and waits until the CRD is
 * Established, i.e. the apiserver serves the resource.
 */
export async function installCrd(cluster: Cluster, file: string = CRD_FIXTURE, timeoutMs = 60_000): Promise<void> {
  const apply = await cluster.kubectl(['apply', '--server-side', '-f', file])
  if (apply.code !== 0) throw new Error(`kubectl apply -f ${file} failed (${String(apply.code)}): ${apply.stderr}${apply.stdout}`)
  const name = crdName(await readFile(file, 'utf8')) ?? CRD_NAME
  const wait = await cluster.kubectl(
    ['wait', '--for=condition=Established', `crd/${name}`, `--timeout=${Math.ceil(timeoutMs / 1000)}s`],
    { timeoutMs: timeoutMs + 10_000 })
  if (wait.code !== 0) throw new Error(`CRD ${name} not Established (${String(wait.code)}): ${wait.stderr}${wait.stdout}`)
}

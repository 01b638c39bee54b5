/**
 * The webhook as a separate process, started the way the container image starts it: `node --no-maglev
 * --memory-saver-mode dist/main.js serve …` (the Dockerfile's ENTRYPOINT, its node flags read from there) with the
 * Node 24 that runs the tests. Compiled JavaScript rather than `tsx src/main.ts`: no TypeScript loader in the process,
 * the same start-up path and timing as production.
 *
 *   const webhook = await startWebhook({ config: { registries: [...] }, tls, t })   // waits for /readyz
 *   webhook.admissions()                      // the JSON "admission" log lines so far
 *   await webhook.settledAdmissions()         // the same, once the log has been quiet for a moment
 *   await webhook.stop()                      // SIGTERM, like the kubelet
 *
 * The build goes to node_modules/.cache/atw-e2e/<hash of the sources>/dist, not to dist/: other work on the machine
 * may be building or running dist/ at the same moment. It runs once per source state, whichever test file gets
 * there first; the others reuse it.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { stringify } from 'yaml'
import { imageNodeFlags } from './image-node-flags.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CACHE = join(ROOT, 'node_modules', '.cache', 'atw-e2e')
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json']
/** Parent-death signal wrapper (as for the cluster and the registry): the webhook dies with the test process. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path))

export interface Teardown {
  teardown: (fn: () => unknown) => void
}

/** One line of the webhook's stdout: pino JSON, or `{ msg: <the raw line> }` for anything else. */
export interface LogLine {
  level?: number
  time?: number
  msg?: string
  [field: string]: unknown
}

export interface StartWebhookOptions {
  /** written as YAML and passed as --config */
  config?: Record<string, unknown>
  /** extra `serve` flags, e.g. ['--insecure-registry', '127.0.0.1:5000'] */
  args?: readonly string[]
  /** --host; default 127.0.0.1 */
  host?: string
  /** --port; default 0, the port comes from the "listening" log line */
  port?: number
  /** --tls-cert / --tls-key; omit when the config (or self-managed certificates) provides them */
  tls?: { certFile: string, keyFile: string }
  /** added to the environment, e.g. KUBECONFIG; ATW_* and KUBECONFIG of the caller are never inherited */
  env?: Record<string, string>
  /** until /readyz answers 200; default 60 s */
  readyTimeoutMs?: number
  /** registers stop() */
  t?: Teardown
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface WebhookProcess {
  pid: number
  host: string
  port: number
  /** https://host:port */
  url: string
  configFile: string | undefined
  logs: () => LogLine[]
  /** the one-per-admission log lines (msg "admission") */
  admissions: () => LogLine[]
  /**
   * admissions() once no line has arrived for `quietMs` (default 200) counted from this call. The webhook writes the
   * line before it answers, but this process reads the line from a pipe on its own schedule, so an answer (or the
   * kubectl that carried it) can reach the test first (seen once, under a 20,000-container body)
   */
  settledAdmissions: (quietMs?: number) => Promise<LogLine[]>
  stderr: () => string
  waitForLog: (predicate: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>
  /** GET /readyz without trusting any CA: this is about the process, the apiserver checks the certificate */
  readyz: () => Promise<{ status: number, body: string }>
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s). Idempotent. */
  stop: (graceMs?: number) => Promise<ExitStatus>
  exited: Promise<ExitStatus>
}

async function sourceFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort()
}

async function sourceHash (): Promise<string> {
  const hash = createHash('sha256')
  for (const file of [...await sourceFiles(join(ROOT, 'src')), ...BUILD_INPUTS.map((name) => join(ROOT, name))]) {
    hash.update(relative(ROOT, file)).update('\0').update(await readFile(file)).update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

let building: Promise<string> | undefined

/** Compiles src with tsconfig.build.json (what `npm run build` runs) once per source state; returns main.js. */
export function buildWebhook (): Promise<string> {
  building ??= (async () => {
    const key = await sourceHash()
    const out = join(CACHE, key)
    const main = join(out, 'dist', 'main.js')
    if (existsSync(main)) return main
    await mkdir(CACHE, { recursive: true })
    const staging = await mkdtemp(join(CACHE, `.${key}-`))
    try {
      await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p',
        join(ROOT, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')], { cwd: ROOT, timeout: 240_000 })
      // Package scope lookup stops at node_modules, so the compiled ESM needs its own "type": "module".
      await writeFile(join(staging, 'package.json'), '{ "type": "module", "private": true }\n')
      // Atomic publish; a concurrent build of the same sources may have won, and its output is as good.
      await rename(staging, out).catch(async (error: NodeJS.ErrnoException) => {
        if (!existsSync(main)) throw error
      })
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
    await pruneOldBuilds(key)
    return main
  })()
  building.catch(() => { building = undefined })
  return building
}

async function pruneOldBuilds (keep: string): Promise<void> {
  const hourAgo = Date.now() - 3_600_000
  for (const entry of await readdir(CACHE)) {
    if (entry === keep) continue
    const path = join(CACHE, entry)
    const { mtimeMs } = await stat(path)
    if (mtimeMs < hourAgo) await rm(path, { recursive: true, force: true })
  }
}

function parseLine (line: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(line)
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as LogLine
  } catch {
    // not JSON: kept as text below
  }
  return { msg: line }
}

function readyz (host: string, port: number): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port, path: '/readyz', method: 'GET', rejectUnauthorized: false, timeout: 2000, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error('readyz timed out')) })
    req.on('error', reject)
    req.end()
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function childEnv (extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([key]) => !key.startsWith('ATW_') && key !== 'KUBECONFIG')
  return { ...Object.fromEntries(inherited), ...extra }
}

/** The metrics listener on 127.0.0.1 and a free port unless the test chose one. */
function withEphemeralMetricsPort (config: Record<string, unknown>): Record<string, unknown> {
  const server = typeof config['server'] === 'object' && config['server'] !== null ? config['server'] : {}
  return { ...config, server: { metricsHost: '127.0.0.1', metricsPort: 0, ...server } }
}

export async function startWebhook (options: StartWebhookOptions = {}): Promise<WebhookProcess> {
  const main = await buildWebhook()
  const dir = await mkdtemp(join(tmpdir(), 'atw-webhook-'))
  const host = options.host ?? '127.0.0.1'
  const args = ['serve', '--host', host, '--port', String(options.port ?? 0)]
  let configFile: string | undefined
  if (options.config !== undefined) {
    configFile = join(dir, 'config.yaml')
    await writeFile(configFile, stringify(withEphemeralMetricsPort(options.config)))
    args.push('--config', configFile)
  } else {
    // Only the metrics listener needs a setting: its default, 9090, would collide between tests running in parallel.
    args.push('--config', join(dir, 'metrics-only.yaml'))
    await writeFile(join(dir, 'metrics-only.yaml'), stringify(withEphemeralMetricsPort({})))
  }
  if (options.tls !== undefined) args.push('--tls-cert', options.tls.certFile, '--tls-key', options.tls.keyFile)
  args.push(...options.args ?? [])

  const nodeArgs = [...imageNodeFlags(ROOT), main, ...args]
  const [command, argv] = SETPRIV === undefined
    ? [process.execPath, nodeArgs]
    : [SETPRIV, ['--pdeathsig', 'KILL', '--', process.execPath, ...nodeArgs]]
  const child: ChildProcess = spawn(command, argv, { cwd: dir, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: LogLine[] = []
  const waiters = new Set<() => void>()
  let lastLineAt = Date.now()
  let partial = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    for (const part of parts) if (part.trim() !== '') lines.push(parseLine(part))
    if (parts.length > 0) lastLineAt = Date.now()
    for (const wake of waiters) wake()
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake()
      resolve({ code, signal })
    })
  })
  let stopping: Promise<ExitStatus> | undefined
  const stop = (graceMs = 15_000): Promise<ExitStatus> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        const status = await exited
        clearTimeout(timer)
        await rm(dir, { recursive: true, force: true })
        return status
      }
      await rm(dir, { recursive: true, force: true })
      return await exited
    })()
    return stopping
  }
  options.t?.teardown(() => stop())

  const describe = (): string => `webhook stderr:\n${stderr.slice(-4000)}\nlast log lines:\n` +
    lines.slice(-20).map((line) => JSON.stringify(line)).join('\n')

  const waitForLog = async (predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = lines.find(predicate)
      if (found !== undefined) return found
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the webhook exited (${String(child.exitCode ?? child.signalCode)}) before the expected log line; ${describe()}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no matching webhook log line within ${timeoutMs} ms; ${describe()}`)
      await new Promise<void>((resolve) => {
        const wake = (): void => { waiters.delete(wake); clearTimeout(timer); resolve() }
        const timer = setTimeout(wake, Math.min(left, 250))
        waiters.add(wake)
      })
    }
  }

  try {
    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000
    const listening = await waitForLog((line) => line.msg === 'listening', readyTimeoutMs)
    const port = Number(new URL(String(listening['url'])).port)
    const deadline = Date.now() + readyTimeoutMs
    let last = 'no answer'
    for (;;) {
      try {
        const answer = await readyz(host, port)
        if (answer.status === 200) break
        last = `HTTP ${answer.status} ${answer.body}`
      } catch (error) {
        last = (error as Error).message
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the webhook exited while starting; ${describe()}`)
      if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${readyTimeoutMs} ms (last: ${last}); ${describe()}`)
      await sleep(200)
    }
    const urlHost = host.includes(':') ? `[${host}]` : host
    return {
      pid: child.pid ?? -1,
      host,
      port,
      url: `https://${urlHost}:${port}`,
      configFile,
      logs: () => [...lines],
      admissions: () => lines.filter((line) => line.msg === 'admission'),
      settledAdmissions: async (quietMs = 200) => {
        const calledAt = Date.now()
        for (;;) {
          const quietFor = Date.now() - Math.max(lastLineAt, calledAt)
          if (quietFor >= quietMs) return lines.filter((line) => line.msg === 'admission')
          await new Promise((resolve) => setTimeout(resolve, quietMs - quietFor))
        }
      },
      stderr: () => stderr,
      waitForLog,
      readyz: () => readyz(host, port),
      stop,
      exited
    }
  } catch (error) {
    await stop(2000)
    throw error
  }
}

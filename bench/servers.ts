import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TlsFiles } from '../test/support/tls.js'
import { imageNodeFlags, imageNodeOptions } from '../test/support/image-node-flags.js'
import { freePort, spawnChild, waitReady, type Child } from './processes.js'

/** The three webhooks the bench talks to, each a child process on loopback: ours, the floor, and k8s-digester. */

export interface Workspace {
  repoRoot: string
  dir: string
  /** the serving certificate all three webhooks present (SANs localhost, 127.0.0.1) */
  tls: TlsFiles
  /** compiled entry point: what `actortemplate-webhook` runs in production */
  ourMain: string
  digesterBinary: string
  /** extra node flags for our server, e.g. --cpu-prof (BENCH_PROFILE) */
  ourNodeArgs: string[]
}

export interface Running {
  child: Child
  origin: string
  /** ms from spawn() to the first 200 from the readiness endpoint */
  readyMs: number
  stop: () => Promise<void>
}

/** The parent's environment without anything that would change the child's behaviour behind the bench's back. */
export function cleanEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ATW_') || key.startsWith('TSX') || key === 'NODE_OPTIONS' || key.startsWith('npm_')) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

export async function startOurs (work: Workspace, name: string, config: Record<string, unknown>): Promise<Running> {
  const port = await freePort()
  const configFile = join(work.dir, `${name}.config.json`)
  await writeFile(configFile, JSON.stringify({
    ...config,
    server: { host: '127.0.0.1', port, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: work.tls.certFile, tlsKey: work.tls.keyFile, shutdownDelaySeconds: 0 }
  }))
  const child = spawnChild(name, process.execPath, [...imageNodeFlags(work.repoRoot), ...work.ourNodeArgs, work.ourMain, 'serve', '--config', configFile],
    join(work.dir, `${name}.log`), { env: cleanEnv({ NODE_OPTIONS: imageNodeOptions(work.repoRoot) }), cwd: work.dir })
  const origin = `https://127.0.0.1:${port}`
  const readyAt = await waitReady(child, { url: `${origin}/readyz`, ca: work.tls.caPem, intervalMs: 5 })
  return { child, origin, readyMs: readyAt - child.spawnedAt, stop: child.stop }
}

/**
 * Runs the project's tsc with `args`, emitting into `outDir`, which must sit under the repository (node_modules/.cache)
 * so the output resolves our dependencies. Package scope lookup stops at node_modules: the compiled ESM gets its own
 * package.json with "type": "module".
 */
export function compileTypeScript (repoRoot: string, args: readonly string[], outDir: string): void {
  execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), ...args, '--outDir', outDir],
    { cwd: repoRoot, stdio: 'inherit' })
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module", "private": true }\n')
}

let compiledFloor: string | undefined

/**
 * bench/floor-server.ts compiled to JavaScript once per process, as our server is, under node_modules/.cache (where
 * `fastify` resolves). Run through tsx's loader instead it held 12 MB more at idle (87 vs 75 MB), counted as the floor's.
 */
function floorMain (repoRoot: string): string {
  if (compiledFloor !== undefined) return compiledFloor
  const outDir = join(repoRoot, 'node_modules', '.cache', 'atw-bench-floor')
  compileTypeScript(repoRoot, [join(repoRoot, 'bench', 'floor-server.ts'), '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2023', '--strict', '--skipLibCheck'], outDir)
  compiledFloor = join(outDir, 'floor-server.js')
  return compiledFloor
}

/** The floor runs with the image's NODE_OPTIONS too: V8's default young generation held ~57 MB more at the warm peak. */
export async function startFloor (work: Workspace, responseFile: string): Promise<Running> {
  const port = await freePort()
  const child = spawnChild('floor', process.execPath, [...imageNodeFlags(work.repoRoot), floorMain(work.repoRoot),
    '--port', String(port), '--tls-cert', work.tls.certFile, '--tls-key', work.tls.keyFile, '--response', responseFile],
  join(work.dir, 'floor.log'), { env: cleanEnv({ NODE_OPTIONS: imageNodeOptions(work.repoRoot) }), cwd: work.repoRoot })
  const origin = `https://127.0.0.1:${port}`
  const readyAt = await waitReady(child, { url: `${origin}/readyz`, ca: work.tls.caPem })
  return { child, origin, readyMs: readyAt - child.spawnedAt, stop: child.stop }
}

export interface DigesterOptions {
  kubeconfig: string
  /** CA bundle the digester trusts for registries (Go reads SSL_CERT_FILE) */
  caFile?: string | undefined
  /** directory holding config.json with registry credentials (go-containerregistry reads DOCKER_CONFIG) */
  dockerConfigDir: string
  /** its log file's name in the work dir, for a second digester (default digester.log) */
  logName?: string
}

/**
 * k8s-digester's webhook command as its manifests run it, with two documented flags for a bench: --offline (no
 * imagePullSecrets look-ups through the apiserver per admission, which only flatters it) and
 * --disable-cert-rotation (our certificate from --cert-dir instead of a Secret it would create).
 */
export async function startDigester (work: Workspace, options: DigesterOptions): Promise<Running> {
  const [port, healthPort] = [await freePort(), await freePort()]
  const child = spawnChild('digester', work.digesterBinary, [
    'webhook', '--offline', '--disable-cert-rotation', `--cert-dir=${work.tls.dir}`, `--port=${port}`,
    `--health-addr=127.0.0.1:${healthPort}`, '--metrics-addr=0', `--kubeconfig=${options.kubeconfig}`
  ], join(work.dir, options.logName ?? 'digester.log'), {
    env: cleanEnv({
      DOCKER_CONFIG: options.dockerConfigDir,
      POD_NAMESPACE: 'digester-system',
      ...(options.caFile === undefined ? {} : { SSL_CERT_FILE: options.caFile })
    }),
    cwd: work.dir
  })
  const readyAt = await waitReady(child, { url: `http://127.0.0.1:${healthPort}/readyz` })
  return { child, origin: `https://127.0.0.1:${port}`, readyMs: readyAt - child.spawnedAt, stop: child.stop }
}

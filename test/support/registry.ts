/**
 * A real OCI registry on loopback for tests: Debian's docker-registry (CNCF distribution 2.8),
 * installed by scripts/install-test-deps.sh.
 *
 *   const reg = await startRegistry({ mode: 'token', t })   // t.teardown(reg.close) is registered
 *   await pushImage(reg, 'team/app', 'v1', layout)          // test/support/push.ts
 *   reg.resetRequests()
 *   ... exercise the client ...
 *   t.equal(reg.requests().filter((r) => r.method === 'HEAD').length, 1)
 *
 * Modes: 'http' (anonymous pull and push), 'basic' (htpasswd; one user may pull and push),
 * 'token' (distribution token auth against test/support/token-server.ts). TLS with a throw-away CA is
 * on by default for 'basic' and 'token' and off for 'http'; set `tls` to choose.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'
import { stringify } from 'yaml'
import { writeTlsFiles } from './tls.js'
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js'
import { exited, SETPRIV, waitForExit } from './child-process.js'
import { freePort } from './free-port.js'

export const REGISTRY_BINARY = process.env['ATW_DOCKER_REGISTRY'] ?? '/usr/bin/docker-registry'

export type RegistryMode = 'http' | 'basic' | 'token'

/** The part of a tap Test the fixtures use, so they can register their own cleanup. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface StartRegistryOptions<M extends RegistryMode = RegistryMode> {
  mode: M
  /** Serve HTTPS with a throw-away CA. Default: true for 'basic' and 'token', false for 'http'. */
  tls?: boolean
  /** The user who may pull and push (basic and token modes). Default 'atw-user' with a random password. */
  username?: string
  password?: string
  /** Token mode: passed to startTokenServer; `users` are added to the registry's user above. */
  tokenServer?: Omit<TokenServerOptions, 'tls' | 'issuer' | 'rootCertBundleFile'>
  /** Token mode: the registry's auth.token.service. Default 'atw-test-registry'. */
  service?: string
  /** Registers `close()` with this test's teardown. */
  t?: Teardown
  /** Per start. Default 15 s. */
  readyTimeoutMs?: number
  /** Keep the temp dir (config, log, storage) after close(). Default $ATW_KEEP_REGISTRY_DIR === '1'. */
  keepDir?: boolean
  /**
   * Another build of distribution that reads the same configuration (the bench's v3 comparison,
   * scripts/build-registry-v3.sh). Default REGISTRY_BINARY, Debian's docker-registry.
   */
  binary?: string
}

/** One request as the registry itself logged it ("response completed" lines of its JSON log). */
export interface RegistryRequest {
  method: string
  /** URI path without the query */
  path: string
  /** As logged: path and query */
  uri: string
  status: number
  /** RFC 3339 time the registry logged it */
  time: string
}

export interface Registry {
  mode: RegistryMode
  tls: boolean
  /** '127.0.0.1:PORT', what goes in an image reference */
  host: string
  port: number
  /** 'http://127.0.0.1:PORT' or 'https://127.0.0.1:PORT' (no trailing slash) */
  baseUrl: string
  /** Temp dir holding config.yml, registry.log, storage/, tls/, certs.d/ */
  dir: string
  configFile: string
  logFile: string
  /** TLS modes: the CA that signed the serving certificate (SANs 127.0.0.1, localhost) */
  caPem: string | undefined
  caFile: string | undefined
  /** TLS modes: a dir holding only ca.crt, for `skopeo --dest-cert-dir` / containers certs.d */
  certDir: string | undefined
  username: string | undefined
  password: string | undefined
  tokenServer: TokenServer | undefined
  /** Token mode: auth.token.service */
  service: string | undefined
  /** pid of the running registry process, undefined while stopped */
  pid(): number | undefined
  /** Stops the process (SIGTERM, then SIGKILL); storage is kept so restart() brings the same content back. */
  stop(): Promise<void>
  /** Starts the process again (stopping it first if running) on the same port with the same storage. */
  restart(): Promise<void>
  /** stop(), close the token server and remove the temp dir. Idempotent. */
  close(): Promise<void>
  /** Requests the registry completed since the last resetRequests(), oldest first. */
  requests(): RegistryRequest[]
  /**
   * The registry logs a request as its handler finishes, which can be a moment after the client has
   * the response: wait until `predicate` holds for the requests so far (default: at least one).
   */
  waitForRequests(predicate?: (requests: RegistryRequest[]) => boolean, timeoutMs?: number): Promise<RegistryRequest[]>
  resetRequests(): void
  logTail(lines?: number): Promise<string>
}

export interface AuthRegistry extends Registry {
  username: string
  password: string
}

export interface TokenRegistry extends AuthRegistry {
  tokenServer: TokenServer
  service: string
}

export type RegistryFor<M extends RegistryMode> = M extends 'token' ? TokenRegistry : M extends 'basic' ? AuthRegistry : Registry

// ---------------------------------------------------------------------------------------------
// Cleanup when the test process ends without close() (failed assertion, tap timeout, signal).

const liveProcesses = new Set<ChildProcess>()
const liveDirs = new Set<string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of liveProcesses) child.kill('SIGKILL')
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true })
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of liveProcesses) child.kill('SIGKILL')
      // Re-raise so the default action (or another handler) still ends the process.
      process.kill(process.pid, signal)
    })
  }
}

// ---------------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function registryEnv(): NodeJS.ProcessEnv {
  // distribution reads REGISTRY_* variables as config overrides; a stray one must not change the fixture.
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')))
}

function tailOf(text: string, lines: number): string {
  return text.split('\n').slice(-lines - 1).join('\n')
}

/** One GET /v2/ that resolves with the response (any status) or undefined on a connection error. */
function probe(baseUrl: string, caPem: string | undefined): Promise<IncomingMessage | undefined> {
  return new Promise((resolve) => {
    const url = new URL('/v2/', baseUrl)
    const options = {
      method: 'GET',
      agent: false as const,
      timeout: 1000,
      headers: { 'user-agent': PROBE_USER_AGENT },
      ...(caPem === undefined ? {} : { ca: caPem })
    }
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume()
      res.on('end', () => { resolve(res) })
      res.on('error', () => { resolve(undefined) })
    })
    req.on('timeout', () => { req.destroy() })
    req.on('error', () => { resolve(undefined) })
    req.end()
  })
}

/** Readiness probes carry this, so requests() leaves them out of the tests' counts. */
const PROBE_USER_AGENT = 'atw-registry-fixture-probe'

function parseRequests(text: string): RegistryRequest[] {
  const out: RegistryRequest[] = []
  const failedChecks = new Set<string>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    let entry: Record<string, unknown>
    try {
      entry = JSON.parse(line) as Record<string, unknown>
    } catch {
      continue
    }
    const method = entry['http.request.method']
    const uri = entry['http.request.uri']
    const status = entry['http.response.status']
    const msg = entry['msg']
    if (typeof method !== 'string' || typeof uri !== 'string' || typeof msg !== 'string') continue
    if (entry['http.request.useragent'] === PROBE_USER_AGENT) continue
    let code: number
    if (msg.startsWith('response completed') && typeof status === 'number') {
      code = status
    } else if (msg.startsWith('error authorizing context')) {
      // distribution 2.8 answers an auth challenge with 401 and logs only this warning, without a
      // status; a broken access controller would log "error checking authorization" first (400).
      code = failedChecks.has(String(entry['http.request.id'])) ? 400 : 401
    } else {
      if (msg.startsWith('error checking authorization')) failedChecks.add(String(entry['http.request.id']))
      // Other lines that mention a request come from inside a handler and would count it twice.
      continue
    }
    out.push({ method, uri, path: uri.split('?')[0] ?? uri, status: code, time: String(entry['time'] ?? '') })
  }
  return out
}

export async function startRegistry<M extends RegistryMode>(opts: StartRegistryOptions<M>): Promise<RegistryFor<M>> {
  installExitHook()
  const mode: RegistryMode = opts.mode
  const useTls = opts.tls ?? mode !== 'http'
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000
  const keepDir = opts.keepDir ?? process.env['ATW_KEEP_REGISTRY_DIR'] === '1'
  const binary = opts.binary ?? REGISTRY_BINARY
  if (!existsSync(binary)) {
    throw new Error(opts.binary === undefined
      ? `${binary} not found: run \`bash scripts/install-test-deps.sh\` (Debian package docker-registry)`
      : `${binary} not found`)
  }

  const dir = await mkdtemp(join(tmpdir(), 'atw-registry-'))
  liveDirs.add(dir)
  const configFile = join(dir, 'config.yml')
  const logFile = join(dir, 'registry.log')
  const storageDir = join(dir, 'storage')
  await mkdir(storageDir)

  const username = mode === 'http' ? undefined : (opts.username ?? 'atw-user')
  const password = mode === 'http' ? undefined : (opts.password ?? randomBytes(12).toString('base64url'))
  const service = mode === 'token' ? (opts.service ?? 'atw-test-registry') : undefined

  let caPem: string | undefined
  let caFile: string | undefined
  let certDir: string | undefined
  let tlsConfig: { certificate: string; key: string } | undefined
  let tokenServer: TokenServer | undefined
  let port = 0
  let child: ChildProcess | undefined
  let logOffset = 0
  let closed: Promise<void> | undefined

  const baseUrlFor = (p: number): string => `${useTls ? 'https' : 'http'}://127.0.0.1:${p}`

  try {
    let tokenTls: { certPem: string; keyPem: string } | undefined
    if (useTls) {
      const files = await writeTlsFiles(join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
      caPem = files.caPem
      caFile = files.caFile
      tlsConfig = { certificate: files.certFile, key: files.keyFile }
      // containers/image treats every *.key in a cert dir as a client key needing its *.cert, so the
      // CA gets a dir of its own.
      certDir = join(dir, 'certs.d')
      await mkdir(certDir)
      await writeFile(join(certDir, 'ca.crt'), caPem)
      // The token server shares the CA, so one trust root (and one --cert-dir) covers realm and registry.
      tokenTls = { certPem: files.certPem, keyPem: files.keyPem }
    }

    let auth: Record<string, unknown> | undefined
    if (mode === 'basic' && username !== undefined && password !== undefined) {
      const htpasswdFile = join(dir, 'htpasswd')
      // Cost 5 keeps each authenticated request cheap; distribution accepts any bcrypt cost ≥ 4.
      await writeFile(htpasswdFile, `${username}:${bcrypt.hashSync(password, 5)}\n`)
      auth = { htpasswd: { realm: 'atw-test-registry', path: htpasswdFile } }
    } else if (mode === 'token' && username !== undefined && password !== undefined) {
      const bundle = join(dir, 'token-root.pem')
      tokenServer = await startTokenServer({
        ...opts.tokenServer,
        // The registry's own user must stay valid: push() and the tests authenticate as it.
        users: { [username]: password, ...opts.tokenServer?.users },
        ...(tokenTls === undefined ? {} : { tls: tokenTls }),
        rootCertBundleFile: bundle
      })
      auth = {
        token: { realm: tokenServer.realm, service, issuer: tokenServer.issuer, rootcertbundle: bundle }
      }
    }

    const writeConfig = async (): Promise<void> => {
      const config = {
        version: 0.1,
        // accesslog is a second, non-JSON line per request on stdout; requests() reads the JSON lines.
        log: { level: 'info', formatter: 'json', accesslog: { disabled: true }, fields: { service: 'atw-test-registry' } },
        storage: {
          filesystem: { rootdirectory: storageDir },
          delete: { enabled: true },
          maintenance: { uploadpurging: { enabled: false } }
        },
        http: {
          addr: `127.0.0.1:${port}`,
          secret: randomBytes(16).toString('hex'),
          headers: { 'X-Content-Type-Options': ['nosniff'] },
          ...(tlsConfig === undefined ? {} : { tls: tlsConfig })
        },
        health: { storagedriver: { enabled: false } },
        ...(auth === undefined ? {} : { auth })
      }
      await writeFile(configFile, stringify(config))
    }

    const spawnRegistry = (): ChildProcess => {
      const fd = openSync(logFile, 'a')
      try {
        const [command, argv] = SETPRIV === undefined
          ? [binary, ['serve', configFile]]
          : [SETPRIV, ['--pdeathsig', 'KILL', '--', binary, 'serve', configFile]]
        // setpriv execs the binary, so the spawned pid IS the registry.
        const proc = spawn(command, argv, { stdio: ['ignore', fd, fd], env: registryEnv(), cwd: dir })
        liveProcesses.add(proc)
        proc.once('exit', () => liveProcesses.delete(proc))
        return proc
      } finally {
        closeSync(fd)
      }
    }

    const logSize = (): number => (existsSync(logFile) ? statSync(logFile).size : 0)

    /** 'ready', or 'in-use' when the port was taken, else throws. */
    const launch = async (): Promise<'ready' | 'in-use'> => {
      const startOffset = logSize()
      const proc = spawnRegistry()
      child = proc
      const deadline = Date.now() + readyTimeoutMs
      while (Date.now() < deadline) {
        if (exited(proc)) {
          const log = (await readFile(logFile, 'utf8')).slice(startOffset)
          if (/address already in use/.test(log)) return 'in-use'
          throw new Error(`docker-registry exited (${String(proc.exitCode ?? proc.signalCode)}):\n${tailOf(log, 20)}`)
        }
        const res = await probe(baseUrlFor(port), caPem)
        // Another process could own the port; only our registry sends this header.
        if (res?.headers['docker-distribution-api-version'] === 'registry/2.0' && !exited(proc)) return 'ready'
        await sleep(20)
      }
      proc.kill('SIGKILL')
      await waitForExit(proc, 2000)
      throw new Error(`docker-registry not ready within ${readyTimeoutMs} ms:\n${tailOf(await readFile(logFile, 'utf8'), 20)}`)
    }

    const stop = async (): Promise<void> => {
      const proc = child
      child = undefined
      if (proc === undefined || exited(proc)) return
      proc.kill('SIGTERM')
      if (!await waitForExit(proc, 3000)) {
        proc.kill('SIGKILL')
        await waitForExit(proc, 3000)
      }
    }

    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      await writeConfig()
      if (await launch() === 'ready') break
      if (attempt >= 5) throw new Error('docker-registry: no free port after 5 attempts')
    }

    const restart = async (): Promise<void> => {
      await stop()
      // The port is fixed now; if something grabbed it meanwhile, give it a moment to go away.
      for (let attempt = 1; ; attempt++) {
        if (await launch() === 'ready') return
        if (attempt >= 20) throw new Error(`docker-registry: port ${port} stayed in use after restart`)
        await sleep(100)
      }
    }

    const readRequests = (): RegistryRequest[] => {
      if (!existsSync(logFile)) return []
      return parseRequests(readFileSync(logFile).subarray(logOffset).toString('utf8'))
    }

    const registry: Registry = {
      mode,
      tls: useTls,
      host: `127.0.0.1:${port}`,
      port,
      baseUrl: baseUrlFor(port),
      dir,
      configFile,
      logFile,
      caPem,
      caFile,
      certDir,
      username,
      password,
      tokenServer,
      service,
      pid: () => (child === undefined || exited(child) ? undefined : child.pid),
      stop,
      restart,
      close() {
        closed ??= (async () => {
          await stop()
          await tokenServer?.close()
          if (!keepDir) {
            await rm(dir, { recursive: true, force: true })
            liveDirs.delete(dir)
          }
        })()
        return closed
      },
      requests: readRequests,
      async waitForRequests(predicate = (r) => r.length > 0, timeoutMs = 2000) {
        const deadline = Date.now() + timeoutMs
        for (;;) {
          const found = readRequests()
          if (predicate(found)) return found
          if (Date.now() >= deadline) {
            throw new Error(`registry requests did not match within ${timeoutMs} ms: ${JSON.stringify(found)}`)
          }
          await sleep(10)
        }
      },
      resetRequests() { logOffset = logSize() },
      async logTail(lines = 40) {
        return existsSync(logFile) ? tailOf(await readFile(logFile, 'utf8'), lines) : ''
      }
    }
    opts.t?.teardown(() => registry.close())
    return registry as RegistryFor<M>
  } catch (err) {
    if (child !== undefined && !exited(child)) {
      child.kill('SIGKILL')
      await waitForExit(child, 2000)
    }
    await tokenServer?.close()
    if (!keepDir) {
      await rm(dir, { recursive: true, force: true })
      liveDirs.delete(dir)
    }
    throw err
  }
}

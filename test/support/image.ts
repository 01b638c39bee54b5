/**
 * The webhook's container image for tests, built by scripts/image.sh (cached by the hash of its inputs, so only the
 * first caller on a machine waits), and containers run from it with the engine and flags that script chooses.
 *
 *   const image = await builtImage()                      // { id, baseRef, engine }
 *   const container = await startContainer(image, { args: ['--read-only'], publish: 8443, t })
 *   await engine(image, ['exec', container.id, 'id'])
 *
 * Tests never build anything themselves: a missing or stale image is the script's job.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCRIPT = `${ROOT}scripts/image.sh`
const run = promisify(execFile)

/** A cold build (stand-in base, then npm ci twice) took ~5 min on a loaded 2-core machine; a cached one takes ~1 s. */
export const BUILD_TIMEOUT_MS = 15 * 60 * 1000

export interface BuiltImage {
  /** the image ID `npm run image` printed */
  id: string
  /** the base image it was built on (scripts/build-base-image.sh) */
  baseRef: string
  /** `podman` or `docker` */
  kind: string
  /** the engine command with its global flags, e.g. ['podman', '--root', …] */
  engine: readonly string[]
  /** engine + `run` + what run needs on this machine (podman: explicit ulimits) */
  run: readonly string[]
}

export interface Teardown {
  teardown(fn: () => unknown): void
}

async function script (path: string, args: readonly string[], timeout: number): Promise<string> {
  try {
    const { stdout } = await run('bash', [path, ...args], { cwd: ROOT, timeout, maxBuffer: 16 * 1024 * 1024 })
    return stdout.trim()
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(`${path} ${args.join(' ')} failed:\n${stderr.split('\n').slice(-30).join('\n')}`, { cause: error })
  }
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '')

let built: Promise<BuiltImage> | undefined

/** Builds the image on first use (or finds it cached) and describes it. One build per process. */
export async function builtImage (): Promise<BuiltImage> {
  built ??= (async () => {
    const id = await script(SCRIPT, [], BUILD_TIMEOUT_MS)
    const baseRef = await script(`${ROOT}scripts/build-base-image.sh`, [], BUILD_TIMEOUT_MS)
    const engineArgs = lines(await script(SCRIPT, ['--print-engine'], 30_000))
    const runArgs = lines(await script(SCRIPT, ['--print-run'], 30_000))
    return { id, baseRef, kind: engineArgs[0] ?? '', engine: engineArgs, run: runArgs }
  })()
  return await built
}

/** `npm run image -- --push DESTINATION [--tls-verify=false]`: the digest reference it printed. */
export async function pushImage (destination: string, options: { tlsVerify: boolean }): Promise<string> {
  const args = ['--push', destination, ...(options.tlsVerify ? [] : ['--tls-verify=false'])]
  return await script(SCRIPT, args, BUILD_TIMEOUT_MS)
}

export interface EngineResult { code: number, stdout: string, stderr: string }

/** Runs the engine (with its global flags) and returns what it printed, whatever the exit code. */
export async function engine (image: BuiltImage, args: readonly string[], timeout = 120_000): Promise<EngineResult> {
  const [command = 'podman', ...flags] = image.engine
  try {
    const { stdout, stderr } = await run(command, [...flags, ...args], { timeout, maxBuffer: 64 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: unknown, stdout?: string, stderr?: string }
    if (typeof failed.code !== 'number') throw error
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

/** `run --rm` with the machine's run flags, to completion. */
export async function runOnce (image: BuiltImage, args: readonly string[], timeout = 120_000): Promise<EngineResult> {
  return await engine(image, [...image.run.slice(image.engine.length), '--rm', ...args], timeout)
}

/**
 * Networking that reaches only loopback: podman gives the container its own network namespace with a user-mode
 * stack (slirp4netns, no host bridge or NAT rules) and publishes the port on 127.0.0.1 alone; docker publishes its
 * bridge port on 127.0.0.1 alone.
 */
function network (image: BuiltImage): string[] {
  return image.kind === 'podman' ? ['--network', 'slirp4netns:allow_host_loopback=false'] : []
}

export interface Container {
  id: string
  /** the loopback port the container's `publish` port is reachable on */
  port: number
  logs(): Promise<string>
  stop(): Promise<void>
}

export interface StartOptions {
  /** run flags before the image (security options, mounts, env) */
  args: readonly string[]
  /** arguments after the image (appended to the ENTRYPOINT) */
  command?: readonly string[]
  /** the container port to publish on 127.0.0.1 */
  publish: number
  t: Teardown
}

/** Starts a detached container and registers its removal with the test's teardown. */
export async function startContainer (image: BuiltImage, options: StartOptions): Promise<Container> {
  const port = await freePort()
  const started = await engine(image, [
    ...image.run.slice(image.engine.length), '--detach', ...network(image), '--publish', `127.0.0.1:${port}:${options.publish}`,
    ...options.args, image.id, ...(options.command ?? [])
  ])
  const id = started.stdout.trim()
  if (started.code !== 0 || id === '') throw new Error(`${image.kind} run failed (${started.code}): ${started.stderr}`)
  let stopped = false
  const container: Container = {
    id,
    port,
    logs: async () => {
      const result = await engine(image, ['logs', id])
      return result.stdout + result.stderr
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      await engine(image, ['rm', '--force', ...(image.kind === 'podman' ? ['--time', '0'] : []), id])
    }
  }
  options.t.teardown(container.stop)
  return container
}

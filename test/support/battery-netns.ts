/**
 * A network namespace of the battery's own (issue 7), so SSRF tests can put real listeners on the addresses the
 * webhook must never contact (169.254.169.254, fe80::1) without touching the machine's network: the namespace has
 * only its loopback interface, holding those addresses, so nothing in it can reach anything else.
 *
 * Child processes run inside it with a private mount namespace whose /etc/hosts and /etc/resolv.conf are bind
 * mounts of files written here: names can resolve to link-local addresses without editing the machine's /etc/hosts,
 * and a stray DNS query would go to the namespace's own loopback.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Teardown } from './registry.js'

export interface Namespace {
  name: string
  /** Runs `command` inside the namespace with the given hosts file; resolves when it exits. */
  run: (command: readonly string[], options?: { cwd?: string, timeoutMs?: number, env?: NodeJS.ProcessEnv }) => Promise<{ code: number | null, stdout: string, stderr: string }>
}

async function ip (args: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve()
      else reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`))
    })
  })
}

export interface NamespaceOptions {
  /** CIDR addresses added to the namespace's loopback, e.g. 169.254.169.254/32, fe80::1/128 */
  addresses: readonly string[]
  /** /etc/hosts lines inside the namespace, e.g. ['169.254.169.254 evil.test'] */
  hosts: readonly string[]
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Namespaces left by a battery process that was killed before its teardown ran. */
async function removeStale (): Promise<void> {
  const listing = await new Promise<string>((resolve) => { execFile('ip', ['netns', 'list'], (_error, stdout) => { resolve(stdout) }) })
  for (const match of listing.matchAll(/^atw-battery-(\d+)-\d+/gm)) {
    if (!alive(Number(match[1]))) await ip(['netns', 'del', match[0]]).catch(() => {})
  }
}

/** Creates the namespace (root only) and deletes it at teardown. */
export async function createNamespace (t: Teardown, options: NamespaceOptions): Promise<Namespace> {
  await removeStale()
  const name = `atw-battery-${process.pid}-${Math.floor(Math.random() * 1e6)}`
  await ip(['netns', 'add', name])
  t.teardown(async () => { await ip(['netns', 'del', name]).catch(() => {}) })
  await ip(['-n', name, 'link', 'set', 'lo', 'up'])
  for (const address of options.addresses) await ip(['-n', name, 'addr', 'add', address, 'dev', 'lo'])

  const dir = await mkdtemp(join(tmpdir(), 'atw-netns-'))
  const hostsFile = join(dir, 'hosts')
  const resolvFile = join(dir, 'resolv.conf')
  await writeFile(hostsFile, ['127.0.0.1 localhost', '::1 localhost', ...options.hosts, ''].join('\n'))
  await writeFile(resolvFile, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n')

  const run: Namespace['run'] = async (command, runOptions = {}) => await new Promise((resolve, reject) => {
    const mountAndRun = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'
    const child = spawn('ip', ['netns', 'exec', name, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', mountAndRun, 'sh', hostsFile, resolvFile, ...command], {
      cwd: runOptions.cwd,
      env: runOptions.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    const timer = setTimeout(() => { child.kill('SIGKILL') }, runOptions.timeoutMs ?? 120_000)
    child.once('error', (error) => { clearTimeout(timer); reject(error) })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') })
    })
  })
  return { name, run }
}

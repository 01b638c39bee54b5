import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { freePort } from '../test/support/free-port.js'

export { freePort }

/**
 * Child processes under test. On a machine with two or more cores every server under test runs pinned to the last
 * core and the load generator keeps the others, so a server never competes with its own client for CPU
 * (BENCH_PIN=0 turns this off). Only loopback addresses are ever contacted.
 */

export interface Child {
  name: string
  process: ChildProcess
  pid: number
  /** performance.now() just before spawn() */
  spawnedAt: number
  logFile: string
  stop: () => Promise<void>
}

const pinCore = process.env['BENCH_PIN'] !== '0' && availableParallelism() >= 2 ? availableParallelism() - 1 : undefined

export function pinnedCore (): number | undefined {
  return pinCore
}

const live = new Set<ChildProcess>()
process.on('exit', () => { for (const child of live) child.kill('SIGKILL') })

function exited (child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** pin to the server core (default true) */
  pin?: boolean
}

export function spawnChild (name: string, command: string, args: readonly string[], logFile: string, options: SpawnOptions = {}): Child {
  const fd = openSync(logFile, 'a')
  const [file, argv] = (options.pin ?? true) && pinCore !== undefined
    ? ['taskset', ['-c', String(pinCore), command, ...args]]
    : [command, [...args]]
  const spawnedAt = performance.now()
  // taskset execs the command, so the pid is the server's own (its /proc status is what we read).
  const child = spawn(file, argv, { stdio: ['ignore', fd, fd], env: options.env ?? process.env, cwd: options.cwd })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`cannot start ${name}`)
  live.add(child)
  child.once('exit', () => live.delete(child))
  const stop = async (): Promise<void> => {
    if (exited(child)) return
    const done = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const killed = await Promise.race([done.then(() => true), sleep(5000).then(() => false)])
    if (!killed) {
      child.kill('SIGKILL')
      await done
    }
  }
  return { name, process: child, pid: child.pid, spawnedAt, logFile, stop }
}

/** Peak and current resident set of a live process, from the kernel's own accounting (VmHWM, VmRSS). */
export function memoryOf (pid: number): { peakMb: number, rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 }
}

/** CPU seconds a live process has used so far in user and in system mode, from /proc/<pid>/stat. */
export function cpuTimesOf (pid: number): { user: number, system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is parenthesised and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(fields[11]) / clockTicks, system: Number(fields[12]) / clockTicks }
}

/** CPU seconds (user + system) a live process has used so far. */
export function cpuSecondsOf (pid: number): number {
  const { user, system } = cpuTimesOf(pid)
  return user + system
}

// USER_HZ; 100 on every Linux this runs on (sysconf(_SC_CLK_TCK) is not reachable from Node).
const clockTicks = 100

export interface ReadyProbe {
  url: string
  ca?: string
  intervalMs?: number
  timeoutMs?: number
}

/** Polls until `url` answers 200; returns performance.now() of that answer. Throws with the log tail on failure. */
export async function waitReady (child: Child, probe: ReadyProbe): Promise<number> {
  const agent = new Agent({ connect: { ...(probe.ca === undefined ? {} : { ca: probe.ca }), servername: 'localhost' }, pipelining: 0 })
  const deadline = performance.now() + (probe.timeoutMs ?? 30_000)
  try {
    while (performance.now() < deadline) {
      if (exited(child.process)) throw new Error(`${child.name} exited (${String(child.process.exitCode ?? child.process.signalCode)}); see ${child.logFile}:\n${tail(child.logFile)}`)
      try {
        const response = await request(probe.url, { dispatcher: agent, reset: true, headersTimeout: 1000, bodyTimeout: 1000 })
        await response.body.dump()
        if (response.statusCode === 200) return performance.now()
      } catch {
        // not listening yet
      }
      await sleep(probe.intervalMs ?? 10)
    }
    throw new Error(`${child.name} not ready at ${probe.url} within ${probe.timeoutMs ?? 30_000} ms; see ${child.logFile}:\n${tail(child.logFile)}`)
  } finally {
    await agent.close()
  }
}

function tail (file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

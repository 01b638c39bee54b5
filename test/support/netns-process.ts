/**
 * Processes inside a network namespace the tests made. `nsenter --net` changes only the network namespace, unlike
 * `ip netns exec`, which also gives each process a mount namespace of its own: the kubelet's volume mounts must be
 * visible to containerd and to teardown (../shared/docs/real-node.md, "Network").
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { exited, SETPRIV, waitForExit } from './child-process.js'

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  input?: string
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

function inNetns (netnsPath: string, command: readonly string[]): string[] {
  return ['nsenter', `--net=${netnsPath}`, '--', ...command]
}

/**
 * Starts a daemon in the namespace, stdout and stderr appended to `logFile`. setpriv's parent-death signal kills it
 * even if the test process is SIGKILLed; setpriv and nsenter both exec, so the pid is the daemon's own.
 */
export function startInNetns (netnsPath: string, command: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const fd = openSync(logFile, 'a')
  try {
    const argv = [...(SETPRIV === undefined ? [] : [SETPRIV, '--pdeathsig', 'KILL', '--']), ...inNetns(netnsPath, command)]
    const [file, ...args] = argv as [string, ...string[]]
    return spawn(file, args, { stdio: ['ignore', fd, fd], env: { ...env, GOTRACEBACK: 'all' } })
  } finally {
    closeSync(fd)
  }
}

/** Runs a command in the namespace to completion. Never rejects for a non-zero exit; check `code`. */
export async function runInNetns (netnsPath: string, command: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return await run(inNetns(netnsPath, command), opts)
}

/** Runs a command on the machine (not in the namespace) to completion. */
export async function run (command: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = command as [string, ...string[]]
  return await new Promise((resolve, reject) => {
    const child = execFile(file, args, {
      timeout: opts.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
      env: opts.env ?? process.env
    }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code === 'string') {
        reject(new Error(`cannot run ${command.join(' ')}: ${error.message}`))
        return
      }
      resolve({ code: child.exitCode, stdout, stderr })
    })
    child.stdin?.on('error', () => { /* the command may exit before reading stdin */ })
    child.stdin?.end(opts.input ?? '')
  })
}

/** Like run(), but rejects with the output when the exit code is not 0. */
export async function mustRun (command: readonly string[], opts: RunOptions = {}): Promise<string> {
  const result = await run(command, opts)
  if (result.code !== 0) throw new Error(`${command.join(' ')} exited ${String(result.code)}: ${result.stderr.trim()}${result.stdout.trim()}`)
  return result.stdout
}

/**
 * SIGTERM, then SIGKILL after `graceMs`: kube-apiserver can ignore SIGTERM for more than 20 s (real-node.md), and a
 * test should not wait for that.
 */
export async function stopProcess (child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (exited(child)) return
  child.kill('SIGTERM')
  if (await waitForExit(child, graceMs)) return
  child.kill('SIGKILL')
  await waitForExit(child, 10_000)
}

/**
 * The one way tests get what scripts/ builds and caches (cluster and node binaries, the pause image): run the script
 * once per process and take the path it prints as its last stdout line. Tests never build things themselves.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const running = new Map<string, Promise<string>>()

/** `scripts/<script>`'s last stdout line; its progress (stderr) is passed through so a first, slow build is visible. */
export function scriptOutput (script: string): Promise<string> {
  const known = running.get(script)
  if (known !== undefined) return known
  const promise = new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', script)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      process.stderr.write(d)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').at(-1)?.trim()
      if (code === 0 && last !== undefined && last !== '') resolve(last)
      else reject(new Error(`scripts/${script} failed (code ${String(code)}, signal ${String(signal)}):\n${stderr.split('\n').slice(-40).join('\n')}`))
    })
  })
  // A failed build is not remembered: the next caller tries again.
  promise.catch(() => { running.delete(script) })
  running.set(script, promise)
  return promise
}

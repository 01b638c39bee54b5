import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'

/** `setpriv --pdeathsig KILL` makes a fixture server die with the test process, even on SIGKILL (util-linux). */
export const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path))

export function exited (child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** Resolves true once the child has exited, false if it is still running after `timeoutMs`. */
export async function waitForExit (child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return true
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

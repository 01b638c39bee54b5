/**
 * promtool (scripts/build-promtool.sh, built once from the Go module proxy and cached) run to completion: its exit code
 * and everything it printed, since a failing `promtool test rules` explains itself on stdout.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { scriptOutput } from './build-script.js'

export interface PromtoolRun { code: number, output: string }

const binary = scriptOutput('build-promtool.sh')

export async function promtool (args: readonly string[]): Promise<PromtoolRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(await binary, [...args], { maxBuffer: 8 << 20 })
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const failed = error as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

import type { Io } from '../../src/cli/usage.js'

/** An Io that records what a command prints, with optional stdin. */
export function captureIo (stdin = ''): Io & { out: () => string, err: () => string } {
  let out = ''
  let err = ''
  return {
    stdout: (text) => { out += text },
    stderr: (text) => { err += text },
    readStdin: async () => stdin,
    out: () => out,
    err: () => err
  }
}

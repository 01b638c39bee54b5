import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Exit codes shared by every command: CI pipelines branch on them. */
export const ExitCode = { ok: 0, rejected: 1, usage: 2 } as const

export class UsageError extends Error {}

export interface Io {
  stdout: (text: string) => void
  stderr: (text: string) => void
  readStdin: () => Promise<string>
}

export const processIo: Io = {
  stdout: (text) => { process.stdout.write(text) },
  stderr: (text) => { process.stderr.write(text) },
  readStdin: async () => {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
}

/** node:util parseArgs, with its TypeErrors turned into usage errors. */
export function parseCommandArgs<T extends ParseArgsConfig['options']> (args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/** A deadline in seconds: more than 0 (0 would expire before the first request) and at most 300. */
export function secondsOption (value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const seconds = value.trim() === '' ? Number.NaN : Number(value)
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300) {
    throw new UsageError(`--${name} must be a number of seconds greater than 0 and at most 300 (for example 0.5 or 300), not ${JSON.stringify(value)}`)
  }
  return seconds
}

/** pin and resolve: the developer's own registry logins (src/registry/credentials-developer.ts), unless told not to. */
export const dockerConfigHelp = `The logins of $DOCKER_CONFIG/config.json, else ~/.docker/config.json, are used (auths, credHelpers and
credsStore through docker-credential-<name>, as docker does) after the config's own; --no-docker-config leaves them out.`

import { readFile } from 'node:fs/promises'

/** The version in package.json: two levels up from src/cli and from dist/cli alike, and the image ships package.json. */
export async function packageVersion (): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8')
  const { version } = JSON.parse(text) as { version?: unknown }
  if (typeof version !== 'string') throw new Error('package.json has no version')
  return version
}

/** `--version` anywhere before a `--` terminator, on any command or none. */
export function wantsVersion (argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--version')
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * How the container image runs node, read from the Dockerfile, so the bench and the tests' webhook processes run
 * our server the way it ships: `ENV NODE_OPTIONS="…"` (heap limits) and the ENTRYPOINT's node flags (V8 flags that
 * NODE_OPTIONS refuses).
 */

function dockerfile (repoRoot: string): string {
  return readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
}

export function imageNodeOptions (repoRoot: string): string {
  return /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile(repoRoot))?.[1] ?? ''
}

/** `["node", "--flag", …, "dist/main.js", …]` → the flags between node and the script */
export function imageNodeFlags (repoRoot: string): string[] {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile(repoRoot))?.[1]
  const args = entrypoint === undefined ? [] : JSON.parse(entrypoint) as string[]
  const script = args.findIndex((arg, index) => index > 0 && !arg.startsWith('-'))
  return args.slice(1, script === -1 ? args.length : script)
}

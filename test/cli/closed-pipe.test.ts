import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// `actortemplate-webhook check … | head -1`: the reader leaves early; the CLI must stop quietly, not crash on EPIPE.
const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('a closed stdout ends the command without a crash', async (t) => {
  const files = Array.from({ length: 200 }, () => 'examples/bad.yaml')
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'check', ...files], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  child.stdout.once('data', () => { child.stdout.destroy() })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  t.notMatch(stderr, /Unhandled 'error' event|EPIPE/, 'no crash report')
  t.ok(code === 0 || code === 1, `exit code ${String(code)} is one of ours`)
})

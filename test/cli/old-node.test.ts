import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import ts from 'typescript'

// Issue 15 §4: `node dist/main.js` on the machine's Node 20 stops at once with what to do, not a TypeError later.
// The entry is compiled alone, as tsc emits it for dist/ (an ES module; the package is "type": "module"): if Node 20 could not parse it, or it imported anything
// before the check, this run would fail differently (the rest of the CLI is deliberately absent next to it).
const oldNode = '/usr/bin/node'

function majorOf (node: string): number | undefined {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' })
  return result.status === 0 ? Number(/^v(\d+)\./.exec(result.stdout)?.[1]) : undefined
}

const major = existsSync(oldNode) ? majorOf(oldNode) : undefined

t.test('the entry on Node older than 24 names the version and the way to run it, exit 2', { skip: major === undefined || major >= 24 ? `${oldNode} is not a Node older than 24` : false }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-old-node-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const source = await readFile(new URL('../../src/main.ts', import.meta.url), 'utf8')
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2024 } })
  await writeFile(join(dir, 'main.js'), outputText)
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n')
  for (const args of [['--help'], ['check', 'x.yaml'], ['--version']]) {
    const result = spawnSync(oldNode, [join(dir, 'main.js'), ...args], { encoding: 'utf8' })
    t.equal(result.status, 2, args.join(' '))
    t.match(result.stderr, new RegExp(`^actortemplate-webhook needs Node 24 or newer \\(found ${major ?? ''}\\.\\d+\\.\\d+\\); run it through npm run cli or the image\\n$`))
    t.equal(result.stdout, '')
  }
})

t.test('on this Node (24) the same entry goes on to load the CLI', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--help'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' })
  t.equal(result.status, 0)
  t.match(result.stdout, /^usage: actortemplate-webhook <command>/)
  t.equal(result.stderr, '')
})

import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// Issue 15 §3: `--version` on every command prints package.json's version and exits 0.
const root = fileURLToPath(new URL('../..', import.meta.url))
const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

t.test('--version alone and on every command, whatever else is given', async (t) => {
  const cases = [
    ['--version'],
    ['check', '--version'],
    ['check', 'nonexistent.yaml', '--version'],
    ['pin', '--version'],
    ['resolve', '--version'],
    ['certs', '--version'],
    ['serve', '--version'],
    ['nonsense', '--version']
  ]
  for (const argv of cases) {
    const io = captureIo()
    t.equal(await main(argv, io), 0, argv.join(' '))
    t.equal(io.out(), `${version}\n`, argv.join(' '))
    t.equal(io.err(), '')
  }
})

t.test('after -- it is a file name, not the option', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--', '--version'], io), 2)
  t.match(io.err(), /cannot read --version/)
})

t.test('a real process prints the version and exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--version'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  t.equal(code, 0)
  t.equal(stdout, `${version}\n`)
})

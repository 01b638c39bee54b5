import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// Issue 15 §3: what `check` and `pin` read: `-`, directories walked, multi-document YAML, and nothing to check is exit 2.

async function scratch (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-inputs-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

t.test('a directory is walked: *.yaml, *.yml and *.json, recursive, in sorted order; other files ignored', async (t) => {
  const dir = await scratch(t)
  await mkdir(join(dir, 'b', 'deeper'), { recursive: true })
  await cp('examples/agent.yaml', join(dir, 'b', 'deeper', 'one.yml'))
  await cp('examples/pinned.yaml', join(dir, 'a.yaml'))
  await cp('examples/bad.yaml', join(dir, 'b', 'bad.txt'))
  const json = ({ apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { name: 'from-json' }, spec: { pauseImage: 'pause:3.10', containers: [{ name: 'agent', image: 'a:1' }] } })
  await writeFile(join(dir, 'b', 'c.json'), JSON.stringify(json))
  const io = captureIo()
  t.equal(await main(['check', dir], io), 0, 'bad.txt is not read')
  const heads = io.out().split('\n').filter((line) => !line.startsWith('  ') && line !== '')
  t.same(heads, [
    `${join(dir, 'a.yaml')}: ActorTemplate team-a/pinned: admissible`,
    `${join(dir, 'b', 'c.json')}: ActorTemplate from-json: admissible`,
    `${join(dir, 'b', 'deeper', 'one.yml')}: ActorTemplate team-a/agent: admissible`
  ])
})

t.test('a directory with no manifest file, and inputs with no ActorTemplate at all, exit 2 with a message', async (t) => {
  const dir = await scratch(t)
  const empty = captureIo()
  t.equal(await main(['check', dir], empty), 2)
  t.match(empty.err(), `${dir}: a directory with no *.yaml, *.yml or *.json file`)
  await writeFile(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n')
  const other = captureIo()
  t.equal(await main(['check', dir], other), 2)
  t.match(other.out(), /ns\.yaml: not an ActorTemplate \(Namespace\): skipped/)
  t.match(other.err(), /^no ActorTemplate \(apiVersion ate\.dev\/v1alpha1, kind ActorTemplate\) found in .*ns\.yaml\n$/)
  const json = captureIo()
  t.equal(await main(['check', '--output', 'json', dir], json), 2)
  t.match(JSON.parse(json.out()), { kind: 'Namespace', verdict: 'skipped' })
  const pin = captureIo('')
  t.equal(await main(['pin', '-'], pin), 2, 'pin too: nothing to pin is not success')
  t.match(pin.err(), /no ActorTemplate .* found in stdin/)
  t.equal(pin.out(), '')
})

t.test('stdin and multi-document YAML, also mixed with files', async (t) => {
  const io = captureIo(await readFile('examples/local-agent.yaml', 'utf8'))
  t.equal(await main(['check', 'examples/agent.yaml', '-'], io), 0)
  t.match(io.out(), /^examples\/agent\.yaml: ActorTemplate team-a\/agent: admissible\n/)
  t.match(io.out(), /\n-#1: not an ActorTemplate \(Namespace\): skipped\n/)
  t.match(io.out(), /\n-#2: ActorTemplate team-a\/local-agent: admissible\n/)
  t.match(io.out(), /\n-#3: ActorTemplate team-a\/local-agent-microvm: admissible\n/)
})

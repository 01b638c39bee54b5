import { chmod, copyFile, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { main } from '../../src/cli/main.js'
import { buildDockerManifestList, buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry, type Registry } from '../support/registry.js'
import { captureIo } from './io.js'

// `pin` on the repo's multi-document example against a real registry. The example names kind's local registry
// (localhost:5001); the config points that name at the test registry with `mirror`, the way the dev overlay does.

interface Seeded { registry: Registry, dir: string, configFile: string, digests: { pause: string, agent: string, tools: string } }

async function seed (t: Test): Promise<Seeded> {
  const registry = await startRegistry({ mode: 'http', t })
  const [pause, agent, tools] = await Promise.all([
    push(registry, buildOciIndex(), 'pause', '3.10'),
    push(registry, buildOciImage(), 'acme/agent', 'dev'),
    push(registry, buildDockerManifestList(), 'acme/tools', 'latest')
  ])
  const dir = await mkdtemp(join(tmpdir(), 'atw-pin-'))
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, `registries:\n  - host: localhost:5001\n    insecure: true\n    mirror: ${registry.baseUrl}\n`)
  return { registry, dir, configFile, digests: { pause: pause.digest, agent: agent.digest, tools: tools.digest } }
}

function expectedPinned (original: string, digests: Seeded['digests']): string {
  return original
    .replaceAll('localhost:5001/pause:3.10', `localhost:5001/pause:3.10@${digests.pause}`)
    .replaceAll('localhost:5001/acme/agent:dev', `localhost:5001/acme/agent:dev@${digests.agent}`)
    .replace('"localhost:5001/acme/tools"', `"localhost:5001/acme/tools:latest@${digests.tools}"`)
}

t.test('pins the multi-document example: only image values change, comments, quotes and other documents stay', async (t) => {
  const { registry, dir, configFile, digests } = await seed(t)
  const original = await readFile('examples/local-agent.yaml', 'utf8')
  const file = join(dir, 'local-agent.yaml')
  await copyFile('examples/local-agent.yaml', file)
  await chmod(file, 0o640)

  registry.resetRequests()
  const io = captureIo()
  t.equal(await main(['pin', '--config', configFile, file], io), 0, io.err())
  t.equal(io.out(), expectedPinned(original, digests), 'stdout is the file with pinned images, byte for byte otherwise')
  const heads = (await registry.waitForRequests((requests) => requests.length >= 3)).filter((request) => request.method === 'HEAD')
  t.equal(heads.length, 3, 'three distinct tags, each asked once although agent and pause appear twice')
  t.match(io.err(), new RegExp(`#2: ActorTemplate team-a/local-agent: spec\\.containers\\[1\\]\\.image: localhost:5001/acme/tools pinned to ${digests.tools.slice(0, 19)}… \\(index\\)`))
  t.equal(await readFile(file, 'utf8'), original, 'without --in-place the file is untouched')

  const inPlace = captureIo()
  t.equal(await main(['pin', '--in-place', '--config', configFile, file], inPlace), 0)
  t.equal(await readFile(file, 'utf8'), io.out(), '--in-place writes the same text')
  t.equal((await stat(file)).mode & 0o777, 0o640, 'and keeps the file mode')
  t.match(inPlace.out(), /team-a\/local-agent-microvm: spec\.pauseImage: localhost:5001\/pause:3\.10 pinned to/)

  registry.resetRequests()
  const again = captureIo()
  t.equal(await main(['pin', '--in-place', '--config', configFile, file], again), 0)
  t.equal(again.out(), '', 'nothing left to pin')
  t.equal(await readFile(file, 'utf8'), io.out(), 'pinned references are never rewritten')
  t.same(registry.requests(), [], 'and the registry is not asked')
})

t.test('JSON input keeps its formatting; stdin works', async (t) => {
  const { configFile, digests } = await seed(t)
  const template = { apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { name: 'j' }, spec: { pauseImage: 'localhost:5001/pause:3.10', containers: [{ name: 'a', image: 'localhost:5001/acme/agent:dev' }], snapshotsConfig: { location: 'gs://b/' } } }
  const text = `${JSON.stringify(template, null, 4)}\n`
  const io = captureIo(text)
  t.equal(await main(['pin', '--config', configFile, '-'], io), 0, io.err())
  const expected = text.replace('"localhost:5001/pause:3.10"', `"localhost:5001/pause:3.10@${digests.pause}"`)
    .replace('"localhost:5001/acme/agent:dev"', `"localhost:5001/acme/agent:dev@${digests.agent}"`)
  t.equal(io.out(), expected)
  t.same(JSON.parse(io.out()).spec.containers[0].image, `localhost:5001/acme/agent:dev@${digests.agent}`)
})

t.test('a tag that does not exist: exit 1, the registry answer on stderr, nothing written', async (t) => {
  const { dir, configFile } = await seed(t)
  const file = join(dir, 'moved.yaml')
  const original = (await readFile('examples/local-agent.yaml', 'utf8')).replace("'localhost:5001/acme/agent:dev'", "'localhost:5001/acme/agent:1.5'")
  await writeFile(file, original)
  const io = captureIo()
  t.equal(await main(['pin', '--in-place', '--config', configFile, file], io), 1)
  t.match(io.err(), /#2: ActorTemplate team-a\/local-agent: spec\.containers\[0\]\.image: cannot pin localhost:5001\/acme\/agent:1\.5: (registry )?localhost:5001 answered 404 MANIFEST_UNKNOWN/)
  t.match(io.err(), /check the repository and tag, or push the image first/)
  t.match(io.err(), /nothing was written\n$/)
  t.equal(await readFile(file, 'utf8'), original)
})

t.test('usage errors exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['pin', '--in-place', '-'], /--in-place cannot write to stdin/],
    [['pin'], /give at least one file/],
    [['pin', '--timeout', 'soon', 'x.yaml'], /--timeout must be a number of seconds/],
    [['pin', '--config', '/nonexistent.yaml', 'x.yaml'], /cannot read config file \/nonexistent\.yaml/]
  ]
  for (const [args, message] of cases) {
    const io = captureIo()
    t.equal(await main(args, io), 2, args.join(' '))
    t.match(io.err(), message)
  }
})

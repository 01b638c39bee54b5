import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from '../cli/io.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'

// Issue 16 §3: the offline commands accept a config with resolver.staleIfErrorSeconds (the same file as the server's)
// but never answer with a stale digest: a one-shot process asks each lookup once, so it has nothing earlier to fall
// back to. Against the real registry, up and then stopped.

t.test('resolve and pin with staleIfErrorSeconds: pinned while the registry is up, failing once it is stopped', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  const image = buildOciIndex()
  await push(registry, image, 'team/app', 'latest')
  const dir = await mkdtemp(join(tmpdir(), 'atw-stale-cli-'))
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, `resolver:\n  staleIfErrorSeconds: 600\n  burstWindowMs: 0\nregistries:\n  - host: ${registry.host}\n    insecure: true\n`)
  const template = join(dir, 'template.yaml')
  await writeFile(template, `apiVersion: ate.dev/v1alpha1\nkind: ActorTemplate\nmetadata:\n  name: agent\nspec:\n  pauseImage: ${registry.host}/team/app\n  containers:\n    - name: agent\n      image: ${registry.host}/team/app:latest\n`)
  // Two spellings of one lookup: answered by one registry call, never one from the other's earlier answer.
  const references = [`${registry.host}/team/app`, `${registry.host}/team/app:latest`]

  const up = captureIo()
  t.equal(await main(['resolve', '--config', configFile, '--timeout', '10', ...references], up), 0, up.err())
  t.equal(up.out(), `${registry.host}/team/app:latest@${image.digest}\n${registry.host}/team/app:latest@${image.digest}\n`)
  const pinnedUp = captureIo()
  t.equal(await main(['pin', '--config', configFile, '--timeout', '10', template], pinnedUp), 0, pinnedUp.err())
  t.match(pinnedUp.out(), `image: ${registry.host}/team/app:latest@${image.digest}`)
  t.notMatch(pinnedUp.err(), / ago: /, 'no stale warning')

  await registry.stop()
  const down = captureIo()
  t.equal(await main(['resolve', '--config', configFile, '--timeout', '10', ...references], down), 1, 'exit 1: no stale answer')
  t.equal(down.out(), '')
  t.match(down.err(), /connection refused/)
  const pinnedDown = captureIo()
  t.equal(await main(['pin', '--config', configFile, '--timeout', '10', template], pinnedDown), 1, 'exit 1: no stale answer')
  t.equal(pinnedDown.out(), '')
  t.match(pinnedDown.err(), /connection refused[\s\S]*nothing was written/)
})

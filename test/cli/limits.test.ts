import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// Issue 13 §1 offline: `check` and `pin` share the core, so they refuse a template over the CRD's limits the same way,
// and `pin` asks no registry for any of its references.

t.test('check and pin refuse 3,000 containers before any lookup', async (t) => {
  let requests = 0
  const registry = createServer((_request, response) => { requests++; response.writeHead(404).end() })
  registry.listen(0, '127.0.0.1')
  await once(registry, 'listening')
  t.teardown(() => { registry.close() })
  const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`

  const dir = await mkdtemp(join(tmpdir(), 'atw-limits-'))
  const file = join(dir, 'huge.yaml')
  await writeFile(file, stringify({
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name: 'huge', namespace: 'team-a' },
    spec: {
      pauseImage: `${host}/pause:3.10`,
      containers: Array.from({ length: 3000 }, (_unused, index) => ({ name: `c${index}`, image: `${host}/hostile/c${index}:v1` }))
    }
  }))

  const checked = captureIo()
  t.equal(await main(['check', file], checked), 1, 'check: rejected')
  t.equal(checked.out(), `${file}: ActorTemplate team-a/huge: would be rejected (1 problem)\n  spec.containers: 3000 containers; at most 10\n`)

  const pinned = captureIo()
  t.equal(await main(['pin', '--insecure-registry', host, file], pinned), 1, 'pin: rejected')
  t.equal(pinned.err(), `${file}: ActorTemplate team-a/huge: spec.containers: 3000 containers; at most 10\nnothing was written\n`)
  t.equal(requests, 0, 'no request reached the registry')

  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, 'admission:\n  maxContainers: 5000\n  maxImageReferences: 5001\n')
  const relaxed = captureIo()
  t.equal(await main(['check', '--config', configFile, file], relaxed), 0, 'check --config: the configured limits apply')
})

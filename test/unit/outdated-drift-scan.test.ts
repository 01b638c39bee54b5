import t from 'tap'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { DriftScanner, type DriftScanResult } from '../../src/outdated/drift-scan.js'
import { FakeResolver, pinnedAnswer } from '../fixtures/fake-resolver.js'

// issue 18, optional in-cluster report: the periodic scan over the same core as the CLI, with a fake list and resolver.

const key = 'ate.dev/pinned-images'
const old = `sha256:${'a'.repeat(64)}`
const now = `sha256:${'b'.repeat(64)}`

function template (namespace: string, name: string, pause: string, images: string[]): Record<string, unknown> {
  return { apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { namespace, name }, spec: { pauseImage: pause, containers: images.map((image, index) => ({ name: `c${index}`, image })) } }
}

const templates = [
  template('team-a', 'agent', `r.example/pause:3@${old}`, [`r.example/app:1@${old}`, `r.example/x@${old}`]),
  template('team-b', 'worker', `r.example/pause:3@${old}`, [`down.example/y:2@${old}`])
]
const resolver = (): FakeResolver => new FakeResolver((reference) => {
  if (reference === 'r.example/pause:3') return pinnedAnswer(reference, old)
  if (reference === 'r.example/app:1') return pinnedAnswer(reference, now)
  return { ok: false, original: reference, error: new RegistryError(ErrorCode.registryUnreachable, 'refused', { registry: 'down.example', repository: 'y', reference: '2' }) }
})

t.test('one scan: gauges for moved and current images, failures counted, each tag asked once', async (t) => {
  const published: DriftScanResult[] = []
  const fake = resolver()
  const scanner = new DriftScanner({ list: async () => templates, resolver: fake, annotationKey: key, intervalMs: 60_000, lookupTimeoutMs: 1000, gauges: { publish: (result) => published.push(result) }, now: () => 42 })
  const result = await scanner.scanOnce()
  t.same(result, {
    images: [
      { namespace: 'team-a', name: 'agent', field: 'spec.pauseImage', outdated: false },
      { namespace: 'team-a', name: 'agent', field: 'spec.containers[0].image', outdated: true },
      { namespace: 'team-b', name: 'worker', field: 'spec.pauseImage', outdated: false }
    ],
    unknown: [{ namespace: 'team-b', name: 'worker', field: 'spec.containers[0].image' }],
    templates: 2,
    scannedAtMs: 42
  })
  t.same(published, [result])
  t.same(fake.batches, [['r.example/pause:3', 'r.example/app:1', 'down.example/y:2']], 'one batch, each distinct tag once')
})

t.test('start: scans at once and again each interval; a failed list is reported and retried; scans never overlap', async (t) => {
  let calls = 0
  let release: () => void = () => {}
  const errors: unknown[] = []
  const published: DriftScanResult[] = []
  let secondStarted: () => void = () => {}
  const second = new Promise<void>((resolve) => { secondStarted = resolve })
  const scanner = new DriftScanner({
    list: async () => {
      calls++
      if (calls === 1) throw new Error('apiserver down')
      secondStarted()
      // The second scan hangs until released: ticks meanwhile must not start a third.
      await new Promise<void>((resolve) => { release = resolve })
      return templates
    },
    resolver: resolver(),
    annotationKey: key,
    intervalMs: 5,
    lookupTimeoutMs: 1000,
    gauges: { publish: (result) => published.push(result) },
    onError: (error) => errors.push(error)
  })
  // The scanner's timer is unref'd (it must not keep a stopping webhook alive); the server does that in real life.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  scanner.start()
  await second
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(calls, 2, 'ten intervals passed while the second scan hung: no third scan started')
  t.match(errors, [{ message: 'apiserver down' }])
  const stopped = scanner.stop()
  release()
  await stopped
  t.equal(published.length, 1, 'stop waited for the scan in progress to publish')
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(calls, 2, 'nothing after stop')
})

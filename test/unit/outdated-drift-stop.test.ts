import t from 'tap'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { DriftScanner, type DriftScanResult } from '../../src/outdated/drift-scan.js'
import type { Deadline, Resolution, Resolver } from '../../src/registry/types.js'

// issue 18: stop() cuts a scan's registry lookups short. A scan may use drift.lookupTimeoutSeconds (default 60 s), more
// than a pod's 30 s termination grace period; serve awaits stop() before it exits.

/** A registry that never answers: each lookup ends only when its deadline's signal aborts. */
class HangingResolver implements Resolver {
  readonly deadlines: Deadline[] = []
  #asked: () => void = () => {}
  readonly asked = new Promise<void>((resolve) => { this.#asked = resolve })

  async resolveAll (references: readonly string[], deadline: Deadline): Promise<Map<string, Resolution>> {
    this.deadlines.push(deadline)
    this.#asked()
    await new Promise<void>((resolve) => { deadline.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    return new Map(references.map((reference) => [reference, {
      ok: false, original: reference, error: new RegistryError(ErrorCode.registryTimeout, 'aborted', { registry: 'r.example', repository: 'app', reference: '1' })
    }]))
  }
}

const template = {
  apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { namespace: 'team-a', name: 'agent' },
  spec: { pauseImage: `r.example/pause:3@sha256:${'a'.repeat(64)}`, containers: [{ name: 'app', image: `r.example/app:1@sha256:${'a'.repeat(64)}` }] }
}

t.test('stop() aborts the lookups of a scan in progress instead of waiting out lookupTimeoutMs', async (t) => {
  const resolver = new HangingResolver()
  const published: DriftScanResult[] = []
  const scanner = new DriftScanner({
    list: async () => [template], resolver, annotationKey: 'ate.dev/pinned-images', intervalMs: 60_000, lookupTimeoutMs: 600_000,
    gauges: { publish: (result) => published.push(result) }
  })
  scanner.start()
  await resolver.asked
  t.equal(resolver.deadlines[0]?.signal.aborted, false, 'the lookups are under way')
  t.ok((resolver.deadlines[0]?.at ?? 0) - Date.now() > 500_000, 'with the whole lookup budget ahead of them')
  const started = performance.now()
  await scanner.stop()
  t.comment(`stop() took ${Math.round(performance.now() - started)} ms with a 600 s lookup budget`)
  t.equal(resolver.deadlines[0]?.signal.aborted, true, 'stop() aborted them')
  t.equal(published.length, 1, 'the scan settled before stop() returned')
  t.same(published[0]?.images, [], 'nothing is claimed about the images it could not look up')
  t.equal(published[0]?.unknown.length, 2)
})

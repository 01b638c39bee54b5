import t from 'tap'
import type { PinRecord, PinRecords } from '../../src/admission/annotation.js'
import { IssuedRecords } from '../../src/admission/issued-records.js'

// Issue 17 §4: records are remembered under their resolvedAt (one cache entry per admission). What it vouches for must
// stay exactly what it wrote (issue 13 §4): same field, every member equal.

const digest = `sha256:${'a'.repeat(64)}`
const record = (original: string, resolvedAt: string, extra: Partial<PinRecord> = {}): PinRecord =>
  ({ original, digest, mediaType: 'application/vnd.oci.image.index.v1+json', resolvedAt, source: 'registry', ...extra })
const at = '2026-12-03T04:00:00.000Z'

t.test('vouches for exactly the records it remembered, per field', async (t) => {
  const issued = new IssuedRecords()
  const agent = record('ghcr.io/acme/agent:1.4', at)
  issued.remember({ 'spec.pauseImage': record('registry.k8s.io/pause:3.10', at), 'spec.containers[0].image': agent })
  t.ok(issued.vouches('spec.containers[0].image', agent))
  t.ok(issued.vouches('spec.containers[0].image', { ...agent }), 'an equal record parsed again from the annotation')
  t.notOk(issued.vouches('spec.containers[1].image', agent), 'the same record under another field')
  for (const member of ['original', 'digest', 'mediaType', 'source'] as const) {
    t.notOk(issued.vouches('spec.containers[0].image', { ...agent, [member]: `${agent[member]}x` }), `a different ${member}`)
  }
  t.notOk(issued.vouches('spec.containers[0].image', { ...agent, resolvedAt: '2026-12-03T04:00:00.001Z' }), 'a different resolvedAt')
})

t.test('admissions answered in the same millisecond, and a stale pin with its own time, are all kept', async (t) => {
  const issued = new IssuedRecords()
  const stale = record('ghcr.io/acme/tools:0.9', '2026-12-03T03:55:00.000Z', { source: 'stale' })
  const first: PinRecords = { 'spec.containers[0].image': record('ghcr.io/acme/agent:1.4', at), 'spec.containers[1].image': stale }
  const second: PinRecords = { 'spec.containers[0].image': record('ghcr.io/acme/agent:2.0', at) }
  issued.remember(first)
  issued.remember(second)
  for (const records of [first, second]) {
    for (const [field, value] of Object.entries(records)) t.ok(issued.vouches(field, value), `${field} ${value.original}`)
  }
})

t.test('bounded: one moment keeps at most 256 records, the whole at most 4096', async (t) => {
  const issued = new IssuedRecords()
  const sameMoment = Array.from({ length: 300 }, (_, index) => record(`ghcr.io/acme/app-${index}:1`, at))
  for (const value of sameMoment) issued.remember({ 'spec.pauseImage': value })
  t.ok(issued.vouches('spec.pauseImage', sameMoment[0] ?? record('', at)), 'the first of the moment')
  t.ok(issued.vouches('spec.pauseImage', sameMoment[255] ?? record('', at)), 'the 256th')
  t.notOk(issued.vouches('spec.pauseImage', sameMoment[256] ?? record('', at)), 'the 257th was not remembered')

  const moments = Array.from({ length: 5000 }, (_, index) => record('ghcr.io/acme/agent:1.4', new Date(Date.UTC(2026, 11, 3) + index).toISOString()))
  for (const value of moments) issued.remember({ 'spec.pauseImage': value })
  t.notOk(issued.vouches('spec.pauseImage', moments[0] ?? record('', at)), 'the oldest moments were evicted')
  t.ok(issued.vouches('spec.pauseImage', moments[4999] ?? record('', at)), 'the newest is kept')
})

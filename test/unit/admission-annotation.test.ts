import t from 'tap'
import { formatPinRecords, ownedPinRecords, parsePinRecords, recordMatches, type PinRecord } from '../../src/admission/annotation.js'
import { imageSlots } from '../../src/admission/images.js'
import type { Pin } from '../../src/admission/pin.js'

const digestA = `sha256:${'a'.repeat(64)}`
const digestB = `sha256:${'b'.repeat(64)}`
const record = (original: string, digest: string): PinRecord =>
  ({ original, digest, mediaType: 'application/vnd.oci.image.index.v1+json', resolvedAt: '2026-01-01T00:00:00.000Z', source: 'registry' })

t.test('parse tolerates anything', async (t) => {
  t.same(parsePinRecords(undefined), {})
  t.same(parsePinRecords('not json'), {})
  t.same(parsePinRecords('[1]'), {})
  t.same(parsePinRecords(JSON.stringify({ 'spec.pauseImage': record('p', digestA), junk: { original: 1 } })), { 'spec.pauseImage': record('p', digestA) })
})

t.test('a record matches the image it produced, :latest included', async (t) => {
  t.ok(recordMatches(record('nginx', digestA), `nginx:latest@${digestA}`))
  t.ok(recordMatches(record('r.example/app:1', digestA), `r.example/app:1@${digestA}`))
  t.notOk(recordMatches(record('r.example/app:1', digestA), `r.example/app:1@${digestB}`))
  t.notOk(recordMatches(record('Bad Ref', digestA), 'Bad Ref'))
})

t.test('owned: new pins, still-true stored records, stale ones dropped, document order', async (t) => {
  const object = { spec: { pauseImage: `p:1@${digestA}`, containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: `b:2@${digestB}` }] } }
  const slots = imageSlots(object)
  const pins: Pin[] = [{ field: 'spec.containers[0].image', pointer: '', original: 'a:1', pinned: `a:1@${digestA}`, digest: digestA, mediaType: 'm', source: 'cache' }]
  const previous = {
    'spec.pauseImage': record('p:1', digestA),
    'spec.containers[1].image': record('b:1', digestB)
  }
  const owned = ownedPinRecords(slots, pins, '2026-11-29T00:00:00.000Z', previous)
  t.same(Object.keys(owned), ['spec.pauseImage', 'spec.containers[0].image'], 'the record for b (now b:2) is gone')
  t.same(owned['spec.containers[0].image'], { original: 'a:1', digest: digestA, mediaType: 'm', resolvedAt: '2026-11-29T00:00:00.000Z', source: 'cache' })
  t.equal(formatPinRecords(owned), JSON.stringify(owned))
  t.same(ownedPinRecords(slots, pins, 'now'), { 'spec.containers[0].image': { ...owned['spec.containers[0].image'], resolvedAt: 'now' } },
    'without a stored object only this request\'s pins are recorded')
})

t.test('owned: an image kept from the stored object keeps its stored record', async (t) => {
  const object = { spec: { pauseImage: 'p:1' } }
  const pins: Pin[] = [{ field: 'spec.pauseImage', pointer: '', original: 'p:1', pinned: `p:1@${digestA}`, digest: digestA, mediaType: 'unknown', source: 'old-object' }]
  const previous = { 'spec.pauseImage': record('p:1', digestA) }
  t.same(ownedPinRecords(imageSlots(object), pins, 'now', previous), previous)
  t.same(ownedPinRecords(imageSlots(object), pins, 'now', {})['spec.pauseImage']?.source, 'old-object', 'without a stored record one is written')
})

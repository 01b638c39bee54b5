import t from 'tap'
import { ErrorCode, InvalidReferenceError, RegistryError } from '../../src/errors.js'
import { compareTemplates, exitCodeOf, ImageStatus, isOutdated } from '../../src/outdated/compare.js'
import { distinctLookups, followedImages, type TemplateImages } from '../../src/outdated/followed.js'
import type { Resolution } from '../../src/registry/types.js'

// issue 18: which pinned images can be followed, and the comparison of their pinned digest with the tag's digest now.

const key = 'ate.dev/pinned-images'
const digest = (char: string): string => `sha256:${char.repeat(64)}`
const old = digest('a')
const now = digest('b')

function template (images: { pause: string, containers: string[] }, records: Record<string, { original: string, digest: string, resolvedAt: string }> = {}): Record<string, unknown> {
  const full = Object.fromEntries(Object.entries(records).map(([field, record]) => [field, { ...record, mediaType: 'application/vnd.oci.image.manifest.v1+json', source: 'registry' }]))
  return {
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name: 'agent', namespace: 'team-a', ...(records === undefined || Object.keys(records).length === 0 ? {} : { annotations: { [key]: JSON.stringify(full) } }) },
    spec: { pauseImage: images.pause, containers: images.containers.map((image, index) => ({ name: `c${index}`, image })) }
  }
}

t.test('followed images: the tag from the image or from a record that still describes it', async (t) => {
  const cases: Array<{ name: string, image: string, record?: { original: string, digest: string, resolvedAt: string }, want: Record<string, unknown> }> = [
    { name: 'tag@digest', image: `r.example/app:1.4@${old}`, want: { kind: 'tag', lookup: 'r.example/app:1.4', pinnedDigest: old, pinnedAt: undefined } },
    { name: 'a record adds when it was pinned', image: `r.example/app:1.4@${old}`, record: { original: 'r.example/app:1.4', digest: old, resolvedAt: '2026-11-29T03:00:00.000Z' }, want: { kind: 'tag', lookup: 'r.example/app:1.4', pinnedAt: '2026-11-29T03:00:00.000Z' } },
    { name: 'an untagged original was looked up as :latest', image: `r.example/app:latest@${old}`, record: { original: 'r.example/app', digest: old, resolvedAt: 't' }, want: { kind: 'tag', lookup: 'r.example/app:latest' } },
    { name: 'a record for another digest is ignored', image: `r.example/app:1.4@${old}`, record: { original: 'r.example/app:1.4', digest: now, resolvedAt: 't' }, want: { kind: 'tag', pinnedDigest: old, pinnedAt: undefined } },
    { name: 'digest only', image: `r.example/app@${old}`, want: { kind: 'no-tag' } },
    { name: 'a tag without a digest (files only)', image: 'r.example/app:1.4', want: { kind: 'unpinned' } },
    { name: 'not a reference', image: 'R.example/App:1', want: { kind: 'invalid' } }
  ]
  for (const { name, image, record, want } of cases) {
    const [followed] = followedImages(template({ pause: image, containers: [] }, record === undefined ? {} : { 'spec.pauseImage': record }), key)
    t.match(followed, { field: 'spec.pauseImage', image, ...want }, name)
  }
})

t.test('distinct lookups: agent and agent:latest are one tag, shared tags once across templates', async (t) => {
  const images = (pause: string, ...containers: string[]): TemplateImages => {
    const object = template({ pause, containers })
    return { template: { namespace: 'n', name: 'x', where: 'n/x' }, object, images: followedImages(object, key) }
  }
  const a = images(`r.example/pause:3@${old}`, `r.example/app:latest@${old}`, `r.example/app@${old}`)
  const b = images(`r.example/pause:3@${now}`, `r.example/tool:1@${old}`)
  const c = { ...a, images: followedImages(template({ pause: `r.example/app:latest@${old}`, containers: [] }, { 'spec.pauseImage': { original: 'r.example/app', digest: old, resolvedAt: 't' } }), key) }
  t.same(distinctLookups([a, b, c]), ['r.example/pause:3', 'r.example/app:latest', 'r.example/tool:1'])
})

t.test('compare: moved, current, failed with the registry named, no tag; exit code', async (t) => {
  const object = template({ pause: `r.example/pause:3@${old}`, containers: [`r.example/app:1@${old}`, `down.example/x:2@${old}`, `r.example/y@${old}`] })
  const input: TemplateImages[] = [{ template: { namespace: 'team-a', name: 'agent', where: 'team-a/agent' }, object, images: followedImages(object, key) }]
  const error = new RegistryError(ErrorCode.registryUnreachable, 'connect ECONNREFUSED 127.0.0.1:1', { registry: 'down.example', repository: 'x', reference: '2' })
  const resolutions = new Map<string, Resolution>([
    ['r.example/pause:3', { ok: true, original: 'r.example/pause:3', pinned: `r.example/pause:3@${old}`, digest: old, mediaType: 'm', fromCache: false }],
    ['r.example/app:1', { ok: true, original: 'r.example/app:1', pinned: `r.example/app:1@${now}`, digest: now, mediaType: 'm', fromCache: false }],
    ['down.example/x:2', { ok: false, original: 'down.example/x:2', error }]
  ])
  const [findings] = compareTemplates(input, resolutions)
  t.same(findings?.images.map((image) => image.status), [ImageStatus.current, ImageStatus.moved, ImageStatus.failed, ImageStatus.noTag])
  t.match(findings?.images[1], { tag: 'r.example/app:1', pinnedDigest: old, currentDigest: now, currentImage: `r.example/app:1@${now}` })
  t.match(findings?.images[2]?.failure, { code: ErrorCode.registryUnreachable, registry: 'down.example' })
  t.match(findings?.images[2]?.failure?.message, 'ECONNREFUSED')
  t.ok(findings !== undefined && isOutdated(findings))
  t.equal(exitCodeOf(compareTemplates(input, resolutions)), 2, 'a failed lookup makes it 2, even with a moved image')
  resolutions.set('down.example/x:2', { ok: true, original: 'down.example/x:2', pinned: '', digest: old, mediaType: 'm', fromCache: false })
  t.equal(exitCodeOf(compareTemplates(input, resolutions)), 1, 'moved and nothing failed: 1')
  resolutions.set('r.example/app:1', { ok: true, original: 'r.example/app:1', pinned: '', digest: old, mediaType: 'm', fromCache: false })
  t.equal(exitCodeOf(compareTemplates(input, resolutions)), 0, 'nothing moved: 0')
  resolutions.delete('r.example/pause:3')
  t.match(compareTemplates(input, resolutions)[0]?.images[0], { status: ImageStatus.failed, failure: { code: 'NOT_RESOLVED' } }, 'a lookup with no answer is a failure, never "current"')
})

t.test('compare: a stale stand-in answer is not today\'s digest, and an invalid lookup names no registry', async (t) => {
  const object = template({ pause: `r.example/pause:3@${old}`, containers: [`r.example/app:1@${old}`] })
  const input: TemplateImages[] = [{ template: { namespace: 'n', name: 'x', where: 'n/x' }, object, images: followedImages(object, key) }]
  const outage = new RegistryError(ErrorCode.registryUnreachable, 'connect ECONNREFUSED', { registry: 'r.example', repository: 'pause', reference: '3' })
  const resolutions = new Map<string, Resolution>([
    ['r.example/pause:3', { ok: true, original: '', pinned: '', digest: now, mediaType: 'm', fromCache: true, stale: { cause: 'unreachable', resolvedAtMs: 0, ageMs: 1000, error: outage } }],
    ['r.example/app:1', { ok: false, original: 'r.example/app:1', error: new InvalidReferenceError('r.example/app:1', 'tag', 'bad') }]
  ])
  const [findings] = compareTemplates(input, resolutions)
  t.match(findings?.images[0], { status: ImageStatus.failed, failure: { code: ErrorCode.registryUnreachable, registry: 'r.example' } })
  t.match(findings?.images[1], { status: ImageStatus.failed, failure: { registry: undefined } })
})

import t from 'tap'
import { ImageStatus, type ImageFinding, type TemplateFindings } from '../../src/outdated/compare.js'
import { failureLines, jsonLines, summarise, tableLines } from '../../src/outdated/report.js'

// issue 18: the table for people lists what is not current; JSON has one object per image, current ones included.

const old = `sha256:${'a'.repeat(64)}`
const now = `sha256:${'b'.repeat(64)}`

function findings (where: string, images: ImageFinding[], file?: { name: string, index: number }): TemplateFindings {
  const slash = where.indexOf('/')
  const namespace = slash === -1 ? undefined : where.slice(0, slash)
  return { template: { namespace, name: where.slice(slash + 1), where, file }, object: {}, images }
}

const moved: ImageFinding = { field: 'spec.containers[0].image', image: `r.example/app:1@${old}`, status: ImageStatus.moved, tag: 'r.example/app:1', pinnedDigest: old, pinnedAt: '2026-11-29T03:00:00.000Z', currentDigest: now, currentImage: `r.example/app:1@${now}` }
const current: ImageFinding = { field: 'spec.pauseImage', image: `r.example/pause:3@${old}`, status: ImageStatus.current, tag: 'r.example/pause:3', pinnedDigest: old, currentDigest: old }
const noTag: ImageFinding = { field: 'spec.containers[1].image', image: `r.example/x@${old}`, status: ImageStatus.noTag, pinnedDigest: old }
const failed: ImageFinding = { field: 'spec.containers[0].image', image: `down.example/y:2@${old}`, status: ImageStatus.failed, tag: 'down.example/y:2', pinnedDigest: old, failure: { code: 'REGISTRY_UNREACHABLE', registry: 'down.example', message: 'connect ECONNREFUSED 127.0.0.1:9' } }

t.test('table: one aligned row per image that is not current, then the summary', async (t) => {
  const lines = tableLines([findings('team-a/agent', [current, moved, noTag]), findings('team-b/other', [failed])])
  t.same(lines, [
    'TEMPLATE      FIELD                     STATUS            TAG               PINNED               PINNED AT                 CURRENT',
    'team-a/agent  spec.containers[0].image  moved             r.example/app:1   sha256:aaaaaaaaaaaa  2026-11-29T03:00:00.000Z  sha256:bbbbbbbbbbbb',
    'team-a/agent  spec.containers[1].image  no tag to follow  r.example/x       sha256:aaaaaaaaaaaa  -                         -',
    'team-b/other  spec.containers[0].image  lookup failed     down.example/y:2  sha256:aaaaaaaaaaaa  -                         error, see below',
    '1 template of 2 outdated: 1 of 3 tagged images moved; 1 could not be looked up; 1 with no tag to follow'
  ])
})

t.test('table: nothing to list is one summary line', async (t) => {
  t.same(tableLines([findings('team-a/agent', [current])]), ['0 templates of 1 outdated: 0 of 1 tagged image moved'])
  t.same(summarise([]), { templates: 0, outdatedTemplates: 0, byStatus: { moved: 0, current: 0, 'no-tag': 0, unpinned: 0, failed: 0, invalid: 0 } })
})

t.test('failure lines name the template, field, tag and registry', async (t) => {
  t.same(failureLines([findings('team-a/agent', [moved]), findings('team-b/other', [failed])]),
    ['team-b/other: spec.containers[0].image: down.example/y:2: registry down.example: connect ECONNREFUSED 127.0.0.1:9'])
  const named = { ...failed, failure: { code: 'X', registry: 'down.example', message: 'down.example answered 500' } }
  t.same(failureLines([findings('n/x', [named])]), ['n/x: spec.containers[0].image: down.example/y:2: down.example answered 500'], 'the registry once')
})

t.test('json: every image, full digests, nulls for what is unknown, file and index in files mode', async (t) => {
  const lines = jsonLines([findings('team-a/agent', [current, moved]), findings('agent', [noTag], { name: 'repo/agent.yaml', index: 1 })])
  t.same(lines.map((line) => JSON.parse(line) as unknown), [
    { namespace: 'team-a', name: 'agent', field: 'spec.pauseImage', image: current.image, status: 'current', tag: 'r.example/pause:3', pinnedDigest: old, pinnedAt: null, currentDigest: old, error: null },
    { namespace: 'team-a', name: 'agent', field: 'spec.containers[0].image', image: moved.image, status: 'moved', tag: 'r.example/app:1', pinnedDigest: old, pinnedAt: '2026-11-29T03:00:00.000Z', currentDigest: now, error: null },
    { file: 'repo/agent.yaml', index: 1, namespace: null, name: 'agent', field: 'spec.containers[1].image', image: noTag.image, status: 'no-tag', tag: null, pinnedDigest: old, pinnedAt: null, currentDigest: null, error: null }
  ])
  t.same(JSON.parse(jsonLines([findings('n/x', [failed])])[0] ?? '') as unknown, { namespace: 'n', name: 'x', field: failed.field, image: failed.image, status: 'failed', tag: failed.tag, pinnedDigest: old, pinnedAt: null, currentDigest: null, error: failed.failure })
})

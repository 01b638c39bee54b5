import t from 'tap'
import { ImageStatus, type TemplateFindings } from '../../src/outdated/compare.js'
import { checkSuffix, newName, proposalFileName, proposeTemplate } from '../../src/outdated/rewrite.js'

// issue 18 --write: a new template under a new name, moved images pinned anew, nothing the apiserver fills in.

const key = 'ate.dev/pinned-images'
const old = `sha256:${'a'.repeat(64)}`
const now = `sha256:${'0123456789ab'}${'c'.repeat(52)}`

function stored (): Record<string, unknown> {
  return {
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: {
      name: 'agent',
      namespace: 'team-a',
      uid: 'u',
      resourceVersion: '42',
      generation: 1,
      creationTimestamp: '2026-11-29T03:00:00Z',
      managedFields: [{ manager: 'kubectl' }],
      labels: { team: 'a' },
      annotations: { [key]: '{}', 'kubectl.kubernetes.io/last-applied-configuration': '{}', owner: 'team-a' }
    },
    spec: { pauseImage: `r.example/pause:3@${old}`, containers: [{ name: 'app', image: `r.example/app:1@${old}`, command: ['/app'] }] },
    status: { phase: 'Ready' }
  }
}

function findings (object: Record<string, unknown>, name = 'agent'): TemplateFindings {
  return {
    template: { namespace: 'team-a', name, where: `team-a/${name}` },
    object,
    images: [
      { field: 'spec.pauseImage', image: `r.example/pause:3@${old}`, status: ImageStatus.current, tag: 'r.example/pause:3', pinnedDigest: old, currentDigest: old },
      { field: 'spec.containers[0].image', image: `r.example/app:1@${old}`, status: ImageStatus.moved, tag: 'r.example/app:1', pinnedDigest: old, currentDigest: now, currentImage: `r.example/app:1@${now}` }
    ]
  }
}

t.test('the proposal: new name, new digest for the moved image only, server fields and our annotation gone', async (t) => {
  const input = stored()
  const proposal = proposeTemplate(findings(input), key)
  t.same(proposal, {
    namespace: 'team-a',
    name: 'agent-0123456789ab',
    object: {
      apiVersion: 'ate.dev/v1alpha1',
      kind: 'ActorTemplate',
      metadata: { name: 'agent-0123456789ab', namespace: 'team-a', labels: { team: 'a' }, annotations: { owner: 'team-a' } },
      spec: { pauseImage: `r.example/pause:3@${old}`, containers: [{ name: 'app', image: `r.example/app:1@${now}`, command: ['/app'] }] }
    }
  })
  t.same(input, stored(), 'the input object is not changed')
  t.equal(proposal === undefined ? '' : proposalFileName(proposal), 'team-a_agent-0123456789ab.yaml')
  t.equal(proposeTemplate(findings(input), key, 'cve-2026-1')?.name, 'agent-cve-2026-1', '--suffix')
})

t.test('no proposal when nothing moved; annotations dropped entirely when only ours were there', async (t) => {
  const unchanged = findings(stored())
  t.equal(proposeTemplate({ ...unchanged, images: unchanged.images.slice(0, 1) }, key), undefined)
  const object = stored()
  object['metadata'] = { name: 'agent', namespace: 'team-a', annotations: { [key]: '{}' } }
  t.same(proposeTemplate(findings(object), key)?.object['metadata'], { name: 'agent-0123456789ab', namespace: 'team-a' })
})

t.test('names stay within 253 characters; suffixes must be DNS-label text', async (t) => {
  const long = 'a'.repeat(250)
  const name = newName(long, findings(stored(), long))
  t.equal(name.length, 253)
  t.ok(name.endsWith('a-0123456789ab'))
  t.equal(newName(`${'b'.repeat(239)}-x`, findings(stored())), `${'b'.repeat(239)}-0123456789ab`, 'no "--" or trailing dot where the name was cut')
  for (const bad of ['', 'Upper', '-lead', 'trail-', 'dot.ted', 'x'.repeat(64)]) {
    t.throws(() => checkSuffix(bad), { name: 'SuffixError', message: `--suffix must be lowercase letters, digits and '-', start and end with a letter or digit, at most 63 characters, not ${JSON.stringify(bad)}` }, JSON.stringify(bad))
  }
  t.equal(checkSuffix('v2'), 'v2')
})

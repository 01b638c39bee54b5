import t from 'tap'
import { denialMessage } from '../../src/admission/response.js'
import { validateTemplate } from '../../src/admission/validate.js'
import { loadConfig } from '../../src/config.js'
import { loadReview } from '../fixtures/reviews/index.js'

const limits = loadConfig({}, {}).admission

const digest = `sha256:${'a'.repeat(64)}`
const template = (containers: unknown[], pauseImage: unknown = `registry.k8s.io/pause:3.10@${digest}`): Record<string, unknown> =>
  ({ spec: { pauseImage, containers, snapshotsConfig: { location: 'gs://b/' } } })

const cases: Array<{ name: string, object: unknown, requireDigest?: boolean, expect: Array<[string, string, RegExp]> }> = [
  { name: 'pinned template', object: template([{ name: 'agent', image: `ghcr.io/acme/agent:1.4@${digest}` }]), expect: [] },
  { name: 'digest-only and tag+digest forms', object: template([{ name: 'a', image: `gcr.io/gke-release/pause@${digest}` }, { name: 'b', image: `nginx@sha512:${'b'.repeat(128)}` }]), expect: [] },
  { name: 'no containers at all', object: template([]), expect: [] },
  {
    name: 'reserved name',
    object: template([{ name: 'agent', image: `a@${digest}` }, { name: 'pause', image: `b@${digest}` }]),
    expect: [['spec.containers[1].name', 'ReservedName', /"pause" is reserved for the sandbox container; choose another name/]]
  },
  {
    name: 'duplicate names point at the first',
    object: template([{ name: 'x', image: `a@${digest}` }, { name: 'y', image: `a@${digest}` }, { name: 'x', image: `a@${digest}` }]),
    expect: [['spec.containers[2].name', 'DuplicateName', /duplicate container name "x" \(also spec\.containers\[0\]\.name\)/]]
  },
  {
    name: 'tag without digest',
    object: template([{ name: 'agent', image: 'ghcr.io/acme/agent:1.4' }], 'registry.k8s.io/pause:3.10'),
    expect: [
      ['spec.pauseImage', 'Unpinned', /^image registry\.k8s\.io\/pause:3\.10 has no digest$/],
      ['spec.containers[0].image', 'Unpinned', /image ghcr\.io\/acme\/agent:1\.4 has no digest/]
    ]
  },
  { name: 'tags are fine before pinning', requireDigest: false, object: template([{ name: 'agent', image: 'ghcr.io/acme/agent:1.4' }], 'pause'), expect: [] },
  {
    name: 'digest problems: algorithm, length, case',
    object: template([
      { name: 'a', image: 'x/a@md5:d41d8cd98f00b204e9800998ecf8427e' },
      { name: 'b', image: 'x/b@sha256:abc' },
      { name: 'c', image: `x/c@sha256:${'A'.repeat(64)}` },
      { name: 'd', image: `x/d@SHA256:${'a'.repeat(64)}` }
    ]),
    expect: [
      ['spec.containers[0].image', 'InvalidDigest', /"x\/a@md5:d41d8cd98f00b204e9800998ecf8427e" is not a valid image reference: digest algorithm md5 is not supported/],
      ['spec.containers[1].image', 'InvalidDigest', /"x\/b@sha256:abc".*sha256 digest must have 64 hex characters, got 3/],
      ['spec.containers[2].image', 'InvalidDigest', /sha256 digest hex must be lowercase/],
      ['spec.containers[3].image', 'InvalidDigest', /algorithm names are lowercase: sha256/]
    ]
  },
  {
    name: 'malformed references',
    object: template([{ name: 'a', image: 'ghcr.io/Acme/Agent:1.4' }, { name: 'b', image: 'has space:1' }], 'pause::1'),
    expect: [
      ['spec.pauseImage', 'InvalidReference', /"pause::1" is not a valid image reference/],
      ['spec.containers[0].image', 'InvalidReference', /"ghcr\.io\/Acme\/Agent:1\.4" is not a valid image reference: repository name must be lowercase/],
      ['spec.containers[1].image', 'InvalidReference', /whitespace is not allowed/]
    ]
  },
  {
    name: 'missing and non-string images',
    object: { spec: { containers: [{ name: 'a' }, { name: 'b', image: 42 }] } },
    expect: [
      ['spec.pauseImage', 'MissingImage', /an image reference is required/],
      ['spec.containers[0].image', 'MissingImage', /an image reference is required/],
      ['spec.containers[1].image', 'MissingImage', /must be a string image reference/]
    ]
  },
  { name: 'no spec', object: { metadata: {} }, expect: [['spec', 'InvalidObject', /needs a spec object/]] }
]

for (const { name, object, requireDigest, expect } of cases) {
  t.test(name, async (t) => {
    const problems = validateTemplate(object, { requireDigest: requireDigest ?? true, limits })
    t.same(problems.map((problem) => [problem.field, problem.reason]), expect.map(([field, reason]) => [field, reason]))
    expect.forEach(([, , message], index) => t.match(problems[index]?.message, message))
  })
}

t.test('advice shared by several problems is said once, at the end', async (t) => {
  const problems = validateTemplate(template([{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }], 'p:1'), { requireDigest: true, limits })
  t.equal(denialMessage(problems), '3 problems: spec.pauseImage: image p:1 has no digest; spec.containers[0].image: image a:1 has no digest; ' +
    'spec.containers[1].image: image b:1 has no digest. Images must be pinned because changing the image invalidates snapshots: ' +
    'write <image>@sha256:<digest>, run "actortemplate-webhook pin", or check that the pinning webhook is installed')
  t.equal(denialMessage(problems.slice(0, 1)), 'spec.pauseImage: image p:1 has no digest. Images must be pinned because changing the image ' +
    'invalidates snapshots: write <image>@sha256:<digest>, run "actortemplate-webhook pin", or check that the pinning webhook is installed')
})

t.test('the invalid fixture reports every violation in document order', async (t) => {
  const problems = validateTemplate(loadReview('create-invalid').request.object, { requireDigest: true, limits })
  t.same(problems.map((problem) => `${problem.field} ${problem.reason}`), [
    'spec.pauseImage Unpinned',
    'spec.containers[1].name ReservedName',
    'spec.containers[2].name DuplicateName',
    'spec.containers[2].image InvalidDigest',
    'spec.containers[3].image InvalidDigest',
    'spec.containers[4].image InvalidDigest',
    'spec.containers[5].image InvalidReference'
  ])
  for (const problem of problems.filter((p) => p.field.endsWith('.image'))) t.ok(problem.reference, `${problem.field} names its reference`)
})

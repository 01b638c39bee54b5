import t from 'tap'
import { limitProblems } from '../../src/admission/limits.js'
import { planPins } from '../../src/admission/mutate.js'
import { denialMessage } from '../../src/admission/response.js'
import { validateTemplate } from '../../src/admission/validate.js'
import { loadConfig } from '../../src/config.js'

// Issue 13 §1: the CRD's limits are enforced before any reference is parsed or looked up.

const defaults = loadConfig({}, {}).admission
const containers = (count: number): unknown[] => Array.from({ length: count }, (_unused, index) => ({ name: `c${index}`, image: `ghcr.io/acme/c${index}:1` }))
const template = (count: number, pauseImage: unknown = 'registry.k8s.io/pause:3.10'): Record<string, unknown> =>
  ({ spec: { ...(pauseImage === undefined ? {} : { pauseImage }), containers: containers(count) } })

const cases: Array<{ name: string, object: unknown, limits?: { maxContainers: number, maxImageReferences: number }, expect: string | undefined }> = [
  { name: 'ten containers and a pause image: the CRD maximum', object: template(10), expect: undefined },
  { name: 'eleven containers', object: template(11), expect: 'spec.containers: 11 containers; at most 10' },
  { name: '3,000 containers', object: template(3000), expect: 'spec.containers: 3000 containers; at most 10' },
  { name: '20,000 containers without a pause image', object: template(20_000, undefined), expect: 'spec.containers: 20000 containers; at most 10' },
  { name: 'no spec: not a limit problem', object: { metadata: {} }, expect: undefined },
  { name: 'containers not an array: the schema says so later', object: { spec: { containers: { length: 5000 } } }, expect: undefined },
  {
    name: 'a stricter reference limit counts the pause image',
    object: template(3),
    limits: { maxContainers: 10, maxImageReferences: 3 },
    expect: 'spec: 4 image references (spec.pauseImage and spec.containers[].image); at most 3'
  },
  { name: 'one container under a limit of one', object: template(1), limits: { maxContainers: 1, maxImageReferences: 2 }, expect: undefined },
  { name: 'two containers over a limit of one', object: template(2), limits: { maxContainers: 1, maxImageReferences: 2 }, expect: 'spec.containers: 2 containers; at most 1' }
]

for (const { name, object, limits = defaults, expect } of cases) {
  t.test(name, async (t) => {
    const problems = limitProblems(object, limits)
    t.equal(problems.length === 0 ? undefined : denialMessage(problems), expect)
    t.ok(problems.every((problem) => problem.reason === 'LimitExceeded'))
  })
}

t.test('validateTemplate and planPins stop at the limit: no per-container problem, nothing to resolve', async (t) => {
  const object = template(3000, 'not a valid reference!')
  const validated = validateTemplate(object, { requireDigest: true, limits: defaults })
  t.same(validated.map((problem) => problem.field), ['spec.containers'], 'one problem, not 3,001')
  const plan = planPins(object, defaults)
  t.same(plan.problems.map((problem) => problem.field), ['spec.containers'])
  t.same(plan.toResolve, [], 'nothing is looked up')
  t.same(plan.slots, [], 'no slot is even built')
})

t.test('counting 20,000 containers takes well under a millisecond per call', async (t) => {
  const object = template(20_000)
  const started = performance.now()
  for (let round = 0; round < 1000; round++) limitProblems(object, defaults)
  const perCall = (performance.now() - started) / 1000
  t.ok(perCall < 1, `${perCall.toFixed(4)} ms per call`)
})

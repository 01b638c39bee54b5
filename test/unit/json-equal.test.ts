import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { jsonEqual } from '../../src/admission/json-equal.js'
import { decodeReview, InvalidReviewError } from '../../src/admission/review.js'

const cases: Array<[string, unknown, unknown, boolean]> = [
  ['equal primitives', 'a', 'a', true],
  ['different primitives', 1, '1', false],
  ['null and object', null, {}, false],
  ['key order does not matter', { a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }, true],
  ['a missing key', { a: 1 }, { b: 1 }, false],
  ['an extra key', { a: 1 }, { a: 1, b: 2 }, false],
  ['array and object', [], {}, false],
  ['arrays of different length', [1, 2], [1], false],
  ['array order matters', [1, 2], [2, 1], false],
  ['nested difference', { spec: { containers: [{ image: 'a' }] } }, { spec: { containers: [{ image: 'b' }] } }, false],
  ['undefined and undefined', undefined, undefined, true],
  ['undefined and null', undefined, null, false]
]

t.test('jsonEqual agrees with isDeepStrictEqual on JSON values', async (t) => {
  for (const [name, a, b, expected] of cases) {
    t.equal(jsonEqual(a, b), expected, name)
    t.equal(jsonEqual(b, a), expected, `${name} (swapped)`)
    t.equal(isDeepStrictEqual(a, b), expected, `${name} (node:util agrees)`)
  }
})

t.test('issue 7: specs nested 1,000,000 levels deep compare without a stack overflow', async (t) => {
  const depth = 1_000_000
  const text = `${'['.repeat(depth)}${']'.repeat(depth)}`
  const nested = JSON.parse(text) as unknown
  const other = JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown
  t.equal(jsonEqual({ deep: nested }, { deep: JSON.parse(text) as unknown }), true)
  t.equal(jsonEqual({ deep: nested }, { deep: other }), false)
})

t.test('issue 7: an envelope with a deep or huge apiVersion is a 400 with a short message', async (t) => {
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown
  t.throws(() => decodeReview({ apiVersion: deep, kind: 'AdmissionReview' }), new InvalidReviewError(
    'expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got an array and "AdmissionReview"; set admissionReviewVersions: ["v1"] in the webhook configuration'))
  t.throws(() => decodeReview({ apiVersion: 'x'.repeat(1_000_000), kind: 7 }), { message: /got "x{63}…" and 7;/ })
})

import t from 'tap'
import { decodeReview, InvalidReviewError } from '../../src/admission/review.js'
import { skipReason } from '../../src/admission/target.js'
import { loadReview, reviewNames } from '../fixtures/reviews/index.js'

t.test('every fixture decodes', async (t) => {
  for (const name of reviewNames) {
    const review = loadReview(name)
    t.equal(decodeReview(review).uid, review.request.uid, name)
  }
})

t.test('CREATE with generateName has no name and still decodes', async (t) => {
  const review = loadReview('create-generate-name')
  t.notOk('name' in review.request, 'the apiserver omits the empty name')
  t.equal(decodeReview(review).name, undefined)
  review.request.name = ''
  t.equal(decodeReview(review).name, '', 'an explicit empty name is accepted too')
})

const invalid: Array<[string, (body: Record<string, unknown>) => unknown, RegExp]> = [
  ['a JSON array', () => [], /must be a JSON object/],
  ['v1beta1', (body) => ({ ...body, apiVersion: 'admission.k8s.io/v1beta1' }), /expected apiVersion admission\.k8s\.io\/v1 and kind AdmissionReview, got "admission\.k8s\.io\/v1beta1".*admissionReviewVersions/],
  ['wrong kind', (body) => ({ ...body, kind: 'Pod' }), /got "admission\.k8s\.io\/v1" and "Pod"/],
  ['no request', (body) => ({ ...body, request: undefined }), /no request object/],
  ['missing uid', (body) => { delete (body['request'] as Record<string, unknown>)['uid']; return body }, /request\.uid is required/],
  ['empty uid', (body) => { (body['request'] as Record<string, unknown>)['uid'] = ''; return body }, /request\.uid must NOT have fewer than 1 characters/],
  ['unknown operation', (body) => { (body['request'] as Record<string, unknown>)['operation'] = 'PATCH'; return body }, /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT/],
  ['kind without group', (body) => { (body['request'] as Record<string, unknown>)['kind'] = { version: 'v1', kind: 'Pod' }; return body }, /request\.kind\.group is required/]
]

for (const [name, mutate, message] of invalid) {
  t.test(`refuses ${name}`, async (t) => {
    const body = mutate(loadReview('create-generate-name') as unknown as Record<string, unknown>)
    const error = t.throws(() => decodeReview(body)) as InvalidReviewError
    t.ok(error instanceof InvalidReviewError)
    t.equal(error.code, 'INVALID_REVIEW')
    t.match(error.message, message)
  })
}

t.test('only ActorTemplate CREATE/UPDATE without subresource is ours', async (t) => {
  const expected: Record<string, string | undefined> = {
    'create-generate-name': undefined,
    'create-pinned': undefined,
    'create-dry-run': undefined,
    'create-invalid': undefined,
    'create-ten-containers': undefined,
    'update-reapply': undefined,
    delete: 'operation',
    'other-kind': 'other-kind',
    'status-subresource': 'subresource'
  }
  t.same(Object.keys(expected).sort(), [...reviewNames].sort(), 'every fixture is classified')
  for (const [name, reason] of Object.entries(expected)) {
    t.equal(skipReason(decodeReview(loadReview(name))), reason, name)
  }
  const connect = loadReview('create-dry-run')
  connect.request.operation = 'CONNECT'
  t.equal(skipReason(decodeReview(connect)), 'operation', 'CONNECT')
  const otherVersion = loadReview('create-dry-run')
  otherVersion.request.kind = { group: 'ate.dev', version: 'v1beta1', kind: 'ActorTemplate' }
  t.equal(skipReason(decodeReview(otherVersion)), 'other-kind', 'another version of the kind')
})

/**
 * fast-check arbitraries for the battery's hostile-input fuzz (issue 7): image references (grammatical ones, near
 * misses built from the grammar's own punctuation, and arbitrary Unicode) and AdmissionReviews (mostly the shape the
 * apiserver sends, with any field replaced by anything).
 */
import fc from 'fast-check'

const lower = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('')
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/)
const pathComponent = fc.stringMatching(/^[a-z0-9]{1,6}([._-][a-z0-9]{1,6}){0,2}$/)
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/)
const hex64 = fc.array(fc.constantFrom(...'0123456789abcdef'.split('')), { minLength: 64, maxLength: 64 }).map((chars) => chars.join(''))
export const digest = hex64.map((hex) => `sha256:${hex}`)

const domain = fc.oneof(
  fc.constant('localhost'),
  fc.tuple(label, label).map(([a, b]) => `${a}.${b}`),
  fc.tuple(label, fc.integer({ min: 1, max: 65535 })).map(([a, port]) => `${a}:${port}`),
  fc.tuple(label, label, fc.integer({ min: 1, max: 65535 })).map(([a, b, port]) => `${a}.${b}:${port}`),
  fc.constantFrom('[::1]:5000', '127.0.0.1:5001', 'registry.k8s.io', 'ghcr.io', 'docker.io', 'index.docker.io')
)

/** References the distribution/reference grammar accepts. */
export const validReference = fc.record({
  domain: fc.option(domain, { nil: undefined }),
  path: fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
  tag: fc.option(tag, { nil: undefined }),
  digest: fc.option(digest, { nil: undefined })
}).map(({ domain, path, tag, digest }) => {
  // Without a domain a first component holding '.' would be read as one (normalize.go splitDockerDomain).
  const name = domain === undefined && path.includes('/') ? path.replace(/^[^/]*/, (first) => first.replaceAll('.', '-')) : path
  return `${domain === undefined ? '' : `${domain}/`}${name}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`
})

const punctuation = [...lower, 'A', 'Z', '.', '-', '_', '__', ':', '/', '//', '@', '[', ']', '%', ' ', '\n', '\u0000', 'é', '\u202e', 'sha256:', 'sha512:']
/** Near misses: the grammar's own pieces in the wrong order or amount. */
const nearMiss = fc.array(fc.constantFrom(...punctuation), { maxLength: 24 }).map((parts) => parts.join(''))
/** A valid reference with one character changed, inserted or removed. */
const mutated = fc.tuple(validReference, fc.nat(), fc.constantFrom('', ...punctuation), fc.boolean()).map(([text, at, insert, replace]) => {
  const index = text.length === 0 ? 0 : at % text.length
  return `${text.slice(0, index)}${insert}${text.slice(index + (replace ? 1 : 0))}`
})

export const anyReference = fc.oneof(
  { arbitrary: validReference, weight: 4 },
  { arbitrary: mutated, weight: 3 },
  { arbitrary: nearMiss, weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 1 }
)

const junk = fc.anything({ maxDepth: 3, maxKeys: 4, withNullPrototype: false })
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof({ arbitrary, weight: 30 }, { arbitrary: junk, weight: 1 })
// Mostly references that parse, so whole templates often reach the resolver and get patched.
const imageReference = fc.oneof({ arbitrary: validReference, weight: 15 }, { arbitrary: anyReference, weight: 1 })

const container = fc.record({
  name: maybe(fc.oneof(label, fc.constant('pause'), fc.constant('agent'))),
  image: maybe(imageReference),
  env: maybe(fc.array(fc.record({ name: label, value: fc.string({ maxLength: 20 }) }), { maxLength: 3 }))
}, { requiredKeys: [] })

const template = fc.record({
  apiVersion: maybe(fc.constant('ate.dev/v1alpha1')),
  kind: maybe(fc.constant('ActorTemplate')),
  metadata: maybe(fc.record({
    name: label,
    namespace: label,
    annotations: maybe(fc.dictionary(fc.constantFrom('ate.dev/pinned-images', 'a', 'b'), fc.string({ maxLength: 40 }), { maxKeys: 2 }))
  }, { requiredKeys: [] })),
  spec: maybe(fc.record({
    pauseImage: maybe(imageReference),
    containers: maybe(fc.array(container, { maxLength: 12 })),
    snapshotsConfig: maybe(fc.constant({ location: 'gs://bucket/prefix/' })),
    sandboxClass: maybe(fc.constantFrom('gvisor', 'microvm'))
  }, { requiredKeys: [] }))
}, { requiredKeys: [] })

const gvk = fc.oneof(
  { arbitrary: fc.constant({ group: 'ate.dev', version: 'v1alpha1', kind: 'ActorTemplate' }), weight: 24 },
  { arbitrary: fc.record({ group: fc.constantFrom('', 'apps', 'ate.dev'), version: fc.constantFrom('v1', 'v1alpha1'), kind: fc.constantFrom('Pod', 'ActorTemplate', 'Deployment') }), weight: 1 },
  { arbitrary: junk, weight: 1 }
)

const uid = fc.oneof({ arbitrary: fc.uuid(), weight: 12 }, { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 }), weight: 4 }, { arbitrary: junk, weight: 1 })

export const admissionRequest = fc.record({
  uid,
  kind: gvk,
  resource: maybe(fc.constant({ group: 'ate.dev', version: 'v1alpha1', resource: 'actortemplates' })),
  subResource: fc.oneof({ arbitrary: fc.constant(undefined), weight: 20 }, { arbitrary: fc.constantFrom('', 'status', 'scale'), weight: 3 }),
  name: fc.option(label, { nil: undefined }),
  namespace: fc.option(label, { nil: undefined }),
  operation: fc.oneof({ arbitrary: fc.constantFrom('CREATE', 'UPDATE'), weight: 24 }, { arbitrary: fc.constantFrom('DELETE', 'CONNECT', 'create', ''), weight: 1 }, { arbitrary: junk, weight: 1 }),
  userInfo: maybe(fc.record({ username: fc.string({ maxLength: 20 }) })),
  object: fc.oneof({ arbitrary: template, weight: 24 }, { arbitrary: junk, weight: 1 }, { arbitrary: fc.constant(null), weight: 1 }),
  oldObject: fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: template, weight: 3 }, { arbitrary: junk, weight: 1 }),
  dryRun: fc.option(maybe(fc.boolean()), { nil: undefined })
}, { requiredKeys: ['uid', 'kind', 'resource', 'operation', 'object'] })

/** Mostly AdmissionReviews the apiserver could send; some with a broken envelope; some anything at all. */
export const admissionBody = fc.oneof(
  { arbitrary: fc.record({ apiVersion: fc.constant('admission.k8s.io/v1'), kind: fc.constant('AdmissionReview'), request: admissionRequest }), weight: 16 },
  { arbitrary: fc.record({ apiVersion: maybe(fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1')), kind: maybe(fc.constant('AdmissionReview')), request: maybe(admissionRequest) }, { requiredKeys: [] }), weight: 3 },
  { arbitrary: junk, weight: 1 }
)

/** A `?timeout=` as the apiserver or anyone else might write it. */
export const timeoutQuery = fc.option(fc.oneof(fc.constantFrom('10s', '30s', '1s', '500ms', '0', '-5s', '1h', '1m0s', 'abc', '1e9s', ''), fc.string({ maxLength: 6 })), { nil: undefined })

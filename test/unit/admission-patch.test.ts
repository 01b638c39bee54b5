import t from 'tap'
import jsonPatch from 'fast-json-patch'
import { annotationOperation, encodePatch, escapePointerToken, jsonPointer } from '../../src/admission/patch.js'

t.test('RFC 6901 escaping: ~ before /', async (t) => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['ate.dev/pinned-images', 'ate.dev~1pinned-images'],
    ['a~b', 'a~0b'],
    ['~/', '~0~1'],
    ['/~', '~1~0'],
    ['~1', '~01']
  ]
  for (const [token, escaped] of cases) t.equal(escapePointerToken(token), escaped, token)
  t.equal(jsonPointer(['spec', 'containers', 3, 'image']), '/spec/containers/3/image')
})

t.test('annotation ops work whatever metadata looks like, and apply strictly', async (t) => {
  const key = 'ate.dev/pinned-images'
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no metadata', { spec: {} }, 'add /metadata'],
    ['no annotations', { metadata: { name: 'x' } }, 'add /metadata/annotations'],
    ['annotations null', { metadata: { annotations: null } }, 'add /metadata/annotations'],
    ['other annotations', { metadata: { annotations: { a: 'b' } } }, 'add /metadata/annotations/ate.dev~1pinned-images'],
    ['key present', { metadata: { annotations: { [key]: 'old' } } }, 'replace /metadata/annotations/ate.dev~1pinned-images']
  ]
  for (const [name, object, expected] of cases) {
    const operation = annotationOperation(object, key, 'new')
    t.equal(`${operation.op} ${operation.path}`, expected, name)
    const result = jsonPatch.applyPatch(structuredClone(object), [operation], true, false).newDocument as { metadata: { annotations: Record<string, string> } }
    t.equal(result.metadata.annotations[key], 'new', `${name}: applies`)
  }
  const withTilde = annotationOperation({ metadata: { annotations: {} } }, 'x.io/a~b', 'v')
  t.equal(withTilde.path, '/metadata/annotations/x.io~1a~0b')
})

t.test('patch bytes are standard base64 with padding', async (t) => {
  const encoded = encodePatch([{ op: 'replace', path: '/spec/pauseImage', value: 'é' }])
  t.match(encoded, /^[A-Za-z0-9+/]+=*$/)
  t.equal(encoded.length % 4, 0)
  t.same(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')), [{ op: 'replace', path: '/spec/pauseImage', value: 'é' }])
})

import t from 'tap'
import { auditAnnotations, isValidAuditKey, pinAuditKey } from '../../src/admission/audit.js'
import type { Pin } from '../../src/admission/pin.js'
import { fitWarning, maxWarningLength, pinWarning } from '../../src/admission/warnings.js'

const digest = 'sha256:3f1e2a9b0c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7'
const pin = (original: string, extra: Partial<Pin> = {}): Pin => ({
  field: 'spec.containers[0].image',
  pointer: '/spec/containers/0/image',
  original,
  pinned: `${original}@${digest}`,
  digest,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  source: 'registry',
  ...extra
})

t.test('the product example, exactly', async (t) => {
  t.equal(pinWarning(pin('ghcr.io/acme/agent:1.4')), 'spec.containers[0].image: ghcr.io/acme/agent:1.4 pinned to sha256:3f1e2a9b0c4d… (index)')
  t.equal(pinWarning(pin('nginx', { mediaType: 'application/vnd.oci.image.manifest.v1+json' })), 'spec.containers[0].image: nginx pinned to sha256:3f1e2a9b0c4d… (manifest)')
  t.equal(pinWarning(pin('nginx', { source: 'old-object', mediaType: 'unknown' })), 'spec.containers[0].image: nginx kept at sha256:3f1e2a9b0c4d… (stored digest)')
})

t.test('long references are shortened in the middle, never past 120 characters', async (t) => {
  const long = `registry.example.com:5000/${'team/'.repeat(30)}agent:${'v'.repeat(100)}`
  const warning = pinWarning(pin(long))
  t.ok([...warning].length <= maxWarningLength, `${[...warning].length} characters`)
  t.match(warning, /^spec\.containers\[0\]\.image: registry\.example\.com:5000\/t…v+ pinned to sha256:3f1e2a9b0c4d… \(index\)$/)
})

t.test('no control characters or lone surrogates reach the apiserver', async (t) => {
  const cases = ['a\nb', 'a\tb', 'a\u0000b', 'a\u007fb', 'a\u0085b', 'a\ud800b', 'a\udc00b']
  for (const text of cases) {
    const fitted = fitWarning(text)
    t.notOk([...fitted].some((rune) => (rune.codePointAt(0) ?? 0) < 0x20 || ((rune.codePointAt(0) ?? 0) >= 0x7f && (rune.codePointAt(0) ?? 0) <= 0x9f)), JSON.stringify(text))
    t.equal(Buffer.from(fitted, 'utf8').toString('utf8'), fitted, `${JSON.stringify(text)} survives UTF-8`)
  }
  t.equal(fitWarning('emoji 😀 stays'), 'emoji 😀 stays', 'surrogate pairs are kept')
  t.equal([...fitWarning('😀'.repeat(200))].length, maxWarningLength, 'counted in characters, not UTF-16 units')
})

t.test('audit annotation keys are valid qualified-name parts', async (t) => {
  t.equal(pinAuditKey('spec.containers[9].image'), 'pin.spec.containers.9.image')
  t.equal(pinAuditKey('spec.pauseImage'), 'pin.spec.pauseImage')
  for (const key of ['pin.spec.containers.9.image', 'denied', 'a', 'A-b_c.d']) t.ok(isValidAuditKey(key), key)
  for (const key of ['', '-a', 'a-', 'a/b', 'a[0]', 'x'.repeat(64), 'spec.containers[0].image']) t.notOk(isValidAuditKey(key), JSON.stringify(key))
  t.same(auditAnnotations([['ok', '1'], ['not/ok', '2']]), { ok: '1' }, 'invalid keys are dropped before they leave')
  t.equal(auditAnnotations([['bad key', '1']]), undefined, 'nothing left, no field')
})

t.test('plain text takes the fast path with the same result as the per-code-point pass', async (t) => {
  // The original, slow definition: replace unsafe code points, count and cut in code points.
  const slow = (text: string, max = maxWarningLength): string => {
    const runes = [...text].map((rune) => {
      const code = rune.codePointAt(0) ?? 0
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff) ? ' ' : rune
    })
    return runes.length <= max ? runes.join('') : `${runes.slice(0, max - 1).join('')}…`
  }
  const alphabet = ['a', 'Z', '9', ' ', ':', '/', '@', 'é', '€', '😀', '\n', '\u0085', '\ud800', '\udc00', '\u007f']
  let seed = 7
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed }
  for (let round = 0; round < 500; round++) {
    const length = next() % 260
    const plain = round % 2 === 0
    const text = Array.from({ length }, () => alphabet[next() % (plain ? 8 : alphabet.length)] ?? 'a').join('')
    t.equal(fitWarning(text), slow(text), `round ${round}`)
    t.equal(fitWarning(text, 10), slow(text, 10), `round ${round}, max 10`)
  }
  t.equal(fitWarning('x'.repeat(121)), `${'x'.repeat(119)}…`, 'plain text longer than 120 is cut to 120 characters')
  t.equal(fitWarning('x'.repeat(120)), 'x'.repeat(120), 'exactly 120 stays whole')
})

import t from 'tap'
import { ErrorCode, InvalidReferenceError } from '../../src/errors.js'
import { digestAlgorithms, digestOf, isValidDigest, parseDigest, shortDigest } from '../../src/images/digest.js'

const hex64 = '0123456789abcdef'.repeat(4)
const hex128 = '0123456789abcdef'.repeat(8)
// FIPS 180-2 test vectors.
const sha256Empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const sha256Abc = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
const sha512Abc = 'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'

function thrown (fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

t.test('registered algorithms', async (t) => {
  t.same(Object.keys(digestAlgorithms), ['sha256', 'sha512'])
  t.equal(digestAlgorithms.sha256.hexLength, 64)
  t.equal(digestAlgorithms.sha512.hexLength, 128)
})

const valid: Array<[string, 'sha256' | 'sha512', string]> = [
  [`sha256:${hex64}`, 'sha256', hex64],
  [`sha512:${hex128}`, 'sha512', hex128],
  [sha256Empty, 'sha256', sha256Empty.slice(7)]
]

t.test('valid digests', async (t) => {
  for (const [text, algorithm, encoded] of valid) {
    const digest = parseDigest(text)
    t.equal(digest.algorithm, algorithm, text)
    t.equal(digest.encoded, encoded, text)
    t.equal(String(digest), text, 'toString gives the digest back unchanged')
    t.equal(isValidDigest(text), true)
  }
})

const invalid: Array<[string, string]> = [
  ['', 'must look like sha256:'],
  ['sha256', 'must look like sha256:'],
  ['sha256:', 'must look like sha256:'],
  [`:${hex64}`, 'must look like sha256:'],
  [`sha1:${'a'.repeat(40)}`, 'digest algorithm sha1 is not supported (use sha256 or sha512)'],
  [`md5:${'a'.repeat(32)}`, 'digest algorithm md5 is not supported'],
  [`sha384:${'a'.repeat(96)}`, 'digest algorithm sha384 is not supported'],
  [`blake3:${hex64}`, 'digest algorithm blake3 is not supported'],
  [`SHA256:${hex64}`, 'algorithm names are lowercase: sha256'],
  [`sha256+b64:${hex64}`, 'digest algorithm sha256+b64 is not supported'],
  [`sha256:${hex64.toUpperCase()}`, 'sha256 digest hex must be lowercase'],
  [`sha256:${hex64.slice(1)}`, 'sha256 digest must have 64 hex characters, got 63'],
  [`sha256:${hex64}0`, 'got 65'],
  [`sha512:${hex64}`, 'sha512 digest must have 128 hex characters, got 64'],
  [`sha256:${'g'.repeat(64)}`, 'only hex characters'],
  [`sha256:${hex64.slice(2)}==`, 'only hex characters'],
  [`sha256:${hex64}:x`, 'got 66']
]

t.test('invalid digests', async (t) => {
  for (const [text, reason] of invalid) {
    const error = thrown(() => parseDigest(text))
    if (!(error instanceof InvalidReferenceError)) {
      t.fail(`${JSON.stringify(text)} should throw InvalidReferenceError`)
      continue
    }
    t.equal(error.part, 'digest', text)
    t.equal(error.code, ErrorCode.invalidDigest)
    t.equal(error.reference, text)
    t.match(error.reason, reason, text)
    t.equal(isValidDigest(text), false)
  }
})

t.test('digestOf hashes the exact bytes', async (t) => {
  t.equal(digestOf(new Uint8Array()), sha256Empty)
  t.equal(digestOf(new TextEncoder().encode('abc')), sha256Abc)
  t.equal(digestOf(new TextEncoder().encode('abc'), 'sha512'), sha512Abc)
  t.ok(isValidDigest(digestOf(new TextEncoder().encode('{"schemaVersion":2}'))))
})

t.test('shortDigest', async (t) => {
  t.equal(shortDigest(sha256Empty), 'sha256:e3b0c44298fc…')
  t.equal(shortDigest(sha256Empty, 4), 'sha256:e3b0…')
  t.equal(shortDigest(sha512Abc), 'sha512:ddaf35a19361…')
  t.equal(shortDigest('sha256:abc'), 'sha256:abc', 'nothing to shorten')
  t.equal(shortDigest(sha256Empty, 64), sha256Empty, 'no ellipsis when nothing is cut')
})

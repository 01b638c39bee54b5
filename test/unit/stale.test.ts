import t from 'tap'
import { formatAge, staleCauseText } from '../../src/admission/stale-words.js'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { LastGoodDigests } from '../../src/registry/last-good.js'
import { StaleCause, staleCause } from '../../src/registry/stale.js'

// Issue 16 §3: which failures may fall back to an earlier digest, and the words that say so. Pure parts, table-driven.

const facts = { registry: 'r.example', repository: 'app', reference: '1' }
const socketError = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code })
const failure = (code: ErrorCode, extra: { status?: number, cause?: unknown } = {}): RegistryError =>
  new RegistryError(code, `failed with ${code}`, { ...facts, ...extra })

t.test('only outages may fall back; answers, bad responses and refusals never do', async (t) => {
  const cases: Array<[string, RegistryError, StaleCause | undefined]> = [
    ['503', failure(ErrorCode.registryUnavailable, { status: 503 }), StaleCause.unavailable],
    ['500 from the token server', failure(ErrorCode.registryUnavailable, { status: 500 }), StaleCause.unavailable],
    ['deadline passed', failure(ErrorCode.registryTimeout), StaleCause.timeout],
    ['429', failure(ErrorCode.registryRateLimited, { status: 429 }), StaleCause.rateLimited],
    ['connection refused', failure(ErrorCode.registryUnreachable, { cause: socketError('ECONNREFUSED') }), StaleCause.unreachable],
    ['connection reset', failure(ErrorCode.registryUnreachable, { cause: socketError('ECONNRESET') }), StaleCause.unreachable],
    ['socket closed (undici)', failure(ErrorCode.registryUnreachable, { cause: new Error('wrapped', { cause: socketError('UND_ERR_SOCKET') }) }), StaleCause.unreachable],
    ['DNS try again', failure(ErrorCode.registryUnreachable, { cause: socketError('EAI_AGAIN') }), StaleCause.unreachable],
    ['401', failure(ErrorCode.registryUnauthorized, { status: 401 }), undefined],
    ['403', failure(ErrorCode.registryDenied, { status: 403 }), undefined],
    ['404', failure(ErrorCode.registryNotFound, { status: 404 }), undefined],
    ['digest mismatch', failure(ErrorCode.digestMismatch), undefined],
    ['bad response', failure(ErrorCode.registryBadResponse, { status: 418 }), undefined],
    ['response too large', failure(ErrorCode.registryResponseTooLarge), undefined],
    ['blocked address', failure(ErrorCode.blockedAddress), undefined],
    ['token realm refused', failure(ErrorCode.tokenRealmRefused), undefined],
    ['credentials unavailable', failure(ErrorCode.credentialsUnavailable), undefined],
    ['untrusted certificate', failure(ErrorCode.registryUnreachable, { cause: socketError('DEPTH_ZERO_SELF_SIGNED_CERT') }), undefined],
    ['certificate for another host', failure(ErrorCode.registryUnreachable, { cause: socketError('ERR_TLS_CERT_ALTNAME_INVALID') }), undefined],
    ['name does not exist', failure(ErrorCode.registryUnreachable, { cause: socketError('ENOTFOUND') }), undefined],
    ['unreachable without a socket code', failure(ErrorCode.registryUnreachable, { cause: new Error('odd') }), undefined]
  ]
  for (const [name, error, expected] of cases) t.equal(staleCause(error), expected, name)
})

t.test('age: seconds, then whole minutes, then hours and minutes, rounded down', async (t) => {
  const cases: Array<[number, string]> = [
    [-5, '0s'], [0, '0s'], [999, '0s'], [45_000, '45s'], [59_999, '59s'], [60_000, '1m'], [240_000, '4m'], [299_999, '4m'],
    [3_599_999, '59m'], [3_600_000, '1h'], [7_500_000, '2h5m'], [86_400_000, '24h']
  ]
  for (const [ms, expected] of cases) t.equal(formatAge(ms), expected, `${ms} ms`)
})

t.test('cause words name the outage and the HTTP status when there was one', async (t) => {
  const cases: Array<[StaleCause, RegistryError, string]> = [
    [StaleCause.unavailable, failure(ErrorCode.registryUnavailable, { status: 503 }), 'registry unavailable (503)'],
    [StaleCause.timeout, failure(ErrorCode.registryTimeout), 'registry timed out'],
    [StaleCause.rateLimited, failure(ErrorCode.registryRateLimited, { status: 429 }), 'registry rate limited (429)'],
    [StaleCause.unreachable, failure(ErrorCode.registryUnreachable), 'registry unreachable']
  ]
  for (const [cause, error, expected] of cases) t.equal(staleCauseText({ cause, error }), expected, expected)
})

t.test('last good digests: inside the window, for outages only, bounded', async (t) => {
  let clock = 1_000_000
  const lastGood = new LastGoodDigests({ windowMs: 60_000, maxEntries: 2, now: () => clock })
  const answer = { digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.index.v1+json' }
  const outage = failure(ErrorCode.registryUnavailable, { status: 503 })
  lastGood.remember('a', answer)
  clock += 30_000
  t.match(lastGood.recall('a', outage), { ...answer, staleness: { resolvedAtMs: 1_000_000, ageMs: 30_000, cause: StaleCause.unavailable, error: outage } })
  t.equal(lastGood.recall('a', failure(ErrorCode.registryNotFound, { status: 404 })), undefined, 'a 404 is an answer')
  t.equal(lastGood.recall('b', outage), undefined, 'never resolved')
  clock += 30_000
  t.equal(lastGood.recall('a', outage)?.staleness.ageMs, 60_000, 'the window\'s last millisecond')
  clock += 1
  t.equal(lastGood.recall('a', outage), undefined, 'past the window')

  lastGood.remember('a', answer)
  lastGood.remember('b', answer)
  lastGood.remember('c', answer)
  t.equal(lastGood.recall('a', outage), undefined, 'the least recently used is forgotten at maxEntries')
  t.ok(lastGood.recall('c', outage))
})

import t from 'tap'
import { parseTokenResponse } from '../../src/registry/auth.js'

const now = Date.parse('2026-11-29T00:00:00Z')
const parse = (body: unknown): ReturnType<typeof parseTokenResponse> => parseTokenResponse(Buffer.from(JSON.stringify(body)), now)

t.same(parse({ token: 't', expires_in: 300 }), { token: 't', expiresAt: now + 290_000 }, 'token with expires_in, minus skew')
t.equal(parse({ token: 't', access_token: 'a' })?.token, 'a', 'access_token wins over token')
t.equal(parse({ token: 't' })?.expiresAt, now + 50_000, 'missing expires_in means 60 s')
t.equal(parse({ token: 't', expires_in: 5 })?.expiresAt, now + 50_000, 'expires_in below 60 is raised to 60')
t.equal(parse({ token: 't', expires_in: 300, issued_at: '2026-11-28T23:59:00Z' })?.expiresAt, now - 60_000 + 290_000, 'counts from issued_at')
t.equal(parse({ token: 't', expires_in: 300, issued_at: '2026-11-29T01:00:00Z' })?.expiresAt, now + 290_000, 'a future issued_at does not stretch the lifetime')
t.equal(parse({ token: '' }), undefined, 'empty token is no token')
t.equal(parse({ expires_in: 60 }), undefined, 'no token field')
t.equal(parseTokenResponse(Buffer.from('<html>'), now), undefined, 'garbage')
t.equal(parseTokenResponse(Buffer.from('null'), now), undefined, 'null')

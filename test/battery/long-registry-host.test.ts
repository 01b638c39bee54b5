import t from 'tap'
import { templateReview } from '../support/battery-reviews.js'
import { reviewOf, startBatteryWebhook } from '../support/battery-webhook.js'

// Issue 13 §1: a registry host of 256+ characters made the webhook drop the connection (OpenSSL refused the TLS
// server name with an exception outside the HTTP client's promise; fastify answered the apiserver's socket with a bare
// 400 "Client Error" and closed it, which the apiserver reports as a failed call). Now it is a grammar error, denied
// with a message through the usual AdmissionReview, and no lookup is attempted. Hosts of 253 characters or fewer are
// not sent here: their lookup would leave loopback.

function hostOf (n: number): string {
  const host = `${'h'.repeat(63)}.`.repeat(Math.ceil(n / 64)).slice(0, n)
  return host.endsWith('.') ? `${host.slice(0, -2)}.x` : host
}

t.test('issue 13: an overlong registry host is denied with a message, not a dropped connection', async (t) => {
  const webhook = await startBatteryWebhook(t)
  const cases: Array<[string, string, RegExp]> = [
    ['254', `${hostOf(254)}/team/app:v1`, /registry host must be at most 253 characters, got 254/],
    ['256', `${hostOf(256)}/team/app:v1`, /registry host must be at most 253 characters, got 256/],
    ['300 with a port', `${hostOf(300)}:5000/team/app:v1`, /registry host must be at most 253 characters, got 300/],
    ['4000', `${hostOf(4000)}/team/app:v1`, /registry host must be at most 253 characters, got 4000/],
    ['a 64-character label', `${'l'.repeat(64)}.example.com/team/app:v1`, /domain component "l{16}…" must be at most 63 characters, got 64/]
  ]
  for (const [name, image, message] of cases) {
    for (const path of ['/mutate', '/validate']) {
      const uid = `long-host-${name}-${path.slice(1)}`
      const answer = await webhook.admit(templateReview(uid, [image]), { path })
      t.equal(answer.status, 200, `${name} ${path}: HTTP 200`)
      const review = reviewOf(answer)
      t.equal(review?.response.uid, uid, `${name} ${path}: an AdmissionReview for this request`)
      t.equal(review?.response.allowed, false, `${name} ${path}: denied`)
      t.match(review?.response.status?.message, /^spec\.containers\[0\]\.image: ".*" is not a valid image reference: /)
      t.match(review?.response.status?.message, message, `${name} ${path}: says why`)
    }
  }
  const mutations = webhook.logs.lines.filter((line) => line['msg'] === 'admission' && line['webhook'] === 'mutate')
  t.same(mutations.map((line) => line['registryRequests']), cases.map(() => 0), 'no registry request for any of them')
  t.same(mutations.map((line) => line['reason']), cases.map(() => 'INVALID_REFERENCE'))
})

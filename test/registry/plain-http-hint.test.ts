import t from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { deadlineIn } from '../../src/registry/types.js'
import { buildOciImage } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { startResolver } from '../support/resolver-harness.js'

// A real plain-HTTP registry on loopback, resolved without `insecure`: our client speaks TLS to it, the registry
// answers in clear text, and the message says which flag or setting fixes it instead of OpenSSL's record-header line.

t.test('a plain-HTTP registry contacted over HTTPS names --insecure-registry and insecure: true', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  await push(registry, buildOciImage(), 'team/app', 'v1')
  const harness = startResolver(t, { registries: [{ host: registry.host }] })
  const result = await harness.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  const message = result.ok ? '' : result.error.message
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryUnreachable)
  t.equal(message, `${registry.host}/team/app:v1: registry ${registry.host} answered plain HTTP to HTTPS; if it is a plain-HTTP registry, ` +
    `pass --insecure-registry ${registry.host} (CLI) or set \`insecure: true\` (config)`)
  t.notMatch(message, /tls_validate_record_header|ERR_SSL/, 'no OpenSSL internals')

  const fixed = startResolver(t, { registries: [{ host: registry.host, insecure: true }] })
  const pinned = await fixed.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  t.ok(pinned.ok, 'the advice works: with insecure: true it pins')
})

t.test('a plain-HTTP mirror written with https:// is told to use http:// in its URL', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  await push(registry, buildOciImage(), 'team/app', 'v1')
  const harness = startResolver(t, { registries: [{ host: 'registry.example.test', mirror: `https://${registry.host}` }] })
  const result = await harness.resolver.resolveOne('registry.example.test/team/app:v1', deadlineIn(10_000))
  t.equal(result.ok ? '' : result.error.message, `registry.example.test/team/app:v1: registry registry.example.test (looked up at ${registry.host}) ` +
    `answered plain HTTP to HTTPS; if the mirror ${registry.host} is a plain-HTTP registry, write its URL with http:// in the mirror setting (config)`)
})

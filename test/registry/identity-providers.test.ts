import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { ErrorCode } from '../../src/errors.js'
import { credentialsFromConfig } from '../../src/registry/credentials-from-config.js'
import { deadlineIn } from '../../src/registry/types.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startMetadataServer, type MetadataServer } from '../support/metadata-server.js'
import { startRegistry } from '../support/registry.js'
import { registryConfigFor, startResolver } from '../support/resolver-harness.js'

// Issue 8: a token-auth registry that accepts only the identity the cluster gives us. The fixture metadata server
// plays GKE's; the helper script plays docker-credential-ecr-login.

async function metadataServer (t: Test, token: () => string): Promise<MetadataServer> {
  const server = await startMetadataServer(token)
  t.teardown(server.close)
  return server
}

t.test('a private tag resolves through the google provider, and a wrong identity is denied with advice', async (t) => {
  const identityToken = 'ya29.fixture-workload-identity'
  const registry = await startRegistry({ mode: 'token', t, username: 'oauth2accesstoken', password: identityToken, tokenServer: { requireCredentials: true, denyRepositories: ['team/secret'], denyWith: 403 } })
  const image = buildOciIndex()
  await push(registry, image, 'team/private', '1.0')
  let served = identityToken
  const metadata = await metadataServer(t, () => served)
  const config = loadConfig({}, {})
  const credentials = credentialsFromConfig({
    credentials: {
      ...config.credentials,
      providers: [{ provider: 'google', hosts: ['127.0.0.1:*'] }],
      google: { metadataTokenUrl: metadata.url, serviceAccount: 'actortemplate-webhook/actortemplate-webhook', timeoutSeconds: 2 }
    }
  }, () => {})
  const harness = startResolver(t, { registries: [registryConfigFor(registry)], credentials })
  const pinned = await harness.resolver.resolveOne(`${registry.host}/team/private:1.0`, deadlineIn(10_000))
  t.equal(pinned.ok ? pinned.pinned : pinned.error.message, `${registry.host}/team/private:1.0@${image.digest}`)
  t.equal(harness.events.at(-1)?.credentialSource, 'the google identity of ServiceAccount actortemplate-webhook/actortemplate-webhook', 'logs name the source')
  t.match(registry.tokenServer.requests().at(-1), { username: 'oauth2accesstoken' })

  const refused = await harness.resolver.resolveOne(`${registry.host}/team/secret:1.0`, deadlineIn(10_000))
  t.equal(refused.ok ? '' : refused.error.code, ErrorCode.registryDenied)
  t.match(refused.ok ? '' : refused.error.message,
    /answered 403 to the google identity of ServiceAccount actortemplate-webhook\/actortemplate-webhook; grant roles\/artifactregistry\.reader/)
  t.notMatch(refused.ok ? '' : refused.error.message, /ya29/, 'the token never appears')

  served = 'ya29.expired'
  const other = loadConfig({}, {})
  const stale = startResolver(t, {
    registries: [registryConfigFor(registry)],
    credentials: credentialsFromConfig({ credentials: { ...other.credentials, providers: [{ provider: 'google', hosts: ['127.0.0.1:*'] }], google: { metadataTokenUrl: metadata.url, serviceAccount: 'ns/sa', timeoutSeconds: 2 } } }, () => {})
  })
  const expired = await stale.resolver.resolveOne(`${registry.host}/team/private:1.0`, deadlineIn(10_000))
  t.equal(expired.ok ? '' : expired.error.code, ErrorCode.registryUnauthorized)
  t.match(expired.ok ? '' : expired.error.message, /answered 401 to the google identity of ServiceAccount ns\/sa/)
})

t.test('the metadata server being down is a denial that says so, not an anonymous request', async (t) => {
  const registry = await startRegistry({ mode: 'token', t, tokenServer: { requireCredentials: true } })
  await push(registry, buildOciIndex(), 'team/private', '1.0')
  const config = loadConfig({}, {})
  const harness = startResolver(t, {
    registries: [registryConfigFor(registry)],
    credentials: credentialsFromConfig({ credentials: { ...config.credentials, providers: [{ provider: 'google', hosts: ['127.0.0.1:*'] }], google: { metadataTokenUrl: 'http://127.0.0.1:9/token', serviceAccount: 'ns/sa', timeoutSeconds: 1 } } }, () => {})
  })
  const result = await harness.resolver.resolveOne(`${registry.host}/team/private:1.0`, deadlineIn(10_000))
  t.equal(result.ok ? '' : result.error.code, ErrorCode.credentialsUnavailable)
  t.match(result.ok ? '' : result.error.message, /no credentials for 127\.0\.0\.1:\d+: the GKE metadata server at 127\.0\.0\.1:9 did not answer/)
})

t.test('a private tag resolves through a docker credential helper', async (t) => {
  const registry = await startRegistry({ mode: 'token', t, tokenServer: { requireCredentials: true } })
  const image = buildOciIndex()
  await push(registry, image, 'team/private', '2.0')
  const dir = await mkdtemp(join(tmpdir(), 'atw-helper-'))
  const helper = join(dir, 'docker-credential-fixture')
  await writeFile(helper, `#!/bin/sh\nread server\n[ "$server" = "${registry.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${registry.username}","Secret":"${registry.password}"}' "$server"\n`)
  await chmod(helper, 0o755)
  const configFile = join(dir, 'config.yaml')
  await writeFile(configFile, `credentials:\n  providers: [{ provider: "helper:fixture", hosts: ["127.0.0.1:*"] }]\n  helpers: { paths: { fixture: ${helper} } }\n`)
  const harness = startResolver(t, { registries: [registryConfigFor(registry)], credentials: credentialsFromConfig(loadConfig({ configFile }, {}), () => {}) })
  const pinned = await harness.resolver.resolveOne(`${registry.host}/team/private:2.0`, deadlineIn(10_000))
  t.equal(pinned.ok ? pinned.pinned : pinned.error.message, `${registry.host}/team/private:2.0@${image.digest}`)
  t.equal(harness.events.at(-1)?.credentialSource, 'credential helper fixture')
})

import t from 'tap'
import { loadConfig, type RegistryConfig } from '../../src/config.js'
import { ErrorCode } from '../../src/errors.js'
import { normaliseAuthKey, parseDockerConfig, StaticCredentials } from '../../src/registry/credentials.js'
import { endpointFor } from '../../src/registry/endpoint.js'
import { realmMayReceiveCredentials, usableRealm, withheldBecause } from '../../src/registry/realm-policy.js'

// Issue 13 §2: which token realms may receive a registry's credentials (origins, not host names), which realms are
// followed at all, and Docker Hub's realm on another origin. Pure: no network.

function endpoint (registry: string, endpointHost: string = registry, settings: Partial<RegistryConfig> = {}) {
  const config = { registries: Object.keys(settings).length === 0 ? [] : [{ host: registry, insecure: false, allowLinkLocal: false, allowedRealmHosts: [], ...settings }] }
  return endpointFor(config, registry, endpointHost)
}

t.test('credentials go to the registry\'s own origin, a listed realm, or (for the Hub) auth.docker.io', async (t) => {
  const table: Array<[string, ReturnType<typeof endpoint>, string, boolean]> = [
    ['same origin', endpoint('registry.example'), 'https://registry.example/token', true],
    ['same origin, explicit default port', endpoint('registry.example'), 'https://registry.example:443/token', true],
    ['same host name, another port', endpoint('registry.example'), 'https://registry.example:8443/token', false],
    ['same host name and port, plain HTTP', endpoint('registry.example'), 'http://registry.example/token', false],
    ['registry with a port, realm on the bare host', endpoint('registry.example:5000'), 'https://registry.example/token', false],
    ['registry with a port, realm on the same port', endpoint('registry.example:5000'), 'https://registry.example:5000/token', true],
    ['another host', endpoint('registry.example'), 'https://auth.example/token', false],
    ['listed host, default port', endpoint('registry.example', 'registry.example', { allowedRealmHosts: ['auth.example'] }), 'https://auth.example/token', true],
    ['listed host, realm on another port', endpoint('registry.example', 'registry.example', { allowedRealmHosts: ['auth.example'] }), 'https://auth.example:8443/token', false],
    ['listed host:port', endpoint('registry.example', 'registry.example', { allowedRealmHosts: ['auth.example:8443'] }), 'https://auth.example:8443/token', true],
    ['listed host:443 means the default port', endpoint('registry.example', 'registry.example', { allowedRealmHosts: ['auth.example:443'] }), 'https://auth.example/token', true],
    ['listed in another case', endpoint('registry.example', 'registry.example', { allowedRealmHosts: ['Auth.Example'] }), 'https://auth.example/token', true],
    ['Docker Hub as docker.io', endpoint('docker.io', 'registry-1.docker.io'), 'https://auth.docker.io/token', true],
    ['Docker Hub as registry-1.docker.io', endpoint('registry-1.docker.io'), 'https://auth.docker.io/token', true],
    ['Docker Hub as index.docker.io', endpoint('index.docker.io'), 'https://auth.docker.io/token', true],
    ['Docker Hub realm over plain HTTP', endpoint('docker.io', 'registry-1.docker.io'), 'http://auth.docker.io/token', false],
    ['Docker Hub realm on another port', endpoint('docker.io', 'registry-1.docker.io'), 'https://auth.docker.io:8443/token', false],
    ['a look-alike of the Hub realm', endpoint('docker.io', 'registry-1.docker.io'), 'https://auth.docker.io.evil.example/token', false],
    ['another registry naming the Hub realm', endpoint('evil.example'), 'https://auth.docker.io/token', false],
    ['insecure registry, its own HTTP origin', endpoint('local.example:5000', 'local.example:5000', { insecure: true }), 'http://local.example:5000/token', true],
    ['insecure registry, HTTP realm on another port', endpoint('local.example:5000', 'local.example:5000', { insecure: true }), 'http://local.example:5001/token', false]
  ]
  for (const [name, target, realm, expected] of table) {
    t.equal(realmMayReceiveCredentials(new URL(realm), target), expected, `${name}: ${realm} for ${target.registry} -> ${expected ? 'credentials' : 'anonymous'}`)
  }
  t.match(withheldBecause(new URL('https://registry.example:8443/token'), endpoint('registry.example')),
    /registry\.example:8443 is not registry\.example's origin \(registry\.example\); list it in allowedRealmHosts/)
})

t.test('a plain-HTTP realm is followed only for a registry marked insecure', async (t) => {
  t.throws(() => usableRealm('http://auth.example/token', endpoint('registry.example'), 'team/app', 'v1'),
    { code: ErrorCode.tokenRealmRefused, message: /named a plain-HTTP token realm http:\/\/auth\.example; refused: only HTTPS realms are followed unless the registry is marked insecure/ })
  t.equal(usableRealm('http://auth.example/token', endpoint('registry.example', 'registry.example', { insecure: true }), 'team/app', 'v1').href, 'http://auth.example/token')
  t.equal(usableRealm('https://auth.example/token', endpoint('registry.example'), 'team/app', 'v1').href, 'https://auth.example/token')
  t.throws(() => usableRealm('ftp://auth.example/token', endpoint('registry.example'), 'team/app', 'v1'), { code: ErrorCode.registryBadResponse })
  t.throws(() => usableRealm('not a url', endpoint('registry.example'), 'team/app', 'v1'), { code: ErrorCode.registryBadResponse })
})

t.test('a realm whose host no DNS name can be is refused before any connection (issue 13 §1: SNI past 255 bytes)', async (t) => {
  const longHost = `${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.example`
  t.throws(() => usableRealm(`https://${longHost}/token`, endpoint('registry.example'), 'team/app', 'v1'),
    { code: ErrorCode.registryBadResponse, message: /token realm whose host is not a valid DNS name \(312 characters\)/ })
  t.throws(() => usableRealm(`https://${'b'.repeat(64)}.example/token`, endpoint('registry.example'), 'team/app', 'v1'),
    { code: ErrorCode.registryBadResponse })
  t.equal(usableRealm(`https://${'c'.repeat(63)}.example/token`, endpoint('registry.example'), 'team/app', 'v1').hostname, `${'c'.repeat(63)}.example`)
})

t.test('Docker Hub credentials match across its spellings', async (t) => {
  const spellings = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/', 'https://registry-1.docker.io/v2/', 'Docker.IO']
  for (const spelling of spellings) t.equal(normaliseAuthKey(spelling), 'docker.io', `${spelling} is Docker Hub`)
  for (const configured of ['https://index.docker.io/v1/', 'registry-1.docker.io', 'docker.io']) {
    const { credentials } = parseDockerConfig({ auths: { [configured]: { username: 'hubuser', password: 'hubpass' } } }, 'config.json')
    const source = new StaticCredentials(credentials)
    for (const written of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      t.match(await source.credentialFor(normaliseAuthKey(written)), { username: 'hubuser' }, `configured as ${configured}, used for ${written}`)
    }
  }
  t.equal(normaliseAuthKey('docker.io.evil.example'), 'docker.io.evil.example', 'a look-alike is not the Hub')
})

t.test('the default config knows no realm hosts: the Hub rule needs no configuration', async (t) => {
  const config = loadConfig({}, {})
  t.same(endpointFor(config, 'docker.io', 'registry-1.docker.io').settings.allowedRealmHosts, [])
})

// Issue 15 §5, the pure parts: what a docker config.json's credHelpers/credsStore name, where the CLI looks for the
// file, and how a mirror's path becomes the repository prefix. The end-to-end behaviour (a real helper executable, a
// real registry with basic auth, a mirror with a path) is test/cli/docker-config-credentials.test.ts.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { dockerConfigHelpers, helperServerUrl, parseDockerConfig } from '../../src/registry/credentials.js'
import { developerDockerConfigPath, withDeveloperDockerConfig } from '../../src/registry/credentials-developer.js'
import { endpointFor, repositoryAt } from '../../src/registry/endpoint.js'

t.test('credHelpers keys are normalised like auths keys; names that are not helper names are refused', async (t) => {
  const { helpers, problems } = dockerConfigHelpers({
    credHelpers: { 'https://index.docker.io/v1/': 'desktop', 'europe-docker.pkg.dev': 'gcloud', 'evil.example': '../../bin/sh', 'opt.example': '--help' },
    credsStore: 'osxkeychain'
  }, 'config.json /home/dev/.docker/config.json')
  t.same([...helpers.perRegistry], [['docker.io', 'desktop'], ['europe-docker.pkg.dev', 'gcloud']])
  t.equal(helpers.store, 'osxkeychain')
  t.same(problems, [
    'config.json /home/dev/.docker/config.json: credHelpers["evil.example"] "../../bin/sh" is not a credential helper name (docker-credential-<name>)',
    'config.json /home/dev/.docker/config.json: credHelpers["opt.example"] "--help" is not a credential helper name (docker-credential-<name>)'
  ])
  t.equal(dockerConfigHelpers({ credsStore: '' }, 'x').helpers.store, undefined, 'docker writes "credsStore": "" for none')
  t.equal(dockerConfigHelpers({ auths: {} }, 'x').helpers.perRegistry.size, 0)
})

t.test('helpers are asked for Docker Hub by its v1 index URL, other registries by host[:port]', async (t) => {
  t.equal(helperServerUrl('docker.io'), 'https://index.docker.io/v1/')
  t.equal(helperServerUrl('127.0.0.1:5000'), '127.0.0.1:5000')
})

t.test('beside a helper, the {} markers in auths are not broken entries; without one they are reported', async (t) => {
  const config = { auths: { 'ghcr.io': {} } }
  t.same(parseDockerConfig(config, 'x', true).problems, [])
  t.same(parseDockerConfig(config, 'x').problems, ['x: entry "ghcr.io" has no username/password or auth'])
  // A pull Secret is parsed, never executed: its credHelpers give no credential and start nothing.
  t.equal(parseDockerConfig({ credHelpers: { 'ghcr.io': 'anything' } }, 'Secret team-a/pull').credentials.size, 0)
})

t.test('the CLI reads $DOCKER_CONFIG/config.json, else ~/.docker/config.json, only when it exists', async (t) => {
  t.equal(developerDockerConfigPath({ DOCKER_CONFIG: '/etc/dev-docker' }, '/home/dev'), '/etc/dev-docker/config.json')
  t.equal(developerDockerConfigPath({}, '/home/dev'), '/home/dev/.docker/config.json')
  t.equal(developerDockerConfigPath({ DOCKER_CONFIG: '' }, '/home/dev'), '/home/dev/.docker/config.json')
  const dir = await mkdtemp(join(tmpdir(), 'atw-developer-'))
  const present = join(dir, 'config.json')
  await writeFile(present, '{"auths":{}}')
  const base = loadConfig({}, {})
  t.same(withDeveloperDockerConfig(base, true, present).credentials.dockerConfigFiles, [present])
  t.same(withDeveloperDockerConfig(base, false, present).credentials.dockerConfigFiles, [], '--no-docker-config')
  t.same(withDeveloperDockerConfig(base, true, join(dir, 'missing.json')).credentials.dockerConfigFiles, [], 'no file, no source')
})

t.test('a mirror path is a repository prefix; two mirrors on one origin stay apart', async (t) => {
  const config = {
    registries: [
      { host: 'docker.io', mirror: 'https://harbor.corp.example/dockerhub-proxy', insecure: false, allowLinkLocal: false, allowedRealmHosts: [] },
      { host: 'ghcr.io', mirror: 'https://harbor.corp.example/ghcr-proxy/', insecure: false, allowLinkLocal: false, allowedRealmHosts: [] },
      { host: 'localhost:5001', mirror: 'http://kind-registry:5000', insecure: true, allowLinkLocal: false, allowedRealmHosts: [] }
    ]
  }
  const hub = endpointFor(config, 'docker.io', 'registry-1.docker.io')
  const ghcr = endpointFor(config, 'ghcr.io', 'ghcr.io')
  t.equal(repositoryAt(hub, 'library/nginx'), 'dockerhub-proxy/library/nginx')
  t.equal(repositoryAt(ghcr, 'acme/agent'), 'ghcr-proxy/acme/agent')
  t.equal(repositoryAt(endpointFor(config, 'localhost:5001', 'localhost:5001'), 'acme/agent'), 'acme/agent', 'no path, no prefix')
  t.equal(repositoryAt(endpointFor(config, 'quay.io', 'quay.io'), 'a/b'), 'a/b', 'no mirror, no prefix')
  t.not(hub.baseUrl.href, ghcr.baseUrl.href, 'the resolver keys lookups by baseUrl.href + repository')
  t.equal(hub.baseUrl.host, 'harbor.corp.example')
})

t.test('config: a mirror may have a path, not a query or fragment', async (t) => {
  const write = async (mirror: string): Promise<string> => {
    const path = join(await mkdtemp(join(tmpdir(), 'atw-mirror-')), 'config.yaml')
    await writeFile(path, `registries:\n  - host: docker.io\n    mirror: "${mirror}"\n`)
    return path
  }
  t.equal(loadConfig({ configFile: await write('https://harbor.corp.example/dockerhub-proxy') }, {}).registries[0]?.mirror, 'https://harbor.corp.example/dockerhub-proxy')
  for (const bad of ['https://harbor.corp.example/p?x=1', 'https://harbor.corp.example/p#top', 'harbor.corp.example/p']) {
    const file = await write(bad)
    t.throws(() => loadConfig({ configFile: file }, {}), ConfigError, bad)
  }
})

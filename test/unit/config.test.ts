import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, registrySettings } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'

const writeConfig = async (text: string): Promise<string> => {
  const path = join(await mkdtemp(join(tmpdir(), 'atw-config-')), 'config.yaml')
  await writeFile(path, text)
  return path
}

t.test('defaults with no file at all', async (t) => {
  const config = loadConfig({}, {})
  t.equal(config.server.port, 8443)
  t.equal(config.server.bodyLimitBytes, 7 * 1024 * 1024)
  t.equal(config.resolver.cacheTtlSeconds, 0, 'digest cache is off by default')
  t.equal(config.resolver.manifestMethod, 'head')
  t.same(config.registries, [])
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.server), 'frozen')
  t.same(registrySettings(config, 'ghcr.io'), { host: 'ghcr.io', insecure: false, allowLinkLocal: false, allowedRealmHosts: [] }, 'unlisted registries are secure')
})

t.test('file, environment and flags layer in that order', async (t) => {
  const path = await writeConfig('server:\n  port: 9000\n  host: 127.0.0.1\nregistries:\n  - host: localhost:5001\n    mirror: http://kind-registry:5000\n')
  const config = loadConfig({ configFile: path, tlsCert: '/flag.crt', insecureRegistries: ['localhost:5001', '127.0.0.1:5000'] },
    { ATW_PORT: '9100', ATW_TLS_CERT: '/env.crt', ATW_LOG_LEVEL: 'debug' })
  t.equal(config.server.port, 9100, 'env beats file')
  t.equal(config.server.tlsCert, '/flag.crt', 'flag beats env')
  t.equal(config.server.host, '127.0.0.1')
  t.equal(config.logLevel, 'debug')
  t.same(config.registries.map((registry) => [registry.host, registry.insecure, registry.mirror]),
    [['localhost:5001', true, 'http://kind-registry:5000'], ['127.0.0.1:5000', true, undefined]], '--insecure-registry merges into listed hosts')
  t.equal(loadConfig({}, { ATW_CONFIG: path }).server.port, 9000, 'ATW_CONFIG names the file')
  const metrics = loadConfig({ configFile: path }, { ATW_METRICS_HOST: '127.0.0.1', ATW_METRICS_PORT: '9191' }).server
  t.same([metrics.metricsHost, metrics.metricsPort], ['127.0.0.1', 9191], 'the metrics listener from the environment')
  t.throws(() => loadConfig({}, { ATW_METRICS_PORT: 'ninety' }), /ATW_METRICS_PORT="ninety" is not a number/)
})

t.test('every problem is listed at once', async (t) => {
  const path = await writeConfig('server:\n  port: 70000\n  colour: blue\nresolver:\n  manifestMethod: post\nregistries:\n  - host: a.example\n  - host: a.example\n  - insecure: true\nextra: 1\n')
  const error = t.throws(() => loadConfig({ configFile: path }, {})) as ConfigError
  t.ok(error instanceof ConfigError)
  t.equal(error.code, 'INVALID_CONFIG')
  t.match(error.message, /server\.port: must be <= 65535/)
  t.match(error.message, /server: unknown key "colour"\n/, 'no suggestion when nothing is close')
  t.match(error.message, /resolver\.manifestMethod: must be one of head, get\n/)
  t.match(error.message, /registries\.2: must have required property 'host'/)
  t.match(error.message, /config: unknown key "extra"/)
  t.ok(error.problems.length >= 5, `${error.problems.length} problems listed`)
})

t.test('duplicate registries are refused', async (t) => {
  const path = await writeConfig('registries:\n  - host: a.example\n  - host: a.example\n')
  t.throws(() => loadConfig({ configFile: path }, {}), /host a\.example is listed twice/)
})

t.test('unreadable or malformed files are clear errors', async (t) => {
  t.throws(() => loadConfig({ configFile: '/nonexistent/config.yaml' }, {}), /cannot read config file \/nonexistent\/config\.yaml/)
  const broken = await writeConfig('a: [')
  const list = await writeConfig('- 1\n- 2\n')
  t.throws(() => loadConfig({ configFile: broken }, {}), /not valid YAML/)
  t.throws(() => loadConfig({ configFile: list }, {}), /mapping at the top level/)
  t.throws(() => loadConfig({}, { ATW_PORT: 'eighty' }), /ATW_PORT="eighty" is not a number/)
})

t.test('resolver.burstWindowMs: 1 s by default, 0 to 10 s allowed', async (t) => {
  t.equal(loadConfig({ configFile: await writeConfig('resolver:\n  burstWindowMs: 0\n') }, {}).resolver.burstWindowMs, 0)
  for (const value of ['-1', '10001', '1.5', 'soon']) {
    const path = await writeConfig(`resolver:\n  burstWindowMs: ${value}\n`)
    t.throws(() => loadConfig({ configFile: path }, {}), /burstWindowMs/, `burstWindowMs: ${value} is refused`)
  }
})

t.test('config errors say what to write instead', async (t) => {
  const problems = (overrides: Parameters<typeof loadConfig>[0], env: NodeJS.ProcessEnv = {}): readonly string[] => {
    const error = t.throws(() => loadConfig(overrides, env))
    return error instanceof ConfigError ? error.problems : [`not a ConfigError: ${String(error)}`]
  }
  const file = await writeConfig('registry:\n  - host: a.example\nresolver:\n  manifestMethd: get\n  maxAtempts: 2\nregistries:\n  - host: b.example\n    insecur: true\n' +
    'certificates:\n  mode: auto\nlogLevel: verbose\n')
  t.same([...problems({ configFile: file })].sort(), [
    'certificates.mode: must be one of files, self-managed',
    'config: unknown key "registry" (did you mean "registries"?)',
    'logLevel: must be one of fatal, error, warn, info, debug, trace, silent',
    'registries.0: unknown key "insecur" (did you mean "insecure"?)',
    'resolver: unknown key "manifestMethd" (did you mean "manifestMethod"?)',
    'resolver: unknown key "maxAtempts" (did you mean "maxAttempts"?)'
  ], 'allowed values listed, the nearest key at that level suggested')
  const near = await writeConfig('Server:\n  port: 1\nkube:\n  timeout: 1\n')
  t.same([...problems({ configFile: near })].sort(), ['config: unknown key "Server" (did you mean "server"?)', 'kube: unknown key "timeout"'],
    'case is ignored; no guess when no key is close')

  t.same(problems({}, { ATW_PORT: 'abc' }), ['ATW_PORT="abc" is not a number'], 'the variable, as it was set')
  t.same(problems({ port: 1.5 }, { ATW_PORT: 'abc' }), ['--port "1.5" is not a number'], 'the flag wins and is named')
  t.same(problems({}, { ATW_PORT: '70000' }), ['server.port: must be <= 65535 (from ATW_PORT="70000")'])
  t.same(problems({ port: 70000 }), ['server.port: must be <= 65535 (from --port 70000)'])
  t.same(problems({}, { ATW_LOG_LEVEL: 'loud' }), ['logLevel: must be one of fatal, error, warn, info, debug, trace, silent (from ATW_LOG_LEVEL="loud")'])
  t.same(problems({ logLevel: 'loud' }, { ATW_LOG_LEVEL: 'info' }), ['logLevel: must be one of fatal, error, warn, info, debug, trace, silent (from --log-level loud)'])
  t.same(problems({}, { ATW_SERVICE_NAME: 'Bad_Name' }), ['certificates.serviceName: must match pattern "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$" (from ATW_SERVICE_NAME="Bad_Name")'])
  t.same(problems({ insecureRegistries: ['bad/host'] }), ['registries.0.host: must match pattern "^[A-Za-z0-9.\\-\\[\\]:]+$" (from --insecure-registry bad/host)'])
  t.same(problems({}, { ATW_INSECURE_REGISTRIES: 'ok.example,bad/host' }),
    ['registries.1.host: must match pattern "^[A-Za-z0-9.\\-\\[\\]:]+$" (from ATW_INSECURE_REGISTRIES="ok.example,bad/host")'])
  const fromFile = await writeConfig('server:\n  port: 70000\n')
  t.same(problems({ configFile: fromFile }), ['server.port: must be <= 65535'], 'a value from the file names its path alone')
})

import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry, type RegistryMode } from '../support/registry.js'

for (const mode of ['http', 'basic', 'token'] as RegistryMode[]) {
  t.test(`resolve against the ${mode} registry`, async (t) => {
    const registry = await startRegistry({ mode, t })
    const image = buildOciIndex()
    await push(registry, image, 'team/app', '1.4')
    const dir = await mkdtemp(join(tmpdir(), 'atw-cli-'))
    const configFile = join(dir, 'config.yaml')
    const dockerConfig = join(dir, 'config.json')
    await writeFile(dockerConfig, JSON.stringify({ auths: registry.username === undefined ? {} : { [registry.host]: { username: registry.username, password: registry.password } } }))
    await writeFile(configFile, stringify({
      registries: registry.tls ? [{ host: registry.host, caFile: registry.caFile }] : [],
      credentials: { dockerConfigFiles: [dockerConfig] }
    }))
    const args = ['resolve', '--config', configFile, ...(registry.tls ? [] : ['--insecure-registry', registry.host]), '--timeout', '20',
      `${registry.host}/team/app:1.4`, `${registry.host}/team/app:missing`, `${registry.host}/team/app`]
    const io = captureIo()
    t.equal(await main(args, io), 1, 'exit 1 when any reference fails')
    t.equal(io.out(), `${registry.host}/team/app:1.4@${image.digest}\n`, 'one pinned reference per line on stdout')
    t.match(io.err(), new RegExp(`team/app:missing: .*answered 404 MANIFEST_UNKNOWN`))
    t.match(io.err(), /team\/app: .*:latest.*404/, 'an untagged reference is looked up as :latest')

    const ok = captureIo()
    t.equal(await main(args.slice(0, -2), ok), 0, 'exit 0 when all resolve')
  })
}

t.test('usage errors exit 2', async (t) => {
  const none = captureIo()
  t.equal(await main(['resolve'], none), 2)
  t.match(none.err(), /needs at least one image reference/)
  const bad = captureIo()
  t.equal(await main(['resolve', '--timeout', 'soon', 'a/b:1'], bad), 2)
  t.match(bad.err(), /--timeout must be a number/)
  const unknown = captureIo()
  t.equal(await main(['resolve', '--colour', 'a/b:1'], unknown), 2)
  t.match(unknown.err(), /Unknown option '--colour'/)
  const config = captureIo()
  t.equal(await main(['resolve', '--config', '/nonexistent.yaml', 'a/b:1'], config), 2)
  t.match(config.err(), /cannot read config file/)
  const malformed = captureIo()
  t.equal(await main(['resolve', '--timeout', '1', 'UPPER/Case:1'], malformed), 1, 'a malformed reference is a per-reference failure')
  t.match(malformed.err(), /must be lowercase/)
})

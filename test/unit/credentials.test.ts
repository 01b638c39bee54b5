import { mkdtemp, writeFile, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ChainedCredentials, DockerConfigFile, normaliseAuthKey, parseDockerConfig, StaticCredentials } from '../../src/registry/credentials.js'

const b64 = (text: string): string => Buffer.from(text).toString('base64')

t.test('auth keys normalise to the host references use', async (t) => {
  const table: Array<[string, string]> = [
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['https://GHCR.io/v2/', 'ghcr.io'],
    ['http://localhost:5001', 'localhost:5001'],
    ['europe-docker.pkg.dev/project/repo', 'europe-docker.pkg.dev']
  ]
  for (const [key, host] of table) t.equal(normaliseAuthKey(key), host, key)
})

t.test('docker config parsing', async (t) => {
  const { credentials, problems } = parseDockerConfig({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
      'ghcr.io': { username: 'octo', password: 'pat' },
      'broken.example': { auth: b64('nocolon') },
      'empty.example': {}
    }
  }, 'secret team-a/pull')
  t.same(credentials.get('docker.io'), { username: 'hubuser', password: 'hub:pass', source: 'secret team-a/pull' }, 'password may contain ":"')
  t.same(credentials.get('ghcr.io'), { username: 'octo', password: 'pat', source: 'secret team-a/pull' })
  t.equal(credentials.size, 2)
  t.equal(problems.length, 2)
  t.match(problems[0], /broken\.example/)
  t.notMatch(problems.join(' '), /nocolon|pat|hub:pass/, 'problems never echo secrets')
  t.match(parseDockerConfig(null, 'x').problems[0], /no "auths"/)
})

t.test('config.json on disk is re-read when it changes and kept when it breaks', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-creds-'))
  const path = join(dir, 'config.json')
  await writeFile(path, JSON.stringify({ auths: { 'r.example': { auth: b64('a:1') } } }))
  let now = 0
  const problems: string[] = []
  const file = new DockerConfigFile(path, (problem) => problems.push(problem), 1000, () => now)
  t.equal((await file.credentialFor('r.example'))?.password, '1')
  await writeFile(path, JSON.stringify({ auths: { 'r.example': { auth: b64('a:2') } } }))
  await utimes(path, new Date(), new Date(Date.now() + 5000))
  t.equal((await file.credentialFor('r.example'))?.password, '1', 'not re-checked before recheckMs')
  now = 2000
  t.equal((await file.credentialFor('r.example'))?.password, '2', 're-read after a change')
  await writeFile(path, '{ half written')
  await utimes(path, new Date(), new Date(Date.now() + 10000))
  now = 4000
  t.equal((await file.credentialFor('r.example'))?.password, '2', 'last good credentials survive a broken file')
  t.match(problems.at(-1), /cannot read docker config/)
})

t.test('the first source that knows a registry wins', async (t) => {
  const first = new StaticCredentials(new Map([['a.example', { username: 'u1', password: 'p1', source: 'first' }]]))
  const second = new StaticCredentials(new Map([
    ['a.example', { username: 'u2', password: 'p2', source: 'second' }],
    ['b.example', { username: 'u3', password: 'p3', source: 'second' }]
  ]))
  const chain = new ChainedCredentials([first, second])
  t.equal((await chain.credentialFor('a.example'))?.source, 'first')
  t.equal((await chain.credentialFor('b.example'))?.source, 'second')
  t.equal(await chain.credentialFor('c.example'), undefined)
})

t.test('concurrent first lookups all wait for the one read of config.json', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-creds-'))
  const path = join(dir, 'config.json')
  await writeFile(path, JSON.stringify({ auths: { 'r.example': { auth: b64('a:1') } } }))
  const file = new DockerConfigFile(path)
  const answers = await Promise.all(Array.from({ length: 5 }, async () => await file.credentialFor('r.example')))
  t.ok(answers.every((credential) => credential?.password === '1'), 'no caller saw an unread file')
})

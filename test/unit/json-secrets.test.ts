import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { credentialsFromSecret } from '../../src/kube/pull-secrets.js'
import { DockerConfigFile } from '../../src/registry/credentials.js'
import { parseJsonText } from '../../src/registry/json-text.js'

// Issue 13 §2: a broken docker config or pull Secret must never quote itself into an error or a log line; V8's
// SyntaxError does (`…"password":Hunter2-SE"… is not valid JSON`). The error says where, never what.

const secret = 'Hunter2-SE-9f3a'
// V8 quotes about ten characters around the error, so any piece of the password is a leak.
const leak = /Hunter2/
const broken: Array<[string, string, RegExp]> = [
  ['an unquoted password', `{"auths":{"r.example":{"username":"u","password":${secret}"}}}`, /is not valid JSON/],
  ['a missing comma on line 3', `{\n  "auths": {\n    "r.example": {"username": "u" "password": "${secret}"}\n  }\n}`, /is not valid JSON \(line 3, column \d+\)/],
  ['an unterminated string', `{"auths":{"r.example":{"password":"${secret}`, /is not valid JSON \(line 1, column \d+\)/],
  ['a trailing comma', `{"auths":{"r.example":{"password":"${secret}",}}}`, /is not valid JSON/]
]

t.test('parseJsonText names the position, never the text', async (t) => {
  for (const [name, text, pattern] of broken) {
    const error = (() => { try { parseJsonText(text, 'the file'); return undefined } catch (e) { return e as Error } })()
    t.match(error?.message, pattern, `${name}: ${error?.message ?? 'parsed'}`)
    t.notMatch(error?.message, leak, `${name}: no secret in the message`)
    t.equal(error?.cause, undefined, `${name}: V8's SyntaxError is not kept as cause`)
    t.notMatch(JSON.stringify(error, Object.getOwnPropertyNames(error ?? {})), leak, `${name}: nor anywhere on the error`)
  }
})

t.test('a broken docker config file is reported by path and position only', async (t) => {
  const path = join(await mkdtemp(join(tmpdir(), 'atw-json-')), 'config.json')
  for (const [name, text] of broken) {
    await writeFile(path, text)
    const problems: string[] = []
    await new DockerConfigFile(path, (message) => problems.push(message), 0).credentialFor('r.example')
    t.match(problems.join('\n'), new RegExp(`cannot read docker config ${path}: the file is not valid JSON`), name)
    t.notMatch(problems.join('\n'), leak, `${name}: ${problems.join('; ')}`)
  }
})

t.test('a broken pull Secret is reported by Secret, key and position only', async (t) => {
  for (const [name, text] of broken) {
    const { problems } = credentialsFromSecret({ metadata: { name: 'pull', namespace: 'team-a' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(text).toString('base64') } }, 'secret team-a/pull')
    t.match(problems.join('\n'), /secret team-a\/pull: \.dockerconfigjson is not valid JSON/, name)
    t.notMatch(problems.join('\n'), leak, `${name}: ${problems.join('; ')}`)
  }
})

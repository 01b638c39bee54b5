import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { writeTlsFiles } from '../support/tls.js'
import { captureIo } from './io.js'

/**
 * issue 18: `outdated` in cluster mode before any registry is asked: the kubeconfig, the context, and an apiserver
 * that refuses or fails the list are input errors (exit 2) that say what to fix. The apiserver here is a real local
 * HTTPS server, so the request really leaves @kubernetes/client-node.
 */

const dir = await mkdtemp(join(tmpdir(), 'atw-outdated-kube-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const tls = await writeTlsFiles(join(dir, 'tls'))
const requests: string[] = []
const apiserver = createServer({ cert: tls.certPem, key: tls.keyPem }, (request, response) => {
  requests.push(request.url ?? '')
  response.writeHead(403, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403,
    message: 'actortemplates.ate.dev is forbidden: User "dev" cannot list resource "actortemplates" in API group "ate.dev" in the namespace "team-a"' }))
})
await new Promise<void>((resolve) => apiserver.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => apiserver.close(() => { resolve() })))
const address = apiserver.address()
const port = typeof address === 'object' && address !== null ? address.port : 0

const kubeconfig = join(dir, 'kubeconfig')
await writeFile(kubeconfig, `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: { server: "https://127.0.0.1:${port}", certificate-authority: "${tls.caFile}" }
users:
- name: dev
  user: { token: not-a-secret }
contexts:
- name: dev
  context: { cluster: local, user: dev, namespace: team-a }
current-context: dev
`)

t.test('a list the apiserver forbids: exit 2 with its message; the context namespace is the default', async (t) => {
  const io = captureIo()
  t.equal(await main(['outdated', '--kubeconfig', kubeconfig], io), 2)
  t.match(io.err(), 'list ActorTemplates in namespace team-a: HTTP 403: actortemplates.ate.dev is forbidden: User "dev" cannot list')
  t.equal(io.out(), '')
  t.match(requests.at(-1), /^\/apis\/ate\.dev\/v1alpha1\/namespaces\/team-a\/actortemplates\?/, 'the namespaced list of the context namespace')
  t.match(requests.at(-1), 'limit=250', 'paged')
})

t.test('-A and -l reach the apiserver as the all-namespaces list and labelSelector', async (t) => {
  const io = captureIo()
  t.equal(await main(['outdated', '--kubeconfig', kubeconfig, '-A', '-l', 'tier=gold'], io), 2)
  t.match(io.err(), 'list ActorTemplates in all namespaces: HTTP 403')
  const url = new URL(requests.at(-1) ?? '', 'http://x')
  t.equal(url.pathname, '/apis/ate.dev/v1alpha1/actortemplates')
  t.equal(url.searchParams.get('labelSelector'), 'tier=gold')
})

t.test('a context that does not exist, an unreadable kubeconfig: exit 2, nothing asked', async (t) => {
  const before = requests.length
  const missingContext = captureIo()
  t.equal(await main(['outdated', '--kubeconfig', kubeconfig, '--context', 'prod'], missingContext), 2)
  t.match(missingContext.err(), `cannot load the kubeconfig ${kubeconfig}: no context "prod" in the kubeconfig`)
  const missingFile = captureIo()
  t.equal(await main(['outdated', '--kubeconfig', join(dir, 'nope')], missingFile), 2)
  t.match(missingFile.err(), `cannot load the kubeconfig ${join(dir, 'nope')}: `)
  t.equal(requests.length, before)
})

t.test('help and the command list', async (t) => {
  const help = captureIo()
  t.equal(await main(['outdated', '--help'], help), 0)
  t.match(help.out(), 'usage: actortemplate-webhook outdated')
  t.match(help.out(), 'Exit 0 when nothing moved, 1 when an image moved, 2 on errors')
  const overview = captureIo()
  t.equal(await main(['--help'], overview), 0)
  t.match(overview.out(), /commands: .*outdated/)
})

t.test('an empty list: exit 0, and a note saying where it looked', async (t) => {
  const empty = createServer({ cert: tls.certPem, key: tls.keyPem }, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplateList', metadata: { resourceVersion: '1' }, items: [] }))
  })
  await new Promise<void>((resolve) => empty.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => empty.close(() => { resolve() })))
  const emptyAddress = empty.address()
  const emptyPort = typeof emptyAddress === 'object' && emptyAddress !== null ? emptyAddress.port : 0
  const config = join(dir, 'empty-kubeconfig')
  await writeFile(config, (await readFile(kubeconfig, 'utf8')).replace(`127.0.0.1:${port}`, `127.0.0.1:${emptyPort}`))
  const io = captureIo()
  t.equal(await main(['outdated', '--kubeconfig', config, '-l', 'tier=gold'], io), 0)
  t.equal(io.out(), '0 templates of 0 outdated: 0 of 0 tagged images moved\n')
  t.equal(io.err(), `note: no ActorTemplate in namespace team-a matching tier=gold at https://127.0.0.1:${emptyPort}\n`)
})

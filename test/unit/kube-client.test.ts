import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import t from 'tap'
import { KubeApiError } from '../../src/kube/api.js'
import { createKubeApi } from '../../src/kube/client.js'

/**
 * The client-node adapter against a loopback HTTP server that answers like the apiserver: this pins the paths, verbs,
 * content types and error mapping. Behaviour against a real kube-apiserver is the e2e suite's job.
 */

interface Seen { method: string, url: string, contentType: string | undefined, body: string }

async function fakeApiserver (t: { teardown: (fn: () => void) => void }, answer: (seen: Seen, response: ServerResponse) => void) {
  const seen: Seen[] = []
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', contentType: request.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }
      seen.push(entry)
      answer(entry, response)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'me', token: 'token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'me' }],
    currentContext: 'fake'
  })
  return { seen, kubeConfig }
}

function json (response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message })

t.test('Secrets: read (404 is undefined), create, replace with resourceVersion, and 409 as a conflict', async (t) => {
  const { seen, kubeConfig } = await fakeApiserver(t, (request, response) => {
    if (request.method === 'GET' && request.url.endsWith('/secrets/absent')) return json(response, 404, status(404, 'NotFound', 'secrets "absent" not found'))
    if (request.method === 'GET') return json(response, 200, { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'certs', namespace: 'ns', resourceVersion: '7' }, type: 'Opaque', data: { a: 'Yg==' } })
    if (request.method === 'POST') return json(response, 409, status(409, 'AlreadyExists', 'secrets "certs" already exists'))
    const body = JSON.parse(request.body) as { metadata: { resourceVersion: string } }
    if (body.metadata.resourceVersion !== '7') return json(response, 409, status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again'))
    return json(response, 200, { ...body, metadata: { ...body.metadata, resourceVersion: '8' } })
  })
  const api = await createKubeApi({ requestTimeoutMs: 5000, kubeConfig })
  t.equal(await api.readSecret('ns', 'absent'), undefined)
  const secret = await api.readSecret('ns', 'certs')
  t.match(secret, { metadata: { name: 'certs', resourceVersion: '7' }, type: 'Opaque', data: { a: 'Yg==' } })
  const replaced = await api.replaceSecret('ns', { ...secret, metadata: { name: 'certs', resourceVersion: '7' }, data: { b: 'Yw==' } })
  t.equal(replaced.metadata.resourceVersion, '8')
  const stale = await api.replaceSecret('ns', { metadata: { name: 'certs', resourceVersion: '6' } }).catch((error: unknown) => error)
  t.match(stale, { name: 'KubeApiError', reason: 'conflict', status: 409, message: /update Secret ns\/certs: HTTP 409: the object has been modified/ })
  const exists = await api.createSecret('ns', { metadata: { name: 'certs' } }).catch((error: unknown) => error)
  t.match(exists, { reason: 'conflict', message: /already exists/ })
  t.same(seen.map((request) => `${request.method} ${request.url.split('?')[0] ?? ''}`), [
    'GET /api/v1/namespaces/ns/secrets/absent',
    'GET /api/v1/namespaces/ns/secrets/certs',
    'PUT /api/v1/namespaces/ns/secrets/certs',
    'PUT /api/v1/namespaces/ns/secrets/certs',
    'POST /api/v1/namespaces/ns/secrets'
  ])
})

t.test('webhook configurations: caBundle read per webhook, strategic-merge patch keyed by webhook name, 403 as forbidden', async (t) => {
  const { seen, kubeConfig } = await fakeApiserver(t, (request, response) => {
    if (request.url.includes('/validatingwebhookconfigurations/')) return json(response, 403, status(403, 'Forbidden', 'cannot patch resource'))
    if (request.url.includes('/mutatingwebhookconfigurations/gone')) return json(response, 404, status(404, 'NotFound', 'not found'))
    json(response, 200, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'pin.actortemplates.ate.dev' },
      webhooks: [{ name: 'pin.actortemplates.ate.dev', clientConfig: { caBundle: 'QQ==', service: { name: 's', namespace: 'n' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' }]
    })
  })
  const api = await createKubeApi({ requestTimeoutMs: 5000, kubeConfig })
  t.same(await api.readWebhookCaBundles('mutating', 'pin.actortemplates.ate.dev'), [{ name: 'pin.actortemplates.ate.dev', caBundle: 'QQ==' }])
  t.equal(await api.readWebhookCaBundles('mutating', 'gone'), undefined)
  await api.patchWebhookCaBundles('mutating', 'pin.actortemplates.ate.dev', ['pin.actortemplates.ate.dev'], 'Qg==')
  const patch = seen.at(-1)
  t.equal(patch?.method, 'PATCH')
  t.equal(patch?.url.split('?')[0], '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pin.actortemplates.ate.dev')
  t.equal(patch?.contentType, 'application/strategic-merge-patch+json')
  t.same(JSON.parse(patch?.body ?? '{}'), { webhooks: [{ name: 'pin.actortemplates.ate.dev', clientConfig: { caBundle: 'Qg==' } }] })
  const denied = await api.patchWebhookCaBundles('validating', 'validate.actortemplates.ate.dev', ['v'], 'Qg==').catch((error: unknown) => error)
  t.ok(denied instanceof KubeApiError)
  t.match(denied, { reason: 'forbidden', status: 403, message: /patch caBundle of validating webhook configuration validate.actortemplates.ate.dev: HTTP 403: cannot patch resource/ })
})

t.test('a call that outlives requestTimeoutMs is aborted and reported as a timeout', async (t) => {
  const { kubeConfig } = await fakeApiserver(t, () => { /* never answers */ })
  const api = await createKubeApi({ requestTimeoutMs: 200, kubeConfig })
  const started = Date.now()
  const error = await api.readSecret('ns', 'slow').catch((caught: unknown) => caught)
  t.match(error, { name: 'KubeApiError', reason: 'timeout', message: /read Secret ns\/slow/ })
  t.ok(Date.now() - started < 3000, 'gave up promptly')
})

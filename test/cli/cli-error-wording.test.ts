import { createServer } from 'node:net'
import t from 'tap'
import { problemFromError } from '../../src/admission/response.js'
import { main } from '../../src/cli/main.js'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { captureIo } from './io.js'

// Issue 15 §4: a resolve error names the reference once, and CLI errors do not send the user to "the webhook".

async function refusingPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

t.test('resolve: the reference once, advice for this machine', async (t) => {
  const host = `127.0.0.1:${await refusingPort()}`
  const reference = `${host}/acme/agent:1.4`
  const io = captureIo()
  t.equal(await main(['resolve', '--insecure-registry', host, '--timeout', '5', reference], io), 1)
  t.equal(io.err(), `${reference}: registry ${host}: connection refused (is the registry running?); check that the registry host is right and reachable from this machine\n`)
  t.equal(io.err().split(`${host}/acme/agent`).length - 1, 1, 'the reference appears once')
  t.notMatch(io.err(), /webhook/)
})

t.test('resolve: a malformed reference is named once too', async (t) => {
  const io = captureIo()
  t.equal(await main(['resolve', '--timeout', '1', 'UPPER/Case:1'], io), 1)
  t.equal(io.err(), 'UPPER/Case:1: not a valid image reference: repository name must be lowercase\n')
})

t.test('resolve: an untagged reference says the tag looked up, still naming the reference once', async (t) => {
  const host = `127.0.0.1:${await refusingPort()}`
  const io = captureIo()
  t.equal(await main(['resolve', '--insecure-registry', host, '--timeout', '5', `${host}/acme/agent`], io), 1)
  t.match(io.err(), new RegExp(`^${host}/acme/agent: looked up as :latest: registry ${host}: connection refused`))
  t.equal(io.err().split(`${host}/acme/agent`).length - 1, 1)
})

t.test('pin: the same failure says "from this machine", not "from the webhook"', async (t) => {
  const host = `127.0.0.1:${await refusingPort()}`
  const template = { apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { name: 'x' }, spec: { pauseImage: `${host}/pause@sha256:${'a'.repeat(64)}`, containers: [{ name: 'agent', image: `${host}/acme/agent:1.4` }] } }
  const io = captureIo(JSON.stringify(template))
  t.equal(await main(['pin', '--insecure-registry', host, '--timeout', '5', '-'], io), 1)
  t.match(io.err(), `-: ActorTemplate x: spec.containers[0].image: cannot pin ${host}/acme/agent:1.4: registry ${host}: connection refused (is the registry running?); check that the registry host is right and reachable from this machine\n`)
  t.notMatch(io.err(), /webhook/)
})

t.test('the webhook keeps its own wording', async (t) => {
  const error = new RegistryError(ErrorCode.registryUnreachable, 'registry r.example: connection refused', { registry: 'r.example', repository: 'a', reference: '1' })
  t.match(problemFromError('spec.containers[0].image', 'r.example/a:1', error).message, /reachable from the webhook$/)
  t.match(problemFromError('spec.containers[0].image', 'r.example/a:1', error, 'cli').message, /reachable from this machine$/)
  const timeout = new RegistryError(ErrorCode.registryTimeout, 'registry r.example: no answer', { registry: 'r.example', repository: 'a', reference: '1' })
  t.match(problemFromError('f', 'r.example/a:1', timeout).message, /the webhook timeoutSeconds$/)
  t.match(problemFromError('f', 'r.example/a:1', timeout, 'cli').message, /raise --timeout$/)
})

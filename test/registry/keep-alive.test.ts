import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { deadlineIn } from '../../src/registry/types.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 17 §1: CREATEs arrive rarely, so a connection to the registry must survive minutes of idleness; with undici's
// default keep-alive (4 s) every rare admission paid a new TCP (and TLS) handshake. Real HTTP servers on loopback that
// keep idle connections without limit, as docker-registry (Go's net/http) does; each request records the client's
// port, which names the socket. A registry that announces `Keep-Alive: timeout=N` is taken at its word.

const digest = `sha256:${'ab'.repeat(32)}`

interface ManifestServer {
  host: string
  /** the client port of every manifest request, in order */
  ports: number[]
  connections: () => number
}

async function manifestServer (t: Test, keepAliveHint: number | undefined): Promise<ManifestServer> {
  const ports: number[] = []
  let connections = 0
  const server: Server = createServer((request, response) => {
    ports.push(request.socket.remotePort ?? -1)
    const headers: Record<string, string> = {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'docker-content-digest': digest,
      'content-length': '2'
    }
    // Node's own hint is off (keepAliveTimeout 0 below); this one is what a registry may send.
    if (keepAliveHint !== undefined) headers['keep-alive'] = `timeout=${keepAliveHint}`
    response.writeHead(request.url === '/v2/team/app/manifests/v1' ? 200 : 404, headers)
    response.end(request.method === 'HEAD' ? undefined : '{}')
  })
  // No idle timeout and no Keep-Alive header, like docker-registry: the connection stays until the client closes it.
  server.keepAliveTimeout = 0
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, ports, connections: () => connections }
}

t.test('issue 17: a lookup after 35 s idle reuses the socket; a registry that announces a 3 s keep-alive gets a new one', async (t) => {
  const silent = await manifestServer(t, undefined)
  const hinted = await manifestServer(t, 3)
  const harness = startResolver(t, { registries: [{ host: silent.host, insecure: true }, { host: hinted.host, insecure: true }] })
  const lookUp = async (host: string): Promise<void> => {
    const result = await harness.resolver.resolveOne(`${host}/team/app:v1`, deadlineIn(10_000))
    t.ok(result.ok, `${host} pinned`)
  }
  await Promise.all([lookUp(silent.host), lookUp(hinted.host)])
  t.equal(harness.transport.openSockets, 2, 'both connections kept after the first lookups')

  // Longer than undici's default (4 s) and than the 30 s this transport used before issue 17.
  const idleMs = 35_000
  t.comment(`idle for ${idleMs / 1000} s`)
  await new Promise((resolve) => setTimeout(resolve, idleMs))
  t.equal(harness.transport.openSockets, 1, 'only the connection to the registry without a keep-alive limit is still open')
  await Promise.all([lookUp(silent.host), lookUp(hinted.host)])

  t.equal(silent.ports.length, 2, 'two manifest requests to the registry without a hint')
  t.equal(silent.ports[1], silent.ports[0], 'the second lookup used the same socket as the first')
  t.equal(silent.connections(), 1, 'one TCP connection in all')
  t.equal(hinted.ports.length, 2, 'two manifest requests to the registry with Keep-Alive: timeout=3')
  t.not(hinted.ports[1], hinted.ports[0], 'we closed that idle connection before the registry would, and opened a new one')
  t.equal(hinted.connections(), 2, 'two TCP connections there')
})

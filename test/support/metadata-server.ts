import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for the GKE metadata server's token endpoint: answers `token()` as access_token to requests that carry
 * `Metadata-Flavor: Google` (403 otherwise, as the real one does), and counts every request it gets.
 */
export interface MetadataServer {
  url: string
  requests: () => number
  close: () => void
}

export async function startMetadataServer (token: () => string, host = '127.0.0.1', port = 0): Promise<MetadataServer> {
  let requests = 0
  const server = createServer((request, response) => {
    requests++
    if (request.headers['metadata-flavor'] !== 'Google') {
      response.writeHead(403).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token(), expires_in: 3599, token_type: 'Bearer' }))
  })
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  const address = server.address() as AddressInfo
  return {
    url: `http://${host}:${address.port}/computeMetadata/v1/instance/service-accounts/default/token`,
    requests: () => requests,
    close: () => { server.close() }
  }
}

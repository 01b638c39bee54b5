import { createServer } from 'node:net'

/** A TCP port that was free on `host` a moment ago (listen on port 0, read it, close). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error(`could not determine a free port on ${host}`))
      })
    })
  })
}

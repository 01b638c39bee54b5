import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { freePort, spawnChild, type Child } from './processes.js'
import { cleanEnv } from './servers.js'

/**
 * A latency proxy on loopback (issue 17 §1): Shopify's toxiproxy, built by scripts/build-toxiproxy.sh. Each proxy
 * forwards one TCP port to one upstream; a `latency` toxic of rtt/2 on each direction makes every exchange on it pay
 * one round trip. toxiproxy accepts the client's TCP connection itself, so the TCP handshake is NOT delayed: round
 * trips counted on this path are the ones above TCP (TLS handshake, HTTP exchanges).
 */

export interface Toxiproxy {
  /** a proxy listening on 127.0.0.1:<port> forwarding to `upstream` ('127.0.0.1:PORT'); returns its 'host:port' */
  proxy: (name: string, upstream: string) => Promise<string>
  /** the round trip every proxy adds from now on (connections already open included) */
  setRoundTrip: (rttMs: number) => Promise<void>
  close: () => Promise<void>
}

export async function startToxiproxy (binary: string, logFile: string): Promise<Toxiproxy> {
  const port = await freePort()
  const api = `http://127.0.0.1:${port}`
  // Not pinned: the proxy stands for the network, not for a server under test.
  const child: Child = spawnChild('toxiproxy', binary, ['-host', '127.0.0.1', '-port', String(port)], logFile, { env: cleanEnv(), pin: false })
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const response = await request(`${api}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    })
    const text = await response.body.text()
    if (response.statusCode >= 300) throw new Error(`toxiproxy ${method} ${path}: ${response.statusCode} ${text}`)
    // /version answers plain text; the proxy and toxic endpoints answer JSON.
    return text.startsWith('{') ? JSON.parse(text) : text
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await call('GET', '/version')
      break
    } catch (error) {
      if (attempt > 200) {
        await child.stop()
        throw new Error(`toxiproxy did not start (see ${logFile}): ${String(error)}`)
      }
      await sleep(25)
    }
  }
  const names: string[] = []
  return {
    proxy: async (name, upstream) => {
      const created = await call('POST', '/proxies', { name, listen: '127.0.0.1:0', upstream, enabled: true }) as { listen: string }
      for (const stream of ['upstream', 'downstream']) {
        await call('POST', `/proxies/${name}/toxics`, { name: `latency_${stream}`, type: 'latency', stream, toxicity: 1, attributes: { latency: 0, jitter: 0 } })
      }
      names.push(name)
      return created.listen
    },
    setRoundTrip: async (rttMs) => {
      // Half the round trip each way: a request and its answer together pay rttMs.
      for (const name of names) {
        for (const stream of ['upstream', 'downstream']) {
          await call('POST', `/proxies/${name}/toxics/latency_${stream}`, { attributes: { latency: rttMs / 2, jitter: 0 } })
        }
      }
    },
    close: child.stop
  }
}

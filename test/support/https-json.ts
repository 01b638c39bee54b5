/**
 * One JSON exchange with a webhook on 127.0.0.1 over TLS, trusting only the given CA and checking the certificate
 * names localhost: what the apiserver does, without kube-apiserver.
 */
import { request } from 'node:https'

export interface JsonAnswer { status: number, json: unknown }

export async function httpsJson (port: number, ca: string, method: string, path: string, body?: unknown): Promise<JsonAnswer> {
  return await new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers = payload === undefined ? {} : { 'content-type': 'application/json' }
    const call = request({ host: '127.0.0.1', port, method, path, ca, servername: 'localhost', timeout: 10_000, headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        try {
          resolve({ status: response.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) as unknown })
        } catch (error) {
          reject(new Error(`${method} ${path}: answer is not JSON (${response.statusCode ?? 0}): ${text.slice(0, 200)}`, { cause: error }))
        }
      })
    })
    call.on('timeout', () => call.destroy(new Error(`${method} ${path}: no answer within 10 s`)))
    call.on('error', reject)
    call.end(payload)
  })
}

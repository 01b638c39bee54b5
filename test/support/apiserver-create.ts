/**
 * Creates an object through the real kube-apiserver's REST API, as kubectl would but without a process per request:
 * the grammar table sends a few hundred templates. Optionally a server-side dry run (admission runs in full, nothing is
 * stored). Returns the HTTP status, the Status message on a denial, and the Warning headers.
 */
import { request } from 'node:https'
import type { Cluster } from './cluster.js'

export interface CreateAnswer { status: number, message: string, warnings: string[], body: unknown }

type ApiCluster = Pick<Cluster, 'server' | 'token' | 'caPem'>

/** POST /apis/ate.dev/v1alpha1/namespaces/NS/actortemplates[?dryRun=All]. */
export async function createActorTemplate (cluster: ApiCluster, namespace: string, object: unknown, options: { dryRun?: boolean } = {}): Promise<CreateAnswer> {
  const url = new URL(`/apis/ate.dev/v1alpha1/namespaces/${namespace}/actortemplates${options.dryRun === true ? '?dryRun=All' : ''}`, cluster.server)
  const payload = JSON.stringify(object)
  return await new Promise((resolve, reject) => {
    const call = request(url, {
      method: 'POST',
      ca: cluster.caPem,
      timeout: 60_000,
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
    }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown
        try {
          body = JSON.parse(text) as unknown
        } catch {
          body = text
        }
        const message = typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string' ? body.message : ''
        // RFC 7234 warn-value `299 - "text"`, one header per warning (headersDistinct keeps them apart).
        const warnings = (response.headersDistinct['warning'] ?? [])
          .map((value) => /^299 - "(.*)"$/s.exec(value)?.[1]?.replaceAll('\\"', '"') ?? value)
        resolve({ status: response.statusCode ?? 0, message, warnings, body })
      })
    })
    call.on('timeout', () => call.destroy(new Error(`POST ${url.pathname}: no answer within 60 s`)))
    call.on('error', reject)
    call.end(payload)
  })
}

import type { Dispatcher } from 'undici'
import { BodyLimit, BodyTooLargeError } from './body-limits.js'

/**
 * Reads a response body up to a cap. A 2xx body over `maxBytes` is an error; an error body over BodyLimit.errorBody
 * is dropped (the status is the answer). Either way reading stops and the connection is destroyed, so a server
 * sending gigabytes costs us the cap, not the drain (issue 13 §1). A Content-Length over the cap is refused unread.
 */
export async function readCapped (response: Dispatcher.ResponseData, maxBytes: number): Promise<{ body: Buffer | undefined, discarded: boolean }> {
  const success = response.statusCode >= 200 && response.statusCode < 300
  const limit = success ? maxBytes : Math.min(maxBytes, BodyLimit.errorBody)
  const header = response.headers['content-length']
  const declared = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined
  const over = (): { body: undefined, discarded: true } => {
    response.body.destroy()
    if (success) throw new BodyTooLargeError(limit, response.statusCode, declared !== undefined && declared > limit ? declared : undefined)
    return { body: undefined, discarded: true }
  }
  if (declared !== undefined && declared > limit) return over()
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    length += chunk.length
    if (length > limit) {
      chunks.length = 0
      return over()
    }
    chunks.push(chunk)
  }
  return { body: Buffer.concat(chunks), discarded: false }
}

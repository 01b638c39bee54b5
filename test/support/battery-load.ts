/**
 * The battery's load driver (issue 7): admissions at a steady rate over real HTTPS keep-alive connections with
 * undici, open-loop (a slow answer never delays the next send), each answer recorded with its latency.
 *
 *   const samples = await steadyStream({ ratePerSecond: 5, durationMs: batteryMs(8), send: (i) => post(agent, url, body(i)) })
 *
 * Durations are short by default so `npm test` stays bounded; `npm run test:soak` sets ATW_SOAK=1 and every stream
 * runs for 60 s (or ATW_SOAK_SECONDS). Only test support reads these variables.
 */
import { readdirSync, readlinkSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'

/** The stream length: `shortSeconds` normally, 60 s (or ATW_SOAK_SECONDS) under `npm run test:soak`. */
export function batteryMs (shortSeconds: number): number {
  if (process.env['ATW_SOAK'] !== '1') return shortSeconds * 1000
  const soak = Number(process.env['ATW_SOAK_SECONDS'] ?? '60')
  return (Number.isFinite(soak) && soak > 0 ? soak : 60) * 1000
}

export const soak = (): boolean => process.env['ATW_SOAK'] === '1'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** parsed JSON when the body is JSON, else the text */
  body: unknown
}

export interface Sample {
  index: number
  /** ms since the stream started */
  sentAt: number
  latencyMs: number
  answer?: Answer
  /** the client-side error code (ECONNREFUSED, UND_ERR_SOCKET, …) when no answer arrived */
  error?: string
}

/** A keep-alive client for the webhook; `connections` bounds the pool like an apiserver's transport does. */
export function webhookAgent (caPem: string | string[], connections = 16): Agent {
  return new Agent({ connect: { ca: caPem }, connections, keepAliveTimeout: 30_000, pipelining: 1 })
}

export async function postJson (agent: Agent, url: string, body: unknown, options: { reset?: boolean, timeoutMs?: number } = {}): Promise<Answer> {
  const response = await request(url, {
    method: 'POST',
    dispatcher: agent,
    reset: options.reset ?? false,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headersTimeout: options.timeoutMs ?? 30_000,
    bodyTimeout: options.timeoutMs ?? 30_000
  })
  return await readAnswer(response)
}

export async function getPath (agent: Agent, url: string, reset = false): Promise<Answer> {
  return await readAnswer(await request(url, { dispatcher: agent, reset, headersTimeout: 10_000, bodyTimeout: 10_000 }))
}

async function readAnswer (response: Awaited<ReturnType<typeof request>>): Promise<Answer> {
  const text = await response.body.text()
  let body: unknown = text
  if (String(response.headers['content-type'] ?? '').startsWith('application/json')) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  return { status: response.statusCode, headers: response.headers, body }
}

export function errorCode (error: unknown): string {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = (current as { cause?: unknown }).cause
  }
  return error instanceof Error ? error.message : String(error)
}

export interface StreamOptions {
  ratePerSecond: number
  durationMs: number
  send: (index: number) => Promise<Answer>
  /** stop early (e.g. the server is gone); checked before each send */
  until?: () => boolean
}

/** Sends `ratePerSecond` requests a second for `durationMs`, never waiting for answers, then waits for all of them. */
export async function steadyStream (options: StreamOptions): Promise<Sample[]> {
  const intervalMs = 1000 / options.ratePerSecond
  const count = Math.max(1, Math.round(options.durationMs / intervalMs))
  const started = performance.now()
  const pending: Array<Promise<Sample>> = []
  for (let index = 0; index < count; index++) {
    const due = started + index * intervalMs
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    if (options.until?.() === true) break
    const sentAt = performance.now()
    pending.push(options.send(index).then(
      (answer) => ({ index, sentAt: sentAt - started, latencyMs: performance.now() - sentAt, answer }),
      (error: unknown) => ({ index, sentAt: sentAt - started, latencyMs: performance.now() - sentAt, error: errorCode(error) })))
  }
  return await Promise.all(pending)
}

/** Repeats `probe` every `everyMs` until `stop` settles; returns what each probe gave. */
export async function probeWhile<T> (stop: Promise<unknown>, everyMs: number, probe: () => Promise<T>): Promise<T[]> {
  const results: T[] = []
  let done = false
  void stop.finally(() => { done = true })
  while (!done) {
    results.push(await probe())
    await Promise.race([sleep(everyMs), stop.catch(() => {})])
  }
  return results
}

/**
 * Sockets this process holds open (listeners and both ends of loopback connections count), from its file
 * descriptors; Node's own handle list would miss idle keep-alive sockets, which are unref'd.
 */
export function openSockets (): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) count++
    } catch {
      // closed between the listing and the read
    }
  }
  return count
}

/** Polls until `condition` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually (condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return true
    if (Date.now() >= deadline) return false
    await sleep(everyMs)
  }
}

export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
}

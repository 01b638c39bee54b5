import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { requestSignal } from '../../src/registry/request-signal.js'

/**
 * Issue 17: each registry exchange gets its own signal, aborted by the admission's signal or by the per-request
 * timeout, and released when the exchange is over so no timer outlives it (an uncancellable AbortSignal.timeout used
 * to fire seconds after every finished lookup).
 */

t.test('the timeout aborts with a TimeoutError, as AbortSignal.timeout did', async (t) => {
  const { signal, release } = requestSignal(new AbortController().signal, 20)
  await sleep(80)
  t.ok(signal.aborted)
  t.equal((signal.reason as Error).name, 'TimeoutError')
  release()
})

t.test('the admission signal aborting aborts the exchange with the same reason', async (t) => {
  const admission = new AbortController()
  const { signal, release } = requestSignal(admission.signal, 60_000)
  const reason = new DOMException('budget spent', 'TimeoutError')
  admission.abort(reason)
  t.ok(signal.aborted)
  t.equal(signal.reason, reason)
  release()
})

t.test('an admission signal aborted before the exchange gives an aborted signal at once', async (t) => {
  const admission = new AbortController()
  admission.abort(new Error('gone'))
  const { signal } = requestSignal(admission.signal, 60_000)
  t.ok(signal.aborted)
  t.equal((signal.reason as Error).message, 'gone')
})

t.test('release clears the timer and forgets the admission signal', async (t) => {
  const admission = new AbortController()
  const { signal, release } = requestSignal(admission.signal, 20)
  release()
  await sleep(80)
  t.notOk(signal.aborted, 'the timer did not fire after release')
  admission.abort(new Error('later'))
  t.notOk(signal.aborted, 'a later abort of the admission does not reach a released exchange')
})

t.test('the timer does not keep a process alive on its own', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const started = Date.now()
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e',
    "const { requestSignal } = await import('./src/registry/request-signal.ts'); requestSignal(new AbortController().signal, 30000)"],
  { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' })
  t.equal(child.status, 0, child.stderr)
  t.ok(Date.now() - started < 25_000, 'the process exited without waiting for the 30 s timer')
})

import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseGoDuration, resolveBudgetMs } from '../../src/admission/deadline.js'
import { deadlineIn } from '../../src/registry/types.js'

t.test('Go durations as client-go writes them', async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ['10s', 10_000], ['30s', 30_000], ['1m0s', 60_000], ['1m30s', 90_000], ['500ms', 500], ['1.5s', 1500],
    ['2h', 7_200_000], ['1500us', 1.5], ['1µs', 0.001],
    ['', undefined], ['0', undefined], ['0s', undefined], ['10', undefined], ['s', undefined], ['10x', undefined],
    ['-5s', undefined], ['10s ', undefined], ['1e3s', undefined]
  ]
  for (const [text, ms] of cases) t.equal(parseGoDuration(text), ms, JSON.stringify(text))
})

t.test('budget: timeout minus margin, capped, never below half the timeout', async (t) => {
  const settings = { maxResolveSeconds: 8, safetyMarginMs: 1500 }
  t.equal(resolveBudgetMs('10s', settings), 8000, 'capped by maxResolveSeconds')
  t.equal(resolveBudgetMs('5s', settings), 3500, 'timeout minus margin')
  t.equal(resolveBudgetMs('2s', settings), 1000, 'half the timeout when the margin would leave less')
  t.equal(resolveBudgetMs(undefined, settings), 8000, 'no query: the cap')
  t.equal(resolveBudgetMs('soon', settings), 8000, 'unreadable query: the cap')
  t.equal(resolveBudgetMs('30s', { maxResolveSeconds: 30, safetyMarginMs: 1500 }), 28_500)
})

t.test('a deadline makes its signal on first use, and that signal still aborts by the deadline', async (t) => {
  // AbortSignal.timeout does not keep the process alive; this does, until the test ends.
  const alive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(alive) })
  const deadline = deadlineIn(150, 1_000)
  t.equal(deadline.at, 1_150, 'at is the given clock plus the budget')
  await sleep(100)
  const signal = deadline.signal
  t.equal(deadline.signal, signal, 'one signal per deadline')
  t.notOk(signal.aborted, 'not aborted while budget remains')
  const reason = await new Promise<unknown>((resolve) => { signal.addEventListener('abort', () => { resolve(signal.reason) }, { once: true }) })
  t.equal((reason as Error).name, 'TimeoutError', 'aborts as a timeout')
  const spent = deadlineIn(20)
  await sleep(60)
  const late = spent.signal
  await new Promise((resolve) => { if (late.aborted) resolve(undefined); else late.addEventListener('abort', resolve, { once: true }) })
  t.ok(late.aborted, 'a signal first read after its budget ran out aborts at once')
})

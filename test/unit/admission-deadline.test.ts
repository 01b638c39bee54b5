import t from 'tap'
import { parseGoDuration, resolveBudgetMs } from '../../src/admission/deadline.js'

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

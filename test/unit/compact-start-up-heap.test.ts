import { getHeapSpaceStatistics } from 'node:v8'
import t from 'tap'
import { compactStartUpHeap } from '../../src/http/compact-start-up-heap.js'

/**
 * Issue 17 §3: serve gives back the young generation that start-up grew (src/http/compact-start-up-heap.ts). Here the
 * young generation is grown the same way, by many objects that survive a few scavenges, and must be back near its
 * minimum afterwards; the application's global must not have gained a gc().
 */

function newSpaceMb (): number {
  const space = getHeapSpaceStatistics().find((candidate) => candidate.space_name === 'new_space')
  if (space === undefined) throw new Error('V8 reports no new_space')
  return space.space_size / 1024 / 1024
}

t.test('the memory-reducing collection shrinks a grown young generation', async (t) => {
  let kept: Array<{ index: number, text: string }> = []
  for (let round = 0; round < 40; round++) {
    // Survivors make V8 grow the semi-spaces, as module loading does.
    kept = kept.concat(Array.from({ length: 20_000 }, (_, index) => ({ index, text: `object ${index} of round ${round}` })))
    if (kept.length > 200_000) kept = kept.slice(100_000)
  }
  const grown = newSpaceMb()
  t.ok(kept.length > 0, 'survivors were kept while growing it')
  kept = []
  const durationMs = compactStartUpHeap()
  const after = newSpaceMb()
  t.comment(`new space ${grown.toFixed(1)} MB → ${after.toFixed(1)} MB; the collection took ${durationMs?.toFixed(1) ?? '?'} ms`)
  t.type(durationMs, 'number', 'V8 offered the collection')
  t.ok(grown > after, 'the young generation shrank')
  t.ok(after <= 2, `back near its minimum (${after.toFixed(1)} MB)`)
  t.equal((globalThis as { gc?: unknown }).gc, undefined, 'no gc() left on the application\'s global')
})

t.test('it can run again (a second serve in one process) and still finds V8\'s collector', async (t) => {
  t.type(compactStartUpHeap(), 'number')
  t.type(compactStartUpHeap(), 'number')
})

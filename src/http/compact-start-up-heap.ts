import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * Issue 17 §3: loading serve's ~430 modules grows V8's young generation to its limit (the image's
 * --max-semi-space-size=4: 8 MB committed, ~1 MB of it in use once serving) and nothing shrinks it again. An idle
 * replica makes almost no garbage, so V8 never runs the memory-reducing collection that would: measured, VmRSS stays
 * at 84 MB from 2 s to 60 s after /readyz. One such collection when start-up is done gives it back (−8 MB of idle
 * RSS, ~50–70 ms once, before the first admission can arrive). Under load V8 grows the young generation again as
 * before; only the idle figure changes.
 *
 * V8's gc() with flavor "last-resort" is that collection (CollectAllAvailableGarbage, which also shrinks new space); a
 * plain major gc() leaves new space at 8 MB (measured). Node exposes gc() only under --expose-gc, so unless the
 * operator set it, the flag is switched on just long enough to take gc() from a fresh context (what jest's leak
 * detector does), then off again: the application's own global never gets a gc.
 */

type Collect = (options: { type: 'major', flavor: 'last-resort' }) => void

function collector (): Collect | undefined {
  const exposed: unknown = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') return exposed as Collect
  setFlagsFromString('--expose-gc')
  try {
    const fromContext: unknown = runInNewContext('gc')
    return typeof fromContext === 'function' ? fromContext as Collect : undefined
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

/** Runs V8's memory-reducing full collection once; returns how long it took in ms, or undefined if V8 offers none. */
export function compactStartUpHeap (): number | undefined {
  const collect = collector()
  if (collect === undefined) return undefined
  const started = performance.now()
  collect({ type: 'major', flavor: 'last-resort' })
  return performance.now() - started
}

/**
 * The signal for one registry exchange: aborted when the admission's own signal is, or after `timeoutMs`, and a
 * release() to call once the exchange is over.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: a timeout signal's timer cannot be cancelled, so every
 * finished request left one behind that fired seconds later, built a DOMException and dispatched an abort nobody was
 * waiting for, ~55 µs of CPU per lookup (issue 17, `bench/lookup-loop.ts`); and each any() stayed registered on the
 * admission's signal until that was collected. Here the timer is cleared and the listener removed on release, and the
 * same TimeoutError is made only when the timeout really fires (transport-errors.ts recognises it by name).
 */
export interface RequestSignal {
  readonly signal: AbortSignal
  release: () => void
}

export function requestSignal (parent: AbortSignal, timeoutMs: number): RequestSignal {
  const controller = new AbortController()
  if (parent.aborted) {
    controller.abort(parent.reason)
    return { signal: controller.signal, release: () => {} }
  }
  const onParentAbort = (): void => { controller.abort(parent.reason) }
  parent.addEventListener('abort', onParentAbort, { once: true })
  const timer = setTimeout(() => {
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
  }, timeoutMs)
  // Like AbortSignal.timeout's: a pending registry request must not keep a stopping process alive on its own.
  timer.unref()
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer)
      parent.removeEventListener('abort', onParentAbort)
    }
  }
}

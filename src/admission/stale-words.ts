import { StaleCause, type Staleness } from '../registry/stale.js'

/**
 * The words a stale pin is shown with (issue 16 §3): how old the digest is and why the registry was not asked, short
 * enough for a kubectl warning of at most 120 characters.
 */

/** 0–59 s as seconds, then whole minutes, then hours and minutes: `45s`, `4m`, `2h5m`. Rounded down, never younger. */
export function formatAge (ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000))
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`
}

const causeWords: Record<StaleCause, string> = {
  [StaleCause.unavailable]: 'registry unavailable',
  [StaleCause.timeout]: 'registry timed out',
  [StaleCause.rateLimited]: 'registry rate limited',
  [StaleCause.unreachable]: 'registry unreachable'
}

/** `registry unavailable (503)`, `registry timed out` */
export function staleCauseText (stale: Pick<Staleness, 'cause' | 'error'>): string {
  const status = stale.error.status
  return status === undefined ? causeWords[stale.cause] : `${causeWords[stale.cause]} (${status})`
}

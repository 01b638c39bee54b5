import { shortDigest } from '../images/digest.js'
import { isIndexMediaType } from '../registry/types.js'
import type { Pin } from './pin.js'
import { formatAge, staleCauseText } from './stale-words.js'

/**
 * kubectl `Warning:` lines. The apiserver silently drops a warning holding a control character or invalid UTF-8, and
 * the API asks for ≤120 characters (spec-checklist §A), so every warning passes through fitWarning.
 */

export const maxWarningLength = 120
const ellipsis = '…'

// C0, DEL, C1 and lone surrogates (which would not survive as UTF-8) all make the apiserver drop the whole warning.
function isUnsafe (rune: string): boolean {
  const code = rune.codePointAt(0) ?? 0
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff)
}

// Nearly every warning is plain text: no unit here means nothing to replace and UTF-16 length = code points, so the
// per-code-point pass below (a measurable share of a warm admission, BENCHMARKS.md) is skipped.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const mayNeedCare = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/
const hasSurrogate = /[\ud800-\udfff]/

function runeLength (text: string): number {
  return hasSurrogate.test(text) ? [...text].length : text.length
}

export function fitWarning (text: string, max: number = maxWarningLength): string {
  if (!mayNeedCare.test(text)) return text.length <= max ? text : `${text.slice(0, max - 1)}${ellipsis}`
  // Spreading a string yields code points, so surrogate pairs stay whole and only lone halves are single runes.
  const runes = [...text].map((rune) => isUnsafe(rune) ? ' ' : rune)
  return runes.length <= max ? runes.join('') : `${runes.slice(0, max - 1).join('')}${ellipsis}`
}

/** Shortens the middle of a long reference so registry and tag both stay visible. */
function shortenMiddle (text: string, max: number): string {
  if (runeLength(text) <= max) return text
  if (max <= 1) return ellipsis
  const runes = [...text]
  const head = Math.ceil((max - 1) / 2)
  const tail = max - 1 - head
  return `${runes.slice(0, head).join('')}${ellipsis}${tail === 0 ? '' : runes.slice(-tail).join('')}`
}

function kindOf (mediaType: string): string {
  if (isIndexMediaType(mediaType)) return ' (index)'
  return mediaType.includes('manifest') ? ' (manifest)' : ''
}

/**
 * What follows the digest. A stale pin says its age and the outage instead of the manifest kind: that is what the
 * user must know (issue 16 §3), and the room is short.
 */
function pinNote (pin: Pin): string {
  if (pin.stale !== undefined) return ` from ${formatAge(pin.stale.ageMs)} ago: ${staleCauseText(pin.stale)}`
  return pin.source === 'old-object' ? ' (stored digest)' : kindOf(pin.mediaType)
}

/**
 * `spec.containers[0].image: ghcr.io/acme/agent:1.4 pinned to sha256:3f1e2a9b0c4d… (index)`, or for a stale pin
 * `… pinned to sha256:3f1e2a9b0c4d… from 4m ago: registry unavailable (503)`
 */
export function pinWarning (pin: Pin): string {
  const verb = pin.source === 'old-object' ? 'kept at' : 'pinned to'
  const suffix = ` ${verb} ${shortDigest(pin.digest)}${pinNote(pin)}`
  const prefix = `${pin.field}: `
  const room = maxWarningLength - runeLength(prefix) - runeLength(suffix)
  return fitWarning(`${prefix}${shortenMiddle(pin.original, Math.max(room, 8))}${suffix}`)
}

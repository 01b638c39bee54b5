import { createHash } from 'node:crypto'
import { InvalidReferenceError } from '../errors.js'

/**
 * The algorithms go-digest registers by default (spec-checklist §B). sha384 was dropped from the defaults and blake3 is
 * opt-in, so a digest using either would be rejected by the kubelet's parser; we reject it first, with a clearer reason.
 */
export const digestAlgorithms = {
  sha256: { hexLength: 64 },
  sha512: { hexLength: 128 }
} as const
export type DigestAlgorithm = keyof typeof digestAlgorithms

export interface Digest {
  readonly algorithm: DigestAlgorithm
  readonly encoded: string
  /** `algorithm:encoded`, exactly as parsed */
  toString (): string
}

const supportedList = Object.keys(digestAlgorithms).join(' or ')

// go-digest algorithm.go: registered algorithms accept only lowercase hex (`[a-f0-9]{64}` for sha256).
const lowerHex = /^[a-f0-9]+$/
const anyHex = /^[a-fA-F0-9]+$/

function isDigestAlgorithm (name: string): name is DigestAlgorithm {
  return Object.hasOwn(digestAlgorithms, name)
}

/** The parsed digest, or the reason `text` is not one. */
function check (text: string): Digest | string {
  const colon = text.indexOf(':')
  // go-digest Parse: the ':' must have something on both sides.
  if (colon <= 0 || colon === text.length - 1) {
    return `digest must look like sha256:<64 hex characters>, got ${JSON.stringify(text)}`
  }
  const algorithm = text.slice(0, colon)
  const encoded = text.slice(colon + 1)
  if (!isDigestAlgorithm(algorithm)) {
    const lower = algorithm.toLowerCase()
    const hint = isDigestAlgorithm(lower) ? ` (algorithm names are lowercase: ${lower})` : ` (use ${supportedList})`
    return `digest algorithm ${algorithm} is not supported${hint}`
  }
  const { hexLength } = digestAlgorithms[algorithm]
  if (encoded.length !== hexLength) {
    return `${algorithm} digest must have ${hexLength} hex characters, got ${encoded.length}`
  }
  if (!lowerHex.test(encoded)) {
    return anyHex.test(encoded)
      ? `${algorithm} digest hex must be lowercase`
      : `${algorithm} digest may contain only hex characters 0-9 and a-f`
  }
  return Object.freeze({ algorithm, encoded, toString: () => text })
}

/** Parses go-digest's `algorithm ":" encoded`; throws InvalidReferenceError (part 'digest') naming what is wrong. */
export function parseDigest (text: string): Digest {
  const result = check(text)
  if (typeof result === 'string') throw new InvalidReferenceError(text, 'digest', result)
  return result
}

export function isValidDigest (text: string): boolean {
  return typeof check(text) !== 'string'
}

/** The digest a registry would compute for these exact bytes (OCI image-spec descriptor.md §Digests). */
export function digestOf (bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`
}

/** `sha256:3f1e2a9b0c4d…` — enough to recognise a digest in a warning without a 71-character line. */
export function shortDigest (digest: string, hexChars = 12): string {
  const colon = digest.indexOf(':')
  const keep = colon + 1 + Math.max(0, hexChars)
  return digest.length > keep ? `${digest.slice(0, keep)}…` : digest
}

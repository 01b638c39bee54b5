/**
 * How much we read from a registry or token server (issue 13 §1): a hostile server decides how big its answers are,
 * and whatever we keep (a cached token) or buffer (a manifest to hash) is our memory.
 */
export const BodyLimit = {
  // OCI distribution spec: registries SHOULD accept manifests up to 4 MiB, distribution's default; nothing larger is legitimate.
  manifest: 4 * 1024 * 1024,
  // Real tokens are JWTs of a few KiB; a 4 MiB token per repository grew the heap by 400 MiB (issue 13).
  tokenResponse: 64 * 1024,
  // Only the OCI error code and message are used, and those are short.
  errorBody: 64 * 1024,
  // What of a registry's error message is repeated in a denial.
  errorMessageChars: 512
} as const

export class BodyTooLargeError extends Error {
  readonly code = 'EBODYTOOLARGE'
  constructor (readonly limit: number, readonly status: number, readonly declared: number | undefined) {
    super(declared === undefined
      ? `the response body exceeds ${limit} bytes; stopped reading and closed the connection`
      : `the response body is ${declared} bytes, over the ${limit}-byte limit; not read, connection closed`)
  }
}

/** Keeps the first `chars` characters of a registry's own words for a message, marking the cut. */
export function truncateForMessage (text: string, chars: number = BodyLimit.errorMessageChars): string {
  return text.length <= chars ? text : `${text.slice(0, chars)}… (${text.length - chars} more characters)`
}

/**
 * RFC 6902 JSON Patch operations for what the mutator changes, and nothing else. The apiserver answers a patch that
 * decodes but fails to apply with HTTP 500 whatever the failurePolicy (spec-checklist §A), so: no `test` ops, `replace`
 * only on values we just read from the request's object, and `add` for anything that may be missing.
 */

export type PatchOperation =
  | { op: 'replace', path: string, value: unknown }
  | { op: 'add', path: string, value: unknown }
  | { op: 'remove', path: string }

/** RFC 6901 §3: `~` must become `~0` before `/` becomes `~1`, or `/` would turn into `~01`. */
export function escapePointerToken (token: string): string {
  if (!token.includes('~') && !token.includes('/')) return token
  return token.replaceAll('~', '~0').replaceAll('/', '~1')
}

export function jsonPointer (path: readonly (string | number)[]): string {
  return path.map((token) => `/${escapePointerToken(String(token))}`).join('')
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Sets metadata.annotations[key] = value on `object`, creating `metadata` or `annotations` only when they are absent. */
export function annotationOperation (object: Record<string, unknown>, key: string, value: string): PatchOperation {
  const metadata = object['metadata']
  if (!isRecord(metadata)) return { op: 'add', path: '/metadata', value: { annotations: { [key]: value } } }
  const annotations = metadata['annotations']
  // `add` on an existing member replaces it (RFC 6902 §4.1), which also covers `annotations: null`.
  if (!isRecord(annotations)) return { op: 'add', path: '/metadata/annotations', value: { [key]: value } }
  const path = jsonPointer(['metadata', 'annotations', key])
  return Object.hasOwn(annotations, key) ? { op: 'replace', path, value } : { op: 'add', path, value }
}

/** Deletes metadata.annotations[key]; only call it after reading that the key is there, or the patch fails to apply. */
export function removeAnnotationOperation (key: string): PatchOperation {
  return { op: 'remove', path: jsonPointer(['metadata', 'annotations', key]) }
}

/** `patch` is a []byte on the wire, so Go's encoding/json expects standard base64 with padding. */
export function encodePatch (operations: readonly PatchOperation[]): string {
  return Buffer.from(JSON.stringify(operations), 'utf8').toString('base64')
}

import { Operation, type AdmissionRequest } from './review.js'

/**
 * Which requests are ours. The webhook configurations already narrow the rules, but a broader or mistaken
 * configuration must still never make us touch another kind, a subresource (status writes carry the whole object)
 * or a DELETE: those are allowed untouched.
 */

export const actorTemplateKind = { group: 'ate.dev', version: 'v1alpha1', kind: 'ActorTemplate' } as const

export const SkipReason = {
  otherKind: 'other-kind',
  subresource: 'subresource',
  operation: 'operation'
} as const
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason]

/** undefined when the request is an ActorTemplate CREATE or UPDATE we must act on; otherwise why we step aside. */
export function skipReason (request: AdmissionRequest): SkipReason | undefined {
  const { group, version, kind } = request.kind
  if (group !== actorTemplateKind.group || version !== actorTemplateKind.version || kind !== actorTemplateKind.kind) {
    return SkipReason.otherKind
  }
  if (request.subResource !== undefined && request.subResource !== '') return SkipReason.subresource
  if (request.operation !== Operation.create && request.operation !== Operation.update) return SkipReason.operation
  return undefined
}

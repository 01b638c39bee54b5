/**
 * The JSON schema of the AdmissionReview request envelope (kubernetes/api admission/v1/types.go): only what we read is
 * required; everything else passes through so a newer apiserver adding fields is never refused. It is compiled ahead of
 * time by scripts/generate-validators.ts into src/generated/review-request-validator.ts (issue 17 §3).
 */

export const Operation = { create: 'CREATE', update: 'UPDATE', delete: 'DELETE', connect: 'CONNECT' } as const
export type Operation = (typeof Operation)[keyof typeof Operation]

const gvk = {
  type: 'object',
  required: ['group', 'version', 'kind'],
  properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } }
} as const

const gvr = {
  type: 'object',
  required: ['group', 'version', 'resource'],
  properties: { group: { type: 'string' }, version: { type: 'string' }, resource: { type: 'string' } }
} as const

export const reviewRequestSchema = {
  type: 'object',
  required: ['uid', 'kind', 'resource', 'operation'],
  properties: {
    uid: { type: 'string', minLength: 1 },
    kind: gvk,
    resource: gvr,
    subResource: { type: 'string' },
    requestKind: gvk,
    requestResource: gvr,
    requestSubResource: { type: 'string' },
    name: { type: 'string' },
    namespace: { type: 'string' },
    operation: { enum: Object.values(Operation) },
    userInfo: { type: 'object' },
    dryRun: { type: 'boolean' }
  }
} as const

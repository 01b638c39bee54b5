import type { AdmissionOutcome } from './handle.js'
import { isRecord } from './images.js'
import type { Pin } from './pin.js'
import type { AdmissionRequest } from './review.js'

/**
 * The one structured log line per admission. It names the object and what was decided, never the object itself:
 * container env values and annotations may hold secrets.
 */

export interface AdmissionTiming {
  durationMs: number
  /** HTTP requests this admission sent to registries, token requests included */
  registryRequests: number
  /** the registry budget derived from ?timeout= */
  budgetMs: number
}

function objectName (request: AdmissionRequest): string {
  if (request.name !== undefined && request.name !== '') return request.name
  const metadata = isRecord(request.object) ? request.object['metadata'] : undefined
  const generateName = isRecord(metadata) ? metadata['generateName'] : undefined
  // CREATE with generateName: the apiserver picks the name after admission.
  return typeof generateName === 'string' && generateName !== '' ? `${generateName}*` : ''
}

/** `stale 240s, REGISTRY_UNAVAILABLE`: whoever reads the log during an outage sees which pins rode it out (issue 16 §3). */
function pinSource (pin: Pin): string {
  return pin.stale === undefined ? pin.source : `${pin.source} ${Math.round(pin.stale.ageMs / 1000)}s, ${pin.stale.error.code}`
}

export function admissionLogEntry (webhook: string, request: AdmissionRequest, outcome: AdmissionOutcome, timing: AdmissionTiming): Record<string, unknown> {
  const { group, version, kind } = request.kind
  return {
    webhook,
    uid: request.uid,
    object: `${request.namespace ?? ''}/${objectName(request)}`,
    kind: `${group === '' ? '' : `${group}/`}${version}/${kind}${request.subResource === undefined || request.subResource === '' ? '' : `/${request.subResource}`}`,
    operation: request.operation,
    ...(request.dryRun === true ? { dryRun: true } : {}),
    user: request.userInfo?.username,
    decision: outcome.decision,
    reason: outcome.reason,
    ...(outcome.pins.length === 0 ? {} : { pinned: outcome.pins.map((pin) => `${pin.field}=${pin.pinned} (${pinSource(pin)})`) }),
    ...(outcome.problems.length === 0 ? {} : { problems: outcome.problems.map((problem) => `${problem.field}: ${problem.code ?? problem.reason}`) }),
    durationMs: timing.durationMs,
    registryRequests: timing.registryRequests,
    budgetMs: timing.budgetMs
  }
}

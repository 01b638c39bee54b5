import { ErrorCode, InvalidReferenceError, RegistryError } from '../errors.js'
import { admissionApiVersion, admissionReviewKind } from './review.js'
import { encodePatch, type PatchOperation } from './patch.js'
import { ProblemReason, type Problem } from './problem.js'
import { fitWarning } from './warnings.js'

/**
 * The one place that turns outcomes and errors into AdmissionReview responses (controller-runtime's
 * allowed / denied / patched / errored). Every reply echoes the uid, apiVersion and kind: the apiserver treats a
 * mismatch as a failed call (spec-checklist §A, VerifyAdmissionResponse).
 *
 * Denials carry code 403 and reason Forbidden, so kubectl prints `Error from server (Forbidden): … admission webhook
 * "…" denied the request: <message>`. Forbidden rather than Invalid (422): the object may be well-formed, it is our
 * policy (pinned images, reserved names) that refuses it, and a registry that cannot vouch for a tag is a refusal too.
 * Unexpected failures are 500 InternalError: still a denial, never a pass.
 */

export interface StatusCause { field: string, reason: string, message: string }

export interface Status {
  metadata: Record<string, never>
  status: 'Failure'
  message: string
  reason: 'Forbidden' | 'InternalError'
  code: 403 | 500
  details?: { causes: StatusCause[] }
}

export interface AdmissionResponse {
  uid: string
  allowed: boolean
  status?: Status
  patch?: string
  patchType?: 'JSONPatch'
  warnings?: string[]
  auditAnnotations?: Record<string, string>
}

export interface AdmissionReviewResponse {
  apiVersion: typeof admissionApiVersion
  kind: typeof admissionReviewKind
  response: AdmissionResponse
}

export interface ResponseExtras {
  warnings?: readonly string[] | undefined
  auditAnnotations?: Record<string, string> | undefined
}

function envelope (uid: string, allowed: boolean, extras: ResponseExtras, more: Partial<AdmissionResponse> = {}): AdmissionReviewResponse {
  // The apiserver dedupes warnings by exact text and drops unsafe ones silently; doing it here keeps them visible in tests.
  const warnings = [...new Set((extras.warnings ?? []).map((warning) => fitWarning(warning)))]
  return {
    apiVersion: admissionApiVersion,
    kind: admissionReviewKind,
    response: {
      uid,
      allowed,
      ...more,
      ...(warnings.length === 0 ? {} : { warnings }),
      ...(extras.auditAnnotations === undefined ? {} : { auditAnnotations: extras.auditAnnotations })
    }
  }
}

export function allowed (uid: string, extras: ResponseExtras = {}): AdmissionReviewResponse {
  return envelope(uid, true, extras)
}

/** patch and patchType travel together or not at all; with nothing to change this is `allowed`. */
export function patched (uid: string, operations: readonly PatchOperation[], extras: ResponseExtras = {}): AdmissionReviewResponse {
  if (operations.length === 0) return allowed(uid, extras)
  return envelope(uid, true, extras, { patchType: 'JSONPatch', patch: encodePatch(operations) })
}

export function formatProblem (problem: Problem): string {
  return `${problem.field}: ${problem.message}`
}

/** Every problem in one message, in document order, then each shared piece of advice once. */
export function denialMessage (problems: readonly Problem[]): string {
  const lines = problems.map(formatProblem)
  const listed = lines.length === 1 ? lines[0] ?? '' : `${lines.length} problems: ${lines.join('; ')}`
  const advice = [...new Set(problems.flatMap((problem) => problem.advice === undefined ? [] : [problem.advice]))]
  return advice.length === 0 ? listed : `${listed}. ${advice.join('. ')}`
}

/** One round trip shows the user everything to fix. */
export function denied (uid: string, problems: readonly Problem[], extras: ResponseExtras = {}): AdmissionReviewResponse {
  const message = denialMessage(problems)
  return envelope(uid, false, extras, {
    status: {
      metadata: {},
      status: 'Failure',
      message: message === '' ? 'the request was denied' : message,
      reason: 'Forbidden',
      code: 403,
      details: { causes: problems.map((problem) => ({ field: problem.field, reason: problem.reason, message: problem.message })) }
    }
  })
}

export function errored (uid: string, error: unknown): AdmissionReviewResponse {
  const detail = error instanceof Error ? error.message : String(error)
  return envelope(uid, false, {}, {
    status: { metadata: {}, status: 'Failure', message: `the webhook failed: ${detail}`, reason: 'InternalError', code: 500 }
  })
}

/**
 * What to do. The registry shell already ends most answers with the same words (manifest-client.ts); failures raised
 * elsewhere (token server, transport, deadline) get them here, so every denial says what to do exactly once.
 */
const advice: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.registryUnauthorized]: 'check the pull credentials configured for this registry',
  [ErrorCode.registryDenied]: 'the credentials lack pull access to this repository',
  [ErrorCode.registryNotFound]: 'check the repository and tag, or push the image first',
  [ErrorCode.registryRateLimited]: 'retry later or configure credentials with a higher pull limit',
  [ErrorCode.registryUnavailable]: 'the registry is failing; retry later',
  [ErrorCode.registryTimeout]: 'retry; if the registry is slow, raise admission.maxResolveSeconds and the webhook timeoutSeconds',
  [ErrorCode.registryUnreachable]: 'check that the registry host is right and reachable from the webhook',
  [ErrorCode.blockedAddress]: 'set allowLinkLocal for this registry if it is intended',
  [ErrorCode.registryBadResponse]: 'the registry answered something unusable; check the registry or write the digest yourself',
  [ErrorCode.digestMismatch]: 'do not trust this registry answer; check the registry or write the digest yourself',
  [ErrorCode.credentialsUnavailable]: 'check the pull credentials configured for this registry',
  [ErrorCode.registryResponseTooLarge]: 'the registry sent more than a registry answer can be; check the registry or write the digest yourself',
  [ErrorCode.tokenRealmRefused]: 'the registry named a token server its requests may not go to (plain HTTP, another origin, or a private address); check the registry or allowedRealmHosts'
}

/** Who prints the advice: the webhook's pod or the CLI on the user's machine reach registries from different places. */
export type AdviceContext = 'webhook' | 'cli'

const cliAdvice: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.registryTimeout]: 'retry; if the registry is slow, raise --timeout',
  [ErrorCode.registryUnreachable]: 'check that the registry host is right and reachable from this machine'
}

/** The registry's answer and what to do, once, without the reference (the caller names it). */
export function registryDetail (error: RegistryError, context: AdviceContext = 'webhook'): string {
  const hint = (context === 'cli' ? cliAdvice[error.code] : undefined) ?? advice[error.code]
  return hint === undefined || error.detail.includes(hint) ? error.detail : `${error.detail}; ${hint}`
}

/** A reference that could not be pinned or parsed, as a Problem naming the field, the reference and the answer. */
export function problemFromError (field: string, reference: string, error: unknown, context: AdviceContext = 'webhook'): Problem {
  if (error instanceof InvalidReferenceError) {
    const digest = error.part === 'digest'
    return {
      field,
      reference,
      reason: digest ? ProblemReason.invalidDigest : ProblemReason.invalidReference,
      code: error.code,
      message: `${JSON.stringify(reference)} is not a valid image reference: ${error.reason}`
    }
  }
  if (error instanceof RegistryError) {
    return { field, reference, reason: ProblemReason.notPinnable, code: error.code, message: `cannot pin ${reference}: ${registryDetail(error, context)}` }
  }
  const detail = error instanceof Error ? error.message : String(error)
  return { field, reference, reason: ProblemReason.notPinnable, code: 'INTERNAL', message: `cannot pin ${reference}: ${detail}` }
}

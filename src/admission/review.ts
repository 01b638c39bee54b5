import type { ErrorObject } from 'ajv'
import { Operation } from './review-schema.js'
import { validateReviewRequest } from '../generated/review-request-validator.js'

/**
 * The admission.k8s.io/v1 AdmissionReview request as the apiserver sends it (kubernetes/api admission/v1/types.go),
 * decoded once against src/admission/review-schema.ts, compiled ahead of time (scripts/generate-validators.ts). Only
 * what we read is required; everything else passes through so a newer apiserver adding fields is never refused.
 */

export { Operation }

export const admissionApiVersion = 'admission.k8s.io/v1'
export const admissionReviewKind = 'AdmissionReview'

export interface GroupVersionKind { group: string, version: string, kind: string }
export interface GroupVersionResource { group: string, version: string, resource: string }

export interface UserInfo {
  username?: string
  uid?: string
  groups?: string[]
}

export interface AdmissionRequest {
  uid: string
  kind: GroupVersionKind
  resource: GroupVersionResource
  subResource?: string
  requestKind?: GroupVersionKind
  requestResource?: GroupVersionResource
  requestSubResource?: string
  /** empty on CREATE with generateName: the apiserver names the object after admission */
  name?: string
  namespace?: string
  operation: Operation
  userInfo?: UserInfo
  /** the object as it will be stored; null on DELETE */
  object?: unknown
  /** the stored object on UPDATE and DELETE */
  oldObject?: unknown
  dryRun?: boolean
  options?: unknown
}

/** A body the apiserver could never have sent; answered with HTTP 400, because there is no uid to answer to. */
export class InvalidReviewError extends Error {
  readonly code = 'INVALID_REVIEW'
}

function describe (error: ErrorObject): string {
  const where = `request${error.instancePath.replaceAll('/', '.')}`
  if (error.keyword === 'required') return `${where}.${String(error.params['missingProperty'])} is required`
  if (error.keyword === 'enum') return `${where} must be one of ${Object.values(Operation).join(', ')}`
  return `${where} ${error.message ?? 'is invalid'}`
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * A value from the body, for a message: strings quoted and cut short, anything else named by its type. Never
 * JSON.stringify the input: it is unbounded, and deep nesting overflows the stack (issue 7).
 */
function describeValue (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 63)}…` : value)
  if (value === undefined || value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/** Checks the envelope and returns the request, or throws InvalidReviewError saying exactly what is wrong. */
export function decodeReview (body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new InvalidReviewError('the body must be a JSON object holding an AdmissionReview')
  const { apiVersion, kind, request } = body
  if (apiVersion !== admissionApiVersion || kind !== admissionReviewKind) {
    // v1beta1 reviews come from webhook configurations that still list it first in admissionReviewVersions.
    throw new InvalidReviewError(`expected apiVersion ${admissionApiVersion} and kind ${admissionReviewKind}, got ` +
      `${describeValue(apiVersion)} and ${describeValue(kind)}; set admissionReviewVersions: ["v1"] in the webhook configuration`)
  }
  if (!isRecord(request)) throw new InvalidReviewError('the AdmissionReview has no request object')
  if (!validateReviewRequest(request)) {
    const problems = (validateReviewRequest.errors ?? []).map(describe)
    throw new InvalidReviewError(`invalid AdmissionReview: ${[...new Set(problems)].join('; ')}`)
  }
  return request
}

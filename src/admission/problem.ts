/**
 * One reason to deny, tied to the field the user must change. Validation rules and failed pins both produce these;
 * response.ts alone turns them into the text kubectl prints.
 */

export const ProblemReason = {
  reservedName: 'ReservedName',
  duplicateName: 'DuplicateName',
  unpinned: 'Unpinned',
  invalidDigest: 'InvalidDigest',
  invalidReference: 'InvalidReference',
  missingImage: 'MissingImage',
  notPinnable: 'NotPinnable',
  invalidObject: 'InvalidObject',
  limitExceeded: 'LimitExceeded'
} as const
export type ProblemReason = (typeof ProblemReason)[keyof typeof ProblemReason]

export interface Problem {
  /** kubectl-style path, e.g. `spec.containers[1].name` */
  field: string
  reason: ProblemReason
  /** what is wrong and what to do, without the field path */
  message: string
  /** the image reference involved, exactly as written */
  reference?: string
  /** stable error code for logs and metrics (ErrorCode for registry failures) */
  code?: string
  /** what to do, when it is the same for every problem of this kind: said once per denial, not per field */
  advice?: string
}

import { formatProblem } from '../admission/response.js'
import { ProblemReason, type Problem } from '../admission/problem.js'
import { isRecord } from '../admission/images.js'
import type { CrdLines } from './crd-check.js'
import type { Skipped, TemplateDocument } from './template-documents.js'

/** What `check` found for one document, printed as lines for people or as one JSON object per line for CI. */
export interface CheckResult {
  document: TemplateDocument | Skipped
  problems: readonly Problem[]
  crd: CrdLines | undefined
  /** tags the mutating webhook would pin, when the template is admissible */
  pins: ReadonlyArray<{ field: string, reference: string }>
}

export const Verdict = { admissible: 'admissible', rejected: 'rejected', notFullyChecked: 'not-fully-checked', skipped: 'skipped' } as const
export type Verdict = (typeof Verdict)[keyof typeof Verdict]

const pinHint = 'hint: --require-digest wants digests in the file; "actortemplate-webhook pin FILE" writes them'

function plural (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

function failureCount (result: CheckResult): number {
  return result.problems.length + (result.crd?.problems.length ?? 0)
}

export function verdictOf (result: CheckResult): Verdict {
  if ('skipped' in result.document) return Verdict.skipped
  if (failureCount(result) > 0) return Verdict.rejected
  return (result.crd?.blocking ?? 0) > 0 ? Verdict.notFullyChecked : Verdict.admissible
}

export function humanLines (result: CheckResult): string[] {
  const { document, problems, crd } = result
  if ('skipped' in document) return [`${document.skipped}: skipped`]
  const verdict = verdictOf(result)
  const summary = verdict === Verdict.rejected
    ? `would be rejected (${plural(failureCount(result), 'problem')})`
    : verdict === Verdict.notFullyChecked ? `not fully checked (${plural(crd?.blocking ?? 0, 'rule')} could not run offline)` : 'admissible'
  return [
    `${document.label}: ${summary}`,
    ...problems.map((problem) => `  ${formatProblem(problem)}`),
    ...(crd?.problems ?? []).map((finding) => `  ${finding.text}`),
    ...(problems.some((problem) => problem.reason === ProblemReason.unpinned) ? [`  ${pinHint}`] : []),
    ...result.pins.map((pin) => `  ${pin.field}: ${pin.reference} would be pinned`),
    ...(crd?.notes ?? []).map((note) => `  ${note}`)
  ]
}

function metadataOf (object: unknown): { name: string | null, namespace: string | null } {
  const metadata = isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {}
  const name = metadata['name'] ?? metadata['generateName']
  return { name: typeof name === 'string' ? name : null, namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : null }
}

/** One line of JSON: file as given ("-" for stdin), 0-based document index, `item` inside a `kind: List`. */
export function jsonLine (result: CheckResult): string {
  const { document, crd } = result
  const item = document.prefix[1]
  const skipped = 'skipped' in document
  return JSON.stringify({
    file: document.source.name,
    index: document.documentIndex,
    ...(typeof item === 'number' ? { item } : {}),
    kind: skipped ? document.kind : 'ActorTemplate',
    ...metadataOf(skipped ? undefined : document.object),
    verdict: verdictOf(result),
    problems: [
      ...result.problems.map(({ field, reason, message }) => ({ field, reason, message })),
      ...(crd?.problems ?? []).map(({ field, reason, message }) => ({ field, reason, message }))
    ],
    pins: result.pins,
    notes: crd?.notes ?? []
  })
}

import { readFile } from 'node:fs/promises'
import { imageSlots } from '../admission/images.js'
import { CrdLoadError, crdFor, formatCrdProblem, formatUnchecked, parseCrds, validateAgainstCrd, type CrdProblem, type LoadedCrd } from '../crd/index.js'
import { InputError } from './template-documents.js'

/** The CLI side of offline CRD validation (issue 15 §1): reading --crd files and turning verdicts into lines. */

async function loadCrdFiles (paths: readonly string[]): Promise<LoadedCrd[]> {
  const crds: LoadedCrd[] = []
  for (const path of paths) {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      throw new InputError(`cannot read --crd ${path}: ${(error as Error).message}`)
    }
    try {
      crds.push(...parseCrds(text, path))
    } catch (error) {
      if (error instanceof CrdLoadError) throw new InputError(`--crd ${error.message}`)
      throw error
    }
  }
  return crds
}

/** One CRD failure: `text` is the human line, the rest what `check --output json` prints. */
export interface CrdFinding { field: string, reason: string, message: string, text: string }

export interface CrdLines {
  /** failures: each one makes the template rejected */
  problems: CrdFinding[]
  /** rules not run offline; `blocking` when the apiserver would run them on create */
  notes: string[]
  blocking: number
}

// Stands in for the digest the mutating webhook resolves: admission mutation runs before the CRD's schema and CEL
// validation (k8s.io/apiserver/pkg/endpoints/handlers/create.go), so the CRD sees pinned references.
const placeholderDigest = `sha256:${'0'.repeat(64)}`

function asPinned (object: Record<string, unknown>, tags: ReadonlySet<string>): Record<string, unknown> {
  const copy = structuredClone(object)
  for (const slot of imageSlots(copy).filter((candidate) => tags.has(candidate.field))) {
    let parent: unknown = copy
    for (const key of slot.path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key]
    const last = slot.path.at(-1)
    if (last !== undefined) (parent as Record<string | number, unknown>)[last] = `${slot.reference}@${placeholderDigest}`
  }
  return copy
}

// kubectl reads YAML 1.1 (kubectl-yaml.ts): a string field holding a boolean or number was most likely meant as text.
const yamlTypeSurprise = /must be of type string: "(boolean|integer|number)"$/
const yamlHint = 'hint: kubectl reads YAML 1.1, where unquoted yes, no, on, off, y and n are booleans and 0755, 1_000, 1e3 numbers; quote text values ("yes")'

/** The apiserver's name for the error type (field.ErrorType: `FieldValueInvalid`, `FieldValueRequired`, …). */
function fieldErrorType (type: CrdProblem['type']): string {
  return `FieldValue${type.charAt(0).toUpperCase()}${type.slice(1)}`
}

/**
 * Judges one ActorTemplate by the CRD that serves its apiVersion, as the apiserver will after the webhook pinned the
 * fields listed in `pinnedByWebhook`.
 */
function crdLines (object: Record<string, unknown>, crds: readonly LoadedCrd[], pinnedByWebhook: ReadonlySet<string>): CrdLines {
  const crd = crdFor(crds, object['apiVersion'], object['kind'])
  if (crd === undefined) {
    const message = `no --crd file serves ${String(object['apiVersion'])} ${String(object['kind'])}; the apiserver would answer "no matches for kind"`
    return { problems: [{ field: '', reason: 'NoMatchingCrd', message, text: message }], notes: [], blocking: 0 }
  }
  const verdict = validateAgainstCrd(asPinned(object, pinnedByWebhook), crd)
  // kubectl sends fieldValidation=Strict by default, which makes each pruned field a decoding error.
  const unknown = 'unknown field (strict decoding error: kubectl rejects it by default; with --validate=false the apiserver drops it)'
  const problems: CrdFinding[] = [
    ...verdict.unknownFields.map((field) => ({ field, reason: 'UnknownField', message: unknown, text: `${field}: ${unknown}` })),
    ...verdict.problems.map((problem) => {
      const text = formatCrdProblem(problem)
      const prefix = `${problem.field === '' ? '<nil>' : problem.field}: `
      return { field: problem.field, reason: fieldErrorType(problem.type), message: text.slice(prefix.length), text }
    })
  ]
  const notes = verdict.unchecked.map((unchecked) => `note: ${formatUnchecked(unchecked)}`)
  if (problems.some((problem) => yamlTypeSurprise.test(problem.message))) notes.push(yamlHint)
  return { problems, notes, blocking: verdict.unchecked.filter((unchecked) => !unchecked.transition).length }
}

/** Reads the --crd files once; the returned function judges one template. */
export async function crdJudge (paths: readonly string[]): Promise<(object: Record<string, unknown>, pinnedByWebhook: ReadonlySet<string>) => CrdLines> {
  const crds = await loadCrdFiles(paths)
  return (object, pinnedByWebhook) => crdLines(object, crds, pinnedByWebhook)
}

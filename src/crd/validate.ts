import { validateRules } from './cel-rules.js'
import { applyDefaults } from './defaults.js'
import { validateListTypes } from './list-type.js'
import type { LoadedCrd } from './load.js'
import { validateOpenApi } from './openapi.js'
import type { CrdProblem, UncheckedRule } from './problem.js'
import { unknownMetadataFields, validateObjectMeta } from './object-meta.js'
import { pruneUnknown } from './prune.js'
import { validateIntegers } from './integers.js'

export interface CrdVerdict {
  /** the CRD that judged the document, by name */
  crd: string
  problems: CrdProblem[]
  /** strict field validation errors (kubectl's default), in the apiserver's path spelling */
  unknownFields: string[]
  unchecked: UncheckedRule[]
  /** the document after pruning and defaulting, as the apiserver would store it */
  object: Record<string, unknown>
}

// hasBlockingErr in k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go: after these schema
// errors CEL rules are not run, because they could not rely on the schema's guarantees.
const blocking = new Set<CrdProblem['type']>(['notSupported', 'required', 'tooLong', 'tooMany', 'typeInvalid'])
const notRunDetail = 'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation'

/** The CRD among `crds` that serves the document's apiVersion and kind, if any. */
export function crdFor (crds: readonly LoadedCrd[], apiVersion: unknown, kind: unknown): LoadedCrd | undefined {
  return crds.find((crd) => crd.kind === kind && typeof apiVersion === 'string' && crd.versions.has(apiVersion))
}

/**
 * Validates a document as the apiserver does on create (customresource strategy.Validate): prune and default on
 * decode, then the OpenAPI schema, list types, and, unless a blocking schema error was found, the CEL rules.
 * The caller picks the CRD with crdFor; the document is not modified.
 */
export function validateAgainstCrd (document: Record<string, unknown>, crd: LoadedCrd): CrdVerdict {
  const apiVersion = String(document['apiVersion'])
  const schema = crd.versions.get(apiVersion)
  if (schema === undefined) throw new Error(`${crd.name} does not serve ${apiVersion}`)
  const object = structuredClone(document)
  const unknownFields = [...unknownMetadataFields(object['metadata']), ...pruneUnknown(object, schema)]
  // customresource strategy.PrepareForCreate: with the status subresource, create ignores the status sent
  // (after decoding, so unknown status fields are still strict errors).
  if (crd.statusSubresource.has(apiVersion)) Reflect.deleteProperty(object, 'status')
  applyDefaults(object, schema)
  const problems = [...validateObjectMeta(object['metadata']), ...validateOpenApi(object, schema), ...validateIntegers(object, schema), ...validateListTypes(object, schema)]
  if (problems.some((problem) => blocking.has(problem.type))) {
    problems.push({ field: '', type: 'invalid', value: 'null', detail: notRunDetail })
    return { crd: crd.name, problems, unknownFields, unchecked: [], object }
  }
  const rules = validateRules(object, schema)
  return { crd: crd.name, problems: [...problems, ...rules.problems], unknownFields, unchecked: rules.unchecked, object }
}

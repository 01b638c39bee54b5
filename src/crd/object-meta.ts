import { isDns1123Label, isDns1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js'
import { goValue, type CrdProblem } from './problem.js'
import { isObject } from './schema.js'

/**
 * metadata of a custom resource on create, as k8s.io/apimachinery/pkg/api/validation/objectmeta.go
 * (ValidateObjectMetaAccessor, with the CRD's NameIsDNSSubdomain) judges it, and the fields strict decoding of
 * ObjectMeta knows. The apiserver reports these before the schema's errors.
 */
const objectMetaFields = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
  'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences',
  'finalizers', 'managedFields'])
const ownerReferenceFields = new Set(['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'])
// ValidateAnnotations: TotalAnnotationSizeLimitB.
const annotationsLimit = 256 * 1024

/** Paths of fields ObjectMeta does not have (kubectl's default strict decoding rejects them). */
export function unknownMetadataFields (metadata: unknown): string[] {
  if (!isObject(metadata)) return []
  const unknown = Object.keys(metadata).filter((key) => !objectMetaFields.has(key)).map((key) => `metadata.${key}`)
  const owners = metadata['ownerReferences']
  if (Array.isArray(owners)) {
    owners.forEach((owner, index) => {
      if (isObject(owner)) unknown.push(...Object.keys(owner).filter((key) => !ownerReferenceFields.has(key)).map((key) => `metadata.ownerReferences[${index}].${key}`))
    })
  }
  return unknown
}

/** NameIsDNSSubdomain(name, prefix): a generateName may end in "-" (maskTrailingDash). */
function nameErrors (name: string, prefix: boolean): string[] {
  const masked = prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name
  return isDns1123Subdomain(masked)
}

function stringMap (value: unknown, field: string, problems: CrdProblem[]): Array<[string, string]> {
  if (value === undefined || value === null) return []
  const entries = isObject(value) ? Object.entries(value) : []
  if (!isObject(value) || entries.some(([, item]) => typeof item !== 'string')) {
    problems.push({ field, type: 'invalid', value: goValue(value), detail: 'must be a map of strings (the apiserver cannot decode anything else)' })
    return []
  }
  return entries as Array<[string, string]>
}

export function validateObjectMeta (metadata: unknown): CrdProblem[] {
  const meta = isObject(metadata) ? metadata : {}
  const problems: CrdProblem[] = []
  const invalid = (field: string, value: string) => (detail: string) => problems.push({ field, type: 'invalid', value: goValue(value), detail })
  const generateName = typeof meta['generateName'] === 'string' ? meta['generateName'] : ''
  const name = typeof meta['name'] === 'string' ? meta['name'] : ''
  if (generateName !== '') nameErrors(generateName, true).forEach(invalid('metadata.generateName', generateName))
  if (name === '' && generateName === '') problems.push({ field: 'metadata.name', type: 'required', detail: 'name or generateName is required' })
  if (name !== '') nameErrors(name, false).forEach(invalid('metadata.name', name))
  if (typeof meta['namespace'] === 'string' && meta['namespace'] !== '') isDns1123Label(meta['namespace']).forEach(invalid('metadata.namespace', meta['namespace']))
  for (const [key, value] of stringMap(meta['labels'], 'metadata.labels', problems)) {
    isQualifiedName(key).forEach(invalid('metadata.labels', key))
    isValidLabelValue(value).forEach(invalid('metadata.labels', value))
  }
  let size = 0
  for (const [key, value] of stringMap(meta['annotations'], 'metadata.annotations', problems)) {
    // ValidateAnnotations lower-cases the key before checking it.
    isQualifiedName(key.toLowerCase()).forEach(invalid('metadata.annotations', key))
    size += Buffer.byteLength(key) + Buffer.byteLength(value)
  }
  if (size > annotationsLimit) problems.push({ field: 'metadata.annotations', type: 'tooLong', detail: `may not be more than ${annotationsLimit} bytes` })
  return problems
}

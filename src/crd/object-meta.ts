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
  // encoding/json leaves a string at "" for null: `k: null` is the value "" to the apiserver
  const entries = isObject(value) ? Object.entries(value).map(([key, item]): [string, unknown] => [key, item ?? '']) : []
  if (!isObject(value) || entries.some(([, item]) => typeof item !== 'string')) {
    problems.push({ field, type: 'invalid', value: goValue(value), detail: 'must be a map of strings (the apiserver cannot decode anything else)' })
    return []
  }
  return entries as Array<[string, string]>
}

// names.SimpleNameGenerator: generateName cut to 58 characters, then 5 random ones from a lowercase alphabet.
const generatedNameBase = 63 - 5

/** ValidateFinalizers: each one a qualified name. */
function finalizerProblems (finalizers: unknown): CrdProblem[] {
  if (!Array.isArray(finalizers)) return []
  return finalizers.filter((finalizer): finalizer is string => typeof finalizer === 'string')
    .flatMap((finalizer) => isQualifiedName(finalizer).map((detail) => ({ field: 'metadata.finalizers', type: 'invalid' as const, value: goValue(finalizer), detail })))
}

/** An ownerReference as encoding/json writes metav1.OwnerReference: field order, omitempty. */
function ownerJson (owner: Record<string, unknown>): Record<string, unknown> {
  const ordered: Record<string, unknown> = { apiVersion: owner['apiVersion'] ?? '', kind: owner['kind'] ?? '', name: owner['name'] ?? '', uid: owner['uid'] ?? '' }
  for (const key of ['controller', 'blockOwnerDeletion']) if (owner[key] !== undefined && owner[key] !== null) ordered[key] = owner[key]
  return ordered
}

/** ValidateOwnerReferences (apimachinery objectmeta.go): each reference complete, at most one controller. */
function ownerReferenceProblems (owners: unknown): CrdProblem[] {
  if (!Array.isArray(owners)) return []
  const problems: CrdProblem[] = []
  let controller = ''
  owners.forEach((owner, index) => {
    if (!isObject(owner)) return
    const field = `metadata.ownerReferences[${index}]`
    const text = (key: string): string => typeof owner[key] === 'string' ? owner[key] : ''
    // Missing fields are Required (seen on kube-apiserver 1.37); an apiVersion with a group and no version is Invalid.
    const version = text('apiVersion').split('/').at(-1) ?? ''
    if (text('apiVersion') === '') problems.push({ field: `${field}.apiVersion`, type: 'required', detail: 'must not be empty' })
    else if (version === '') problems.push({ field: `${field}.apiVersion`, type: 'invalid', value: goValue(text('apiVersion')), detail: 'version must not be empty' })
    if (text('kind') === '') problems.push({ field: `${field}.kind`, type: 'required', detail: 'must not be empty' })
    if (text('name') === '') problems.push({ field: `${field}.name`, type: 'required', detail: 'must not be empty' })
    if (text('uid') === '') problems.push({ field: `${field}.uid`, type: 'required', detail: 'must not be empty' })
    if (owner['controller'] !== true) return
    const current = `${text('kind')}/${text('name')}`
    if (controller === '') {
      controller = current
      return
    }
    problems.push({
      field: 'metadata.ownerReferences',
      type: 'invalid',
      value: JSON.stringify(owners.filter(isObject).map(ownerJson)),
      detail: `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${current}`
    })
  })
  return problems
}

// metav1.Time decodes RFC 3339 (time.Parse accepts a fraction of a second there too); "" and null are the zero time.
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

function timeProblems (meta: Record<string, unknown>): CrdProblem[] {
  return ['creationTimestamp', 'deletionTimestamp'].flatMap((key) => {
    const value = meta[key]
    if (value === undefined || value === null || value === '' || (typeof value === 'string' && rfc3339.test(value))) return []
    return [{ field: `metadata.${key}`, type: 'invalid' as const, value: goValue(value), detail: 'not an RFC 3339 time (2006-01-02T15:04:05Z07:00); kubectl cannot decode the document' }]
  })
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
  // The apiserver generates the name before validating, and judges it too; its 5 random characters are always valid,
  // so the base decides (shown with ????? where they go).
  if (name === '' && generateName !== '') {
    const base = generateName.slice(0, generatedNameBase)
    nameErrors(`${base}bbbbb`, false).forEach(invalid('metadata.name', `${base}?????`))
  }
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
  problems.push(...finalizerProblems(meta['finalizers']), ...ownerReferenceProblems(meta['ownerReferences']), ...timeProblems(meta))
  return problems
}

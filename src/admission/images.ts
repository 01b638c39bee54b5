import { jsonPointer } from './patch.js'

/**
 * Where an ActorTemplate keeps image references: `spec.pauseImage` and `spec.containers[].image`
 * (substrate pkg/api/v1alpha1/actortemplate_types.go). Reading is defensive: mutating admission runs before the
 * CRD's schema validation, so any shape can arrive.
 */

export interface ImageSlot {
  /** kubectl-style field path, e.g. `spec.containers[1].image` */
  field: string
  /** the same place as an RFC 6901 pointer, for the patch */
  pointer: string
  /** the same place as keys, for the yaml Document API */
  path: ReadonlyArray<string | number>
  reference: string
}

/** An image field that holds something other than a string, or is missing where it is required. */
export interface MissingImage {
  field: string
  found: 'missing' | 'not a string'
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

export function fieldPath (path: ReadonlyArray<string | number>): string {
  return path.map((token, index) => typeof token === 'number' ? `[${token}]` : `${index === 0 ? '' : '.'}${token}`).join('')
}

type Place = Omit<ImageSlot, 'reference'>

function place (path: ReadonlyArray<string | number>): Place {
  return { field: fieldPath(path), pointer: jsonPointer(path), path }
}

// Every admission reads the same few places; their names are built once (issue 17 §4: per-request strings on the warm
// path). Containers past the CRD's 10 can still arrive before validation, so the table stops and those are built anew.
const pausePlace = place(['spec', 'pauseImage'])
const containerPlaces = Array.from({ length: 16 }, (_, index) => place(['spec', 'containers', index, 'image']))

function slot (where: Place, reference: string): ImageSlot {
  return { field: where.field, pointer: where.pointer, path: where.path, reference }
}

export function containersOf (object: unknown): unknown[] {
  const spec = isRecord(object) ? object['spec'] : undefined
  const containers = isRecord(spec) ? spec['containers'] : undefined
  return Array.isArray(containers) ? containers : []
}

/** Every image reference in document order: pauseImage first, then each container. */
export function imageSlots (object: unknown): ImageSlot[] {
  const slots: ImageSlot[] = []
  const spec = isRecord(object) ? object['spec'] : undefined
  if (isRecord(spec) && typeof spec['pauseImage'] === 'string') slots.push(slot(pausePlace, spec['pauseImage']))
  containersOf(object).forEach((container, index) => {
    if (isRecord(container) && typeof container['image'] === 'string') {
      slots.push(slot(containerPlaces[index] ?? place(['spec', 'containers', index, 'image']), container['image']))
    }
  })
  return slots
}

/** Image fields that are absent or not strings; the CRD requires both kinds, so each one makes the template invalid. */
export function missingImages (object: unknown): MissingImage[] {
  const problems: MissingImage[] = []
  const spec = isRecord(object) ? object['spec'] : undefined
  const pause = isRecord(spec) ? spec['pauseImage'] : undefined
  if (typeof pause !== 'string') problems.push({ field: 'spec.pauseImage', found: pause === undefined ? 'missing' : 'not a string' })
  containersOf(object).forEach((container, index) => {
    const image = isRecord(container) ? container['image'] : undefined
    if (typeof image !== 'string') {
      problems.push({ field: `spec.containers[${index}].image`, found: image === undefined ? 'missing' : 'not a string' })
    }
  })
  return problems
}

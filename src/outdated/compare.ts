import { registryDetail } from '../admission/response.js'
import { RegistryError } from '../errors.js'
import { parseReference, withoutDigest } from '../images/reference.js'
import type { Resolution } from '../registry/types.js'
import type { FollowedImage, TemplateImages, TemplateRef } from './followed.js'

/**
 * The comparison (issue 18): each followed tag's digest now against the digest it was pinned to. Pure: the registry
 * answers come in as a map from lookup reference to Resolution, exactly what Resolver.resolveAll returns.
 */

export const ImageStatus = {
  moved: 'moved',
  current: 'current',
  noTag: 'no-tag',
  unpinned: 'unpinned',
  failed: 'failed',
  invalid: 'invalid'
} as const
export type ImageStatus = (typeof ImageStatus)[keyof typeof ImageStatus]

export interface LookupFailure {
  /** the error's stable code, e.g. REGISTRY_UNREACHABLE */
  code: string
  /** host[:port] asked; undefined for a reference that does not parse */
  registry: string | undefined
  message: string
}

export interface ImageFinding {
  field: string
  image: string
  status: ImageStatus
  /** the tag reference followed (`host/repo:tag`) */
  tag?: string | undefined
  pinnedDigest?: string | undefined
  /** RFC 3339, from the pinned-images record */
  pinnedAt?: string | undefined
  currentDigest?: string | undefined
  /** for moved: the image as it would be pinned today, spelled as stored */
  currentImage?: string | undefined
  failure?: LookupFailure | undefined
}

export interface TemplateFindings { template: TemplateRef, object: Record<string, unknown>, images: ImageFinding[] }

function failureOf (resolution: Resolution | undefined, lookup: string): LookupFailure {
  if (resolution === undefined) return { code: 'NOT_RESOLVED', registry: undefined, message: `${lookup} was not looked up` }
  if (resolution.ok) throw new Error('failureOf needs a failed resolution')
  const { error } = resolution
  return error instanceof RegistryError
    ? { code: error.code, registry: error.registry, message: registryDetail(error, 'cli') }
    : { code: error.code, registry: undefined, message: `not a valid image reference: ${error.reason}` }
}

function compareImage (image: FollowedImage, resolutions: ReadonlyMap<string, Resolution>): ImageFinding {
  const { field } = image
  switch (image.kind) {
    case 'no-tag': return { field, image: image.image, status: ImageStatus.noTag, pinnedDigest: parseReference(image.image).digest }
    case 'unpinned': return { field, image: image.image, status: ImageStatus.unpinned }
    case 'invalid': return { field, image: image.image, status: ImageStatus.invalid, failure: { code: 'INVALID_REFERENCE', registry: undefined, message: image.reason } }
    case 'tag': {
      const base = { field, image: image.image, tag: image.lookup, pinnedDigest: image.pinnedDigest, pinnedAt: image.pinnedAt }
      const resolution = resolutions.get(image.lookup)
      // A stale answer (resolver.staleIfErrorSeconds) is an earlier digest standing in for a failed lookup: not "now".
      if (resolution?.ok !== true || resolution.stale !== undefined) {
        const failure = resolution?.ok === true && resolution.stale !== undefined
          ? { code: resolution.stale.error.code, registry: resolution.stale.error.registry, message: registryDetail(resolution.stale.error, 'cli') }
          : failureOf(resolution, image.lookup)
        return { ...base, status: ImageStatus.failed, failure }
      }
      if (resolution.digest === image.pinnedDigest) return { ...base, status: ImageStatus.current, currentDigest: resolution.digest }
      const currentImage = `${withoutDigest(parseReference(image.image))}@${resolution.digest}`
      return { ...base, status: ImageStatus.moved, currentDigest: resolution.digest, currentImage }
    }
  }
}

export function compareTemplates (templates: readonly TemplateImages[], resolutions: ReadonlyMap<string, Resolution>): TemplateFindings[] {
  return templates.map(({ template, object, images }) => ({ template, object, images: images.map((image) => compareImage(image, resolutions)) }))
}

export function isOutdated (findings: TemplateFindings): boolean {
  return findings.images.some((image) => image.status === ImageStatus.moved)
}

export const OutdatedExit = { nothingMoved: 0, moved: 1, errors: 2 } as const

/** 2 wins over 1: with a failed lookup the answer "nothing else moved" is not known. */
export function exitCodeOf (findings: readonly TemplateFindings[]): number {
  const images = findings.flatMap((template) => template.images)
  if (images.some((image) => image.status === ImageStatus.failed || image.status === ImageStatus.invalid)) return OutdatedExit.errors
  return images.some((image) => image.status === ImageStatus.moved) ? OutdatedExit.moved : OutdatedExit.nothingMoved
}

import { parsePinRecords, recordMatches } from '../admission/annotation.js'
import { imageSlots, isRecord } from '../admission/images.js'
import { InvalidReferenceError } from '../errors.js'
import { formatReference, parseReference } from '../images/reference.js'

/**
 * What `outdated` can compare for each image of one ActorTemplate (issue 18): the tag the pin came from and the digest
 * it was pinned to. The tag is read from the image itself (`name:tag@digest`) or, for a pin the webhook recorded, from
 * the `ate.dev/pinned-images` record, which also says when it was pinned. Pure: no registry, no cluster.
 */

export interface TemplateRef {
  /** undefined for a file's template without metadata.namespace */
  namespace: string | undefined
  name: string
  /** where it came from, for messages: `team-a/agent` or `repo/agent.yaml#2 ActorTemplate team-a/agent` */
  where: string
  /** set in files mode */
  file?: { name: string, index: number } | undefined
}

interface ImageBase { field: string, image: string }

export type FollowedImage =
  /** pinned from a tag: `lookup` is the tag reference to ask the registry about now */
  | ImageBase & { kind: 'tag', lookup: string, pinnedDigest: string, pinnedAt: string | undefined }
  /** `name@digest` with no record: nothing says which tag, if any, it came from */
  | ImageBase & { kind: 'no-tag' }
  /** a tag with no digest: only in files that were never pinned (the CRD forbids it in a cluster) */
  | ImageBase & { kind: 'unpinned' }
  | ImageBase & { kind: 'invalid', reason: string }

export interface TemplateImages { template: TemplateRef, object: Record<string, unknown>, images: FollowedImage[] }

function annotationValue (object: Record<string, unknown>, key: string): unknown {
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {}
  return isRecord(metadata['annotations']) ? metadata['annotations'][key] : undefined
}

/**
 * The lookup spelled with its tag: a record's `original` may have none (`agent` was looked up, and pinned, as
 * `agent:latest`), and `agent` and `agent:latest` must count as one distinct tag.
 */
function tagReference (reference: string): string {
  const parsed = parseReference(reference)
  return formatReference({ ...parsed, tag: parsed.tag ?? 'latest', digest: undefined })
}

/** The images of one template, each with what can be followed; `annotationKey` is config admission.annotationKey. */
export function followedImages (object: Record<string, unknown>, annotationKey: string): FollowedImage[] {
  const records = parsePinRecords(annotationValue(object, annotationKey))
  return imageSlots(object).map(({ field, reference: image }): FollowedImage => {
    try {
      const parsed = parseReference(image)
      // A record counts only while it still describes the image: pinning its original with its digest gives the image.
      const record = records[field]
      if (record !== undefined && recordMatches(record, image)) {
        return { field, image, kind: 'tag', lookup: tagReference(record.original), pinnedDigest: record.digest, pinnedAt: record.resolvedAt }
      }
      if (parsed.digest === undefined) return { field, image, kind: 'unpinned' }
      if (parsed.tag === undefined) return { field, image, kind: 'no-tag' }
      return { field, image, kind: 'tag', lookup: tagReference(image), pinnedDigest: parsed.digest, pinnedAt: undefined }
    } catch (error) {
      if (error instanceof InvalidReferenceError) return { field, image, kind: 'invalid', reason: error.reason }
      throw error
    }
  })
}

/** Every distinct tag to look up, in first-seen order: one registry lookup each, however many templates share it. */
export function distinctLookups (templates: readonly TemplateImages[]): string[] {
  const lookups = templates.flatMap(({ images }) => images.flatMap((image) => image.kind === 'tag' ? [image.lookup] : []))
  return [...new Set(lookups)]
}

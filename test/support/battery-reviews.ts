/**
 * AdmissionReviews for the battery (issue 7), built from the apiserver-shaped fixtures in test/fixtures/reviews so
 * every envelope field is real; only the uid and the images change.
 */
import { loadReview, type ReviewFixture } from '../fixtures/reviews/index.js'

/** An already pinned pause image: it needs no lookup, so each template asks the registry exactly for `images`. */
export const pinnedPause = `registry.k8s.io/pause:3.10@sha256:${'e'.repeat(64)}`

export function templateReview (uid: string, images: readonly string[], pauseImage = pinnedPause): ReviewFixture {
  const review = loadReview('create-dry-run')
  review.request.uid = uid
  review.request.dryRun = false
  const first = review.request.object.spec.containers[0] ?? {}
  review.request.object.spec['pauseImage'] = pauseImage
  review.request.object.spec.containers = images.map((image, index) => ({ ...first, name: `c${index}`, image }))
  return review
}

/** The largest template the CRD allows: 10 containers with 64 env entries each, every image a tag to pin. */
export function maximumTemplate (uid: string, image: (index: number) => string, valueBytes = 256): ReviewFixture {
  const review = templateReview(uid, Array.from({ length: 10 }, (_unused, index) => image(index)), image(10))
  review.request.object.spec.containers = review.request.object.spec.containers.map((container, index) => ({
    ...container,
    env: Array.from({ length: 64 }, (_unused, entry) => ({ name: `VAR_${index}_${entry}`, value: 'v'.repeat(valueBytes) }))
  }))
  return review
}

/** Every image field of an object (pauseImage first), for "no unpinned image is ever admitted". */
export function imagesOf (object: unknown): unknown[] {
  const spec = (object as { spec?: { pauseImage?: unknown, containers?: unknown } } | null)?.spec
  const containers = Array.isArray(spec?.containers) ? spec.containers as Array<{ image?: unknown } | null> : []
  return [spec?.pauseImage, ...containers.map((container) => container?.image)]
}

/**
 * Builds small, valid container images in memory and writes them as OCI image layouts, so tests can
 * push them into a real registry and know every digest in advance. Each layer holds random bytes,
 * so every call yields fresh digests and no test can pass on a previous run's leftovers.
 *
 * Shapes (every manifest is the exact JSON.stringify output whose sha256 is its digest):
 *
 *   buildOciImage()            application/vnd.oci.image.manifest.v1+json
 *                                config  application/vnd.oci.image.config.v1+json  {architecture, os, rootfs.diff_ids}
 *                                layers  [application/vnd.oci.image.layer.v1.tar+gzip]  (one file, random content)
 *
 *   buildOciIndex()            application/vnd.oci.image.index.v1+json
 *                                manifests[i] = {mediaType: oci manifest, digest, size, platform: {architecture, os}}
 *                                for linux/amd64 and linux/arm64, each a full image as above
 *
 *   buildDockerImage()         application/vnd.docker.distribution.manifest.v2+json
 *                                config  application/vnd.docker.container.image.v1+json
 *                                layers  [application/vnd.docker.image.rootfs.diff.tar.gzip]
 *
 *   buildDockerManifestList()  application/vnd.docker.distribution.manifest.list.v2+json
 *                                manifests[i] = {mediaType: docker v2 manifest, digest, size, platform}
 *                                for linux/amd64 and linux/arm64, each a full Docker image as above
 *
 *   writeOciLayout(dir, image, ref) then lays out:
 *     dir/oci-layout             {"imageLayoutVersion":"1.0.0"}
 *     dir/index.json             one descriptor of the top-level manifest, annotated
 *                                org.opencontainers.image.ref.name = ref (so `oci:dir:ref` finds it)
 *     dir/blobs/sha256/<hex>     every manifest, config and layer
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip'
} as const

/** The four manifest types a resolver must accept (spec-checklist §C), comma-joined for an Accept header. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest
].join(', ')

export type ImageKind = 'oci-manifest' | 'oci-index' | 'docker-manifest' | 'docker-manifest-list'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface Blob {
  mediaType: string
  digest: string
  size: number
  bytes: Buffer
}

/** A single-platform image manifest with its config and layers. */
export interface ImageManifest extends Blob {
  platform: Platform
  config: Blob
  layers: Blob[]
}

export interface BuiltImage {
  kind: ImageKind
  /** Top-level manifest: what a tag points at and what a resolver must return. */
  mediaType: string
  digest: string
  size: number
  bytes: Buffer
  /** The single image for manifest kinds (images[0].digest === digest); the platform children for lists. */
  images: ImageManifest[]
  /** Digests of the platform children; empty for the single-manifest kinds. */
  childDigests: string[]
  /** Every config and layer blob, each once. */
  blobs: Blob[]
}

export interface OciLayout extends BuiltImage {
  dir: string
  /** Value of org.opencontainers.image.ref.name, i.e. REF in `oci:DIR:REF`. */
  ref: string
}

export interface BuildOptions {
  /** Default linux/amd64 for single images; linux/amd64 + linux/arm64 for lists. */
  platforms?: readonly Platform[]
  /** Extra bytes in each layer, on top of the random marker. Default 256. */
  layerSize?: number
}

const DEFAULT_PLATFORMS: readonly Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' }
]

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes }
}

function jsonBlob(mediaType: string, value: unknown): Blob {
  return blob(mediaType, Buffer.from(JSON.stringify(value), 'utf8'))
}

function descriptor(b: Blob): { mediaType: string; digest: string; size: number } {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size }
}

/** One regular file in a POSIX ustar archive: enough for a real, extractable layer. */
function tarWithOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512)
  const put = (offset: number, length: number, text: string): void => { header.write(text, offset, length, 'ascii') }
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`
  put(0, 100, name)
  put(100, 8, octal(0o644, 8))
  put(108, 8, octal(0, 8))
  put(116, 8, octal(0, 8))
  put(124, 12, octal(content.length, 12))
  put(136, 12, octal(0, 12))
  put(148, 8, '        ')
  put(156, 1, '0')
  put(257, 6, 'ustar\0')
  put(263, 2, '00')
  let sum = 0
  for (const byte of header) sum += byte
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512)
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)])
}

function buildImage(flavour: 'oci' | 'docker', platform: Platform, layerSize: number): ImageManifest {
  const types = flavour === 'oci'
    ? { manifest: MEDIA_TYPES.ociManifest, config: MEDIA_TYPES.ociConfig, layer: MEDIA_TYPES.ociLayerGzip }
    : { manifest: MEDIA_TYPES.dockerManifest, config: MEDIA_TYPES.dockerConfig, layer: MEDIA_TYPES.dockerLayerGzip }
  const marker = randomBytes(16).toString('hex')
  const content = Buffer.concat([Buffer.from(`${marker}\n`), randomBytes(layerSize)])
  const tar = tarWithOneFile(`atw-${marker}.bin`, content)
  const layer = blob(types.layer, gzipSync(tar))
  const config = jsonBlob(types.config, {
    created: new Date().toISOString(),
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    config: { Labels: { 'dev.ate.test-marker': marker } },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
    history: [{ created_by: 'actortemplate-webhook test fixture' }]
  })
  const manifest = jsonBlob(types.manifest, {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: descriptor(config),
    layers: [descriptor(layer)]
  })
  return { ...manifest, platform, config, layers: [layer] }
}

function uniqueBlobs(images: readonly ImageManifest[]): Blob[] {
  const byDigest = new Map<string, Blob>()
  for (const image of images) for (const b of [image.config, ...image.layers]) byDigest.set(b.digest, b)
  return [...byDigest.values()]
}

function single(kind: ImageKind, image: ImageManifest): BuiltImage {
  return {
    kind,
    mediaType: image.mediaType,
    digest: image.digest,
    size: image.size,
    bytes: image.bytes,
    images: [image],
    childDigests: [],
    blobs: uniqueBlobs([image])
  }
}

function list(kind: ImageKind, mediaType: string, images: ImageManifest[]): BuiltImage {
  const top = jsonBlob(mediaType, {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((image) => ({ ...descriptor(image), platform: image.platform }))
  })
  return {
    kind,
    mediaType,
    digest: top.digest,
    size: top.size,
    bytes: top.bytes,
    images,
    childDigests: images.map((image) => image.digest),
    blobs: uniqueBlobs(images)
  }
}

export function buildOciImage(opts: BuildOptions = {}): BuiltImage {
  const platform = opts.platforms?.[0] ?? DEFAULT_PLATFORMS[0] ?? { os: 'linux', architecture: 'amd64' }
  return single('oci-manifest', buildImage('oci', platform, opts.layerSize ?? 256))
}

export function buildOciIndex(opts: BuildOptions = {}): BuiltImage {
  const platforms = opts.platforms ?? DEFAULT_PLATFORMS
  return list('oci-index', MEDIA_TYPES.ociIndex, platforms.map((p) => buildImage('oci', p, opts.layerSize ?? 256)))
}

export function buildDockerImage(opts: BuildOptions = {}): BuiltImage {
  const platform = opts.platforms?.[0] ?? DEFAULT_PLATFORMS[0] ?? { os: 'linux', architecture: 'amd64' }
  return single('docker-manifest', buildImage('docker', platform, opts.layerSize ?? 256))
}

export function buildDockerManifestList(opts: BuildOptions = {}): BuiltImage {
  const platforms = opts.platforms ?? DEFAULT_PLATFORMS
  return list(
    'docker-manifest-list',
    MEDIA_TYPES.dockerManifestList,
    platforms.map((p) => buildImage('docker', p, opts.layerSize ?? 256))
  )
}

export async function writeOciLayout(dir: string, image: BuiltImage, ref = 'latest'): Promise<OciLayout> {
  const blobsDir = join(dir, 'blobs', 'sha256')
  await mkdir(blobsDir, { recursive: true })
  const all: Blob[] = [image, ...(image.childDigests.length > 0 ? image.images : []), ...image.blobs]
  await Promise.all(all.map((b) => writeFile(join(blobsDir, b.digest.slice('sha256:'.length)), b.bytes)))
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{ ...descriptor(image), annotations: { 'org.opencontainers.image.ref.name': ref } }]
  }))
  return { ...image, dir, ref }
}

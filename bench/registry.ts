import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildOciImage, buildOciIndex, buildDockerManifestList } from '../test/support/oci-layout.js'
import { push } from '../test/support/push.js'
import { startRegistry, type Registry } from '../test/support/registry.js'

/**
 * One real docker-registry on loopback (plain HTTP, or TLS with token auth) holding the bench's five images:
 * pauseImage plus four containers, each a distinct repository and tag, mixing single manifests and indexes.
 */

export type BenchMode = 'http' | 'token'

export interface BenchRegistry {
  mode: BenchMode
  registry: Registry
  /** pauseImage first, then the four containers; tags only, as a user writes them */
  images: string[]
  /** the five above and five more (single OCI manifests), for the network section's 10-image templates */
  tenImages: string[]
  /** the digest each image must pin to, by reference */
  digests: Map<string, string>
  /** a directory holding config.json with the registry user's credentials (token mode), for DOCKER_CONFIG */
  dockerConfigDir: string
  dockerConfigFile: string
  /** settings entry for our config's `registries` */
  settings: Record<string, unknown>
  close: () => Promise<void>
}

const repositories: Array<[string, string, () => ReturnType<typeof buildOciImage>]> = [
  ['pause', '3.10', () => buildOciIndex()],
  ['acme/agent', '1.4', () => buildOciIndex()],
  ['acme/sidecar', '2.0', () => buildOciImage()],
  ['acme/proxy', '0.9', () => buildDockerManifestList()],
  ['acme/tools', '2026.11', () => buildOciImage()]
]
const moreRepositories: Array<[string, string, () => ReturnType<typeof buildOciImage>]> =
  [1, 2, 3, 4, 5].map((index) => [`acme/extra-${index}`, `1.${index}`, () => buildOciImage()])

/** `binary`: another distribution build than Debian's docker-registry (the network section's v3 comparison). */
export async function startBenchRegistry (mode: BenchMode, dir: string, binary?: string): Promise<BenchRegistry> {
  const registry = await startRegistry({ mode, ...(binary === undefined ? {} : { binary }) })
  try {
    const digests = new Map<string, string>()
    const images: string[] = []
    const tenImages: string[] = []
    for (const [repository, tag, build] of [...repositories, ...moreRepositories]) {
      const pushed = await push(registry, build(), repository, tag)
      const reference = `${registry.host}/${repository}:${tag}`
      if (images.length < repositories.length) images.push(reference)
      tenImages.push(reference)
      digests.set(reference, pushed.digest)
    }
    const auths = registry.username === undefined || registry.password === undefined
      ? {}
      : { [registry.host]: { auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64') } }
    const dockerConfigFile = join(dir, 'config.json')
    await writeFile(dockerConfigFile, JSON.stringify({ auths }), { mode: 0o600 })
    const settings = registry.tls ? { host: registry.host, caFile: registry.caFile } : { host: registry.host, insecure: true }
    registry.resetRequests()
    registry.tokenServer?.resetRequests()
    return { mode, registry, images, tenImages, digests, dockerConfigDir: dir, dockerConfigFile, settings, close: async () => { await registry.close() } }
  } catch (error) {
    await registry.close()
    throw error
  }
}

/** Registry requests logged since the last reset, readiness probes excluded; waits for the log to settle. */
export async function settledRequests (registry: Registry, expectedAtLeast = 0): Promise<number> {
  if (expectedAtLeast > 0) await registry.waitForRequests((seen) => seen.length >= expectedAtLeast, 5000).catch(() => undefined)
  // The registry logs a request as its handler returns, a moment after the client has the answer.
  let last = -1
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 150))
    const count = registry.requests().length
    if (count === last) return count
    last = count
  }
}

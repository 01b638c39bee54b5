import type { Resolution, Resolver } from '../src/registry/types.js'

/** The five tags of the in-process warm benches (admission-loop, admission-phases). */
export const warmImages = ['registry.example/pause:3.10', 'registry.example/acme/agent:1.4', 'registry.example/acme/sidecar:2.0',
  'registry.example/acme/proxy:1.27', 'registry.example/acme/tools:0.9']

const digest = `sha256:${'ab12'.repeat(16)}`

/** Every reference answered as a digest cache hit: the warm path, with no I/O. */
export const cachedResolver: Resolver = {
  resolveAll: async (references) => new Map(references.map((reference): [string, Resolution] => [reference, {
    ok: true, original: reference, pinned: `${reference}@${digest}`, digest, mediaType: 'application/vnd.oci.image.index.v1+json', fromCache: true
  }]))
}

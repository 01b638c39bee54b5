/**
 * What the e2e files share: ActorTemplate documents, the stored object as kubectl shows it, the digest a registry
 * serves for a tag, and polling until newly applied webhook configurations are in force (the apiserver picks them up
 * through an informer, spec-checklist §A "Order").
 */
import { MANIFEST_ACCEPT } from '../support/oci-layout.js'
import { RegistrySession, type PushTarget } from '../support/push.js'
import type { Cluster, KubectlResult } from '../support/cluster.js'

export const PINNED_MESSAGE = 'All images must be pinned (changing the image invalidates snapshots)'
export const ANNOTATION = 'ate.dev/pinned-images'

export interface ContainerSpec {
  name: string
  image: string
}

export interface ActorTemplate {
  apiVersion: 'ate.dev/v1alpha1'
  kind: 'ActorTemplate'
  metadata: { name: string, namespace: string, annotations?: Record<string, string>, [field: string]: unknown }
  spec: {
    pauseImage: string
    containers?: Array<ContainerSpec & Record<string, unknown>>
    snapshotsConfig: { location: string }
    sandboxClass?: string
  }
}

export function actorTemplate (name: string, namespace: string, pauseImage: string, containers: readonly ContainerSpec[]): ActorTemplate {
  return {
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name, namespace },
    spec: {
      pauseImage,
      containers: containers.map((container) => ({ ...container, command: ['/app/server'] })),
      snapshotsConfig: { location: 'gs://bucket/prefix/' },
      sandboxClass: 'gvisor'
    }
  }
}

/** YAML is a superset of JSON: what a user keeps in agent.yaml, in the form kubectl reads from stdin. */
export function manifest (template: ActorTemplate): string {
  return `${JSON.stringify(template, null, 2)}\n`
}

export async function createNamespace (cluster: Cluster, name: string): Promise<void> {
  const created = await cluster.kubectl(['create', 'namespace', name])
  if (created.code !== 0 && !created.stderr.includes('AlreadyExists')) throw new Error(`cannot create namespace ${name}: ${created.stderr}`)
}

/** The stored ActorTemplate, or undefined when kubectl says NotFound. */
export async function storedTemplate (cluster: Cluster, namespace: string, name: string): Promise<ActorTemplate | undefined> {
  const got = await cluster.kubectl(['get', 'actortemplate', name, '-n', namespace, '-o', 'json'])
  if (got.code !== 0) {
    if (got.stderr.includes('(NotFound)')) return undefined
    throw new Error(`kubectl get actortemplate ${namespace}/${name} failed: ${got.stderr}`)
  }
  return JSON.parse(got.stdout) as ActorTemplate
}

/** The Docker-Content-Digest the registry answers for a tag, asked with every manifest and index media type. */
export async function servedDigest (registry: PushTarget, repo: string, tag: string): Promise<string> {
  const session = new RegistrySession(registry, repo, registry.username === undefined || registry.password === undefined
    ? undefined
    : { username: registry.username, password: registry.password }, 'pull')
  try {
    const head = await session.send('HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } })
    await head.body.dump()
    const digest = head.headers['docker-content-digest']
    if (head.statusCode !== 200 || typeof digest !== 'string') throw new Error(`HEAD ${repo}:${tag}: HTTP ${head.statusCode}, digest ${String(digest)}`)
    return digest
  } finally {
    await session.close()
  }
}

/** kubectl's `Warning: …` lines on stderr, without the prefix. */
export function warnings (result: KubectlResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('Warning: ')).map((line) => line.slice('Warning: '.length))
}

export async function timed<T> (run: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  const value = await run()
  return { value, ms: Math.round(performance.now() - started) }
}

/**
 * Polls `kubectl create --dry-run=server` of `probe` until `done` holds for the result (the webhook configurations
 * are in force), or throws with the last result after `timeoutMs`.
 */
export async function pollDryRun (cluster: Cluster, probe: ActorTemplate, done: (result: KubectlResult) => boolean,
  what: string, timeoutMs = 30_000): Promise<KubectlResult> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: manifest(probe) })
    if (done(result)) return result
    if (Date.now() > deadline) throw new Error(`${what}: not in force after ${timeoutMs} ms; last kubectl (${String(result.code)}): ${result.stdout}${result.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * Both shipped webhooks answer: a tag is pinned (the mutating one; otherwise the CRD's contains('@') denies it; the
 * validating one, which has no matchConditions, was called too or the create would fail), and a container named pause
 * is denied by name: by the validating webhook, or by the ValidatingAdmissionPolicy, which the apiserver runs before
 * validating webhooks when it is installed (overlays/validating-webhook ships both, issue 16 §2).
 */
export async function waitForWebhooks (cluster: Cluster, namespace: string, taggedImage: string, pinnedImage: string): Promise<void> {
  await pollDryRun(cluster, actorTemplate('probe-mutating', namespace, pinnedImage, [{ name: 'probe', image: taggedImage }]),
    (result) => result.code === 0, 'pin.actortemplates.ate.dev')
  await pollDryRun(cluster, actorTemplate('probe-validating', namespace, pinnedImage, [{ name: 'pause', image: pinnedImage }]),
    (result) => result.stderr.includes('admission webhook "validate.actortemplates.ate.dev" denied the request') ||
      result.stderr.includes("ValidatingAdmissionPolicy 'pinned.actortemplates.ate.dev'"), 'validate.actortemplates.ate.dev')
}

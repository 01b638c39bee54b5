/**
 * A kustomize overlay over the shipped manifests that changes only what a test cluster must (issue 12 §3): the
 * image, by digest, and the local plain-HTTP registry marked insecure in the webhook's configuration. Everything
 * else (certificates, probes, PDB, RBAC, NetworkPolicy, webhooks with clientConfig.service) is applied as shipped.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parse, stringify } from 'yaml'
import { REPO_ROOT } from './cluster.js'

export interface TestOverlayOptions {
  /** Directory under manifests/ to build on: '' (the default install) or 'overlays/validating-webhook'. */
  over: string
  /** REGISTRY/REPO@sha256:… as `npm run image -- --push` printed it. */
  image: string
  /** host:port of the plain-HTTP registry. */
  insecureRegistry: string
  /** Other top-level config keys to change (a config change rolls the pods through the ConfigMap's hash). */
  config?: Record<string, unknown>
}

export interface TestOverlay {
  dir: string
  /** Rewrites config.yaml; `kubectl apply -k dir` then creates a ConfigMap with a new hash suffix. */
  setConfig: (config: Record<string, unknown>) => Promise<void>
  remove: () => Promise<void>
}

export async function writeTestOverlay (opts: TestOverlayOptions): Promise<TestOverlay> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-overlay-'))
  const at = opts.image.lastIndexOf('@')
  if (at < 0) throw new Error(`image ${opts.image} is not a digest reference`)
  const base = parse(await readFile(join(REPO_ROOT, 'manifests', 'base', 'config.yaml'), 'utf8')) as Record<string, unknown>
  const setConfig = async (extra: Record<string, unknown>): Promise<void> => {
    const config = { ...base, registries: [{ host: opts.insecureRegistry, insecure: true }], ...extra }
    await writeFile(join(dir, 'config.yaml'), stringify(config))
  }
  await setConfig(opts.config ?? {})
  // kustomize refuses absolute resource paths ("new root cannot be absolute").
  const resource = relative(dir, join(REPO_ROOT, 'manifests', opts.over))
  await writeFile(join(dir, 'kustomization.yaml'), stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [resource],
    configMapGenerator: [{ name: 'actortemplate-webhook-config', behavior: 'replace', files: ['config.yaml'] }],
    images: [{ name: 'actortemplate-webhook', newName: opts.image.slice(0, at), digest: opts.image.slice(at + 1) }]
  }))
  return { dir, setConfig, remove: async () => { await rm(dir, { recursive: true, force: true }) } }
}

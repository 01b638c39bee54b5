/**
 * What an admin does to the manifests (issue 14 §1): an overlay of their own, outside this repository, that sets a
 * namespace and a name prefix over manifests/ or one of its overlays. Rendered with the kubectl under test.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { build, MANIFESTS, type K8sObject } from './kustomize.js'

export const DEFAULT_NAMESPACE = 'actortemplate-webhook'

export interface Customisation { namespace: string, namePrefix?: string }

/** Renders `target` (a folder of manifests/, '' for manifests/ itself) under an admin's overlay in a temp dir. */
export async function renderOverlay (target: string, customisation: Customisation, kubectl: string): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-admin-overlay-'))
  try {
    // kustomize takes only relative paths to bases; a folder outside the overlay's root is allowed.
    const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', `namespace: ${customisation.namespace}`,
      ...(customisation.namePrefix === undefined ? [] : [`namePrefix: ${customisation.namePrefix}`]),
      'resources:', `  - ${relative(dir, join(MANIFESTS, target))}`]
    await writeFile(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`)
    return await build(dir, kubectl)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The other way the issue names: a copy of manifests/ with every `namespace:` line of its kustomizations edited. */
export async function renderEditedCopy (target: string, namespace: string, kubectl: string): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-edited-manifests-'))
  try {
    await cp(MANIFESTS, dir, { recursive: true })
    for (const file of ['base/kustomization.yaml', 'overlays/cert-manager/kustomization.yaml']) {
      const text = await readFile(join(dir, file), 'utf8')
      await writeFile(join(dir, file), text.replace(`\nnamespace: ${DEFAULT_NAMESPACE}\n`, `\nnamespace: ${namespace}\n`))
    }
    return await build(join(dir, target), kubectl)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

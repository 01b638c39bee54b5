/**
 * The config a webhook pod of rendered manifests would load: the ConfigMap's config.yaml plus the Deployment's
 * environment, with the downward API's metadata.namespace resolved as the kubelet would (issue 14 §1: the names an
 * overlay changes reach the webhook through its environment, not through the file).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node'
import { loadConfig, type Config } from '../../src/config.js'
import { only, type K8sObject } from './kustomize.js'

/** The webhook container's environment; only the fieldRefs the manifests use are resolved, anything else throws. */
export function podEnvironment (deployment: V1Deployment): Record<string, string> {
  const namespace = deployment.metadata?.namespace
  const env: Record<string, string> = {}
  for (const variable of deployment.spec?.template.spec?.containers[0]?.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath
    if (variable.value !== undefined) env[variable.name] = variable.value
    // `value: ""` is stored by the apiserver as no value at all; the kubelet gives the container an empty string.
    else if (variable.valueFrom === undefined) env[variable.name] = ''
    else if (fieldPath === 'metadata.namespace' && namespace !== undefined) env[variable.name] = namespace
    else throw new Error(`env ${variable.name}: cannot resolve ${JSON.stringify(variable.valueFrom)} offline`)
  }
  return env
}

export async function podConfig (objects: readonly K8sObject[]): Promise<Readonly<Config>> {
  const map = only(objects, 'ConfigMap') as unknown as V1ConfigMap
  const text = map.data?.['config.yaml']
  if (text === undefined) throw new Error('ConfigMap has no config.yaml')
  const dir = await mkdtemp(join(tmpdir(), 'atw-pod-config-'))
  try {
    await writeFile(join(dir, 'config.yaml'), text)
    // --config wins over ATW_CONFIG (the in-pod mount path), the rest of the environment applies as in the pod.
    return loadConfig({ configFile: join(dir, 'config.yaml') }, podEnvironment(only(objects, 'Deployment') as unknown as V1Deployment))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Helm for the chart tests (issue 14 §2): the binary scripts/build-helm.sh builds and caches, run on the chart in
 * charts/actortemplate-webhook. Values are passed as a JSON file (-f), so a test states them as data.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { scriptOutput } from './build-script.js'

export const CHART = fileURLToPath(new URL('../../charts/actortemplate-webhook/', import.meta.url))
/** The image every test renders with: the chart requires one, and no published image exists. */
export const TEST_IMAGE = {
  repository: 'registry.example.test/actortemplate-webhook',
  digest: `sha256:${'a1'.repeat(32)}`
} as const

export interface HelmResult { code: number, stdout: string, stderr: string }
export interface RenderedObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [field: string]: unknown
}

export function helmBinary (): Promise<string> {
  return scriptOutput('build-helm.sh')
}

/** Runs helm with the args; `values` (if any) go in as a values file. Never rejects for a non-zero exit. */
export async function helm (args: readonly string[], options: { values?: object, env?: NodeJS.ProcessEnv } = {}): Promise<HelmResult> {
  const binary = await helmBinary()
  const dir = await mkdtemp(join(tmpdir(), 'atw-helm-'))
  try {
    const valueArgs: string[] = []
    if (options.values !== undefined) {
      await writeFile(join(dir, 'values.json'), JSON.stringify(options.values))
      valueArgs.push('-f', join(dir, 'values.json'))
    }
    // A cache, config and data dir of its own: nothing from the user's Helm set-up (repositories, plugins) applies.
    const env = { PATH: process.env['PATH'] ?? '', HOME: dir, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_DATA_HOME: join(dir, 'data'), ...options.env }
    return await new Promise((resolve, reject) => {
      execFile(binary, [...args, ...valueArgs], { env, maxBuffer: 16 << 20, timeout: 300_000 }, (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') { reject(error); return }
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr })
      })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export function parseObjects (text: string): RenderedObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`helm output does not parse: ${document.errors.join('; ')}`)
    const object = document.toJS() as RenderedObject | null
    return object === null ? [] : [object]
  })
}

/** `helm template` of the chart as release actortemplate-webhook in namespace actortemplate-webhook (the base's). */
export async function renderChart (values: object, release = { name: 'actortemplate-webhook', namespace: 'actortemplate-webhook' }): Promise<RenderedObject[]> {
  const result = await helm(['template', release.name, CHART, '--namespace', release.namespace], { values })
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`)
  return parseObjects(result.stdout)
}

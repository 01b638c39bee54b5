import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { loadConfig } from '../config.js'
import { KubeApiError } from '../kube/api.js'
import { compareTemplates, exitCodeOf, OutdatedExit, type TemplateFindings } from '../outdated/compare.js'
import { distinctLookups } from '../outdated/followed.js'
import { failureLines, jsonLines, tableLines } from '../outdated/report.js'
import { checkSuffix, proposalFileName, proposeTemplate, SuffixError } from '../outdated/rewrite.js'
import { createRegistryStack } from '../registry/create-resolver.js'
import { credentialsFromConfig } from '../registry/credentials-from-config.js'
import { deadlineIn, type Resolution } from '../registry/types.js'
import { fromCluster, fromFiles, type Loaded } from './outdated-sources.js'
import { InputError } from './template-documents.js'
import { ExitCode, type Io, parseCommandArgs, secondsOption, UsageError } from './usage.js'

export const outdatedUsage = `usage: actortemplate-webhook outdated [--kubeconfig FILE] [--context NAME] [-n|--namespace NS | -A|--all-namespaces] [-l|--selector L]
                                     [--output table|json] [--config FILE] [--insecure-registry HOST[:PORT]]...
                                     [--timeout SECONDS] [--write DIR [--suffix S]] [FILE|DIR...]
Lists the ActorTemplates whose pinned images carry a tag (name:tag@digest, or a record in the pinned-images
annotation) that now resolves to another digest. Reads the cluster (kubectl's kubeconfig, context and namespace rules;
-A for all namespaces; -l label selector) or, given FILE|DIR..., pinned manifests in files. Each distinct tag is looked
up once, with the webhook's resolver, registry settings and credentials (--config); a failed lookup is reported for its
images and the rest go on. Images pinned by digest alone have no tag to follow.
--output table (default) lists every image that is not current; json prints one object per image.
--write DIR writes, for each outdated template, <namespace>_<new name>.yaml: the template under a new name
(<name>-<12 hex of the new digest>, or <name>-<S> with --suffix S) with the moved images pinned to their new digests,
without server fields and the pinned-images annotation; apply it, then point users at the new name.
--timeout SECONDS bounds the registry lookups: more than 0, at most 300, default 60.
Exit 0 when nothing moved, 1 when an image moved, 2 on errors (a failed lookup, the cluster, usage, input).`

const clusterFlags = ['kubeconfig', 'context', 'namespace', 'all-namespaces', 'selector'] as const

/** --write DIR: one file per outdated template; the directory is made if needed, files of the same name replaced. */
async function writeProposals (findings: readonly TemplateFindings[], dir: string, options: { annotationKey: string, suffix: string | undefined }, io: Io): Promise<void> {
  const proposals = findings.flatMap((template) => proposeTemplate(template, options.annotationKey, options.suffix) ?? [])
  await mkdir(dir, { recursive: true })
  for (const proposal of proposals) {
    const path = join(dir, proposalFileName(proposal))
    await writeFile(path, stringify(proposal.object))
    io.stderr(`wrote ${path}\n`)
  }
}

export async function runOutdated (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A' },
    selector: { type: 'string', short: 'l' },
    output: { type: 'string', short: 'o' },
    config: { type: 'string' },
    'insecure-registry': { type: 'string', multiple: true },
    timeout: { type: 'string' },
    write: { type: 'string' },
    suffix: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${outdatedUsage}\n`)
    return ExitCode.ok
  }
  const output = values.output ?? 'table'
  if (output !== 'table' && output !== 'json') throw new UsageError(`--output must be table or json, not ${JSON.stringify(output)}`)
  if (values.namespace !== undefined && values['all-namespaces'] === true) throw new UsageError('give -n NAMESPACE or -A, not both')
  const filesMode = positionals.length > 0
  const misplaced = clusterFlags.filter((flag) => values[flag] !== undefined)
  if (filesMode && misplaced.length > 0) throw new UsageError(`--${misplaced.join(', --')} select cluster templates; with FILE|DIR arguments the files are read instead`)
  if (values.suffix !== undefined && values.write === undefined) throw new UsageError('--suffix names what --write DIR writes; give --write too')
  let suffix: string | undefined
  try {
    suffix = values.suffix === undefined ? undefined : checkSuffix(values.suffix)
  } catch (error) {
    if (error instanceof SuffixError) throw new UsageError(error.message)
    throw error
  }
  const timeoutSeconds = secondsOption(values.timeout, 'timeout', 60)
  const config = loadConfig({ configFile: values.config, insecureRegistries: values['insecure-registry'] })

  let loaded: Loaded
  try {
    loaded = filesMode
      ? await fromFiles(positionals, config, io)
      : await fromCluster({
        kubeconfig: values.kubeconfig,
        context: values.context,
        namespace: values.namespace,
        allNamespaces: values['all-namespaces'] === true,
        labelSelector: values.selector,
        requestTimeoutMs: config.kube.requestTimeoutSeconds * 1000
      }, config, io)
  } catch (error) {
    if (!(error instanceof InputError) && !(error instanceof KubeApiError)) throw error
    io.stderr(`${error.message}\n`)
    return OutdatedExit.errors
  }
  try {
    const lookups = distinctLookups(loaded.templates)
    let resolutions = new Map<string, Resolution>()
    if (lookups.length > 0) {
      const credentials = credentialsFromConfig(config, (problem) => { io.stderr(`warning: ${problem}\n`) }, loaded.secrets)
      const stack = createRegistryStack(config, credentials)
      try {
        resolutions = await stack.resolver.resolveAll(lookups, deadlineIn(timeoutSeconds * 1000))
      } finally {
        await stack.close()
      }
    }
    const findings = compareTemplates(loaded.templates, resolutions)
    const lines = output === 'json' ? jsonLines(findings) : tableLines(findings)
    io.stdout(lines.map((line) => `${line}\n`).join(''))
    for (const line of failureLines(findings)) io.stderr(`${line}\n`)
    if (values.write !== undefined) await writeProposals(findings, values.write, { annotationKey: config.admission.annotationKey, suffix }, io)
    return exitCodeOf(findings)
  } finally {
    loaded.close()
  }
}

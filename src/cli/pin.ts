import { randomBytes } from 'node:crypto'
import { rename, stat, writeFile } from 'node:fs/promises'
import { decideMutation, lookups, planPins } from '../admission/mutate.js'
import type { Problem } from '../admission/problem.js'
import { formatProblem, problemFromError } from '../admission/response.js'
import { pinWarning } from '../admission/warnings.js'
import { loadConfig } from '../config.js'
import { createRegistryStack } from '../registry/create-resolver.js'
import { credentialsFromConfig } from '../registry/credentials-from-config.js'
import { withDeveloperDockerConfig } from '../registry/credentials-developer.js'
import { deadlineIn, type Resolution } from '../registry/types.js'
import { applyEdits, InputError, noTemplatesError, readSources, templatesIn, type Edit, type Source } from './template-documents.js'
import { dockerConfigHelp, ExitCode, type Io, parseCommandArgs, secondsOption, UsageError } from './usage.js'

export const pinUsage = `usage: actortemplate-webhook pin [--in-place] [--config FILE] [--insecure-registry HOST[:PORT]]... [--no-docker-config] [--timeout SECONDS] FILE|DIR... (- for stdin)
Resolves every tag in the ActorTemplates of the files to <as written>[:latest]@<digest>, exactly as the webhook would,
and writes the documents back with comments, key order, quoting and other documents untouched: to stdout, or into
each file with --in-place. Nothing is written unless every reference pins.
--timeout SECONDS bounds the registry lookups: more than 0, at most 300, default 30.
${dockerConfigHelp}
Exit 0 on success, 1 when any reference cannot be pinned, 2 on usage or input errors.`

async function writeAtomically (path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  const { mode } = await stat(path)
  await writeFile(temporary, text, { mode })
  await rename(temporary, path)
}

function joinOutputs (sources: readonly Source[], texts: ReadonlyMap<string, string>): string {
  return sources.map((source, index) => {
    const text = texts.get(source.name) ?? source.text
    const separated = index === 0 || /^---(\s|$)/.test(text) ? text : `---\n${text}`
    return separated.endsWith('\n') || separated === '' ? separated : `${separated}\n`
  }).join('')
}

/** A failed lookup's problem again, with the advice worded for this machine rather than the webhook. */
function forCli (problem: Problem, resolutions: ReadonlyMap<string, Resolution>): Problem {
  const result = problem.reference === undefined ? undefined : resolutions.get(problem.reference)
  return result?.ok === false ? problemFromError(problem.field, result.original, result.error, 'cli') : problem
}

export async function runPin (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    'in-place': { type: 'boolean', short: 'i' },
    config: { type: 'string' },
    'insecure-registry': { type: 'string', multiple: true },
    'no-docker-config': { type: 'boolean' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${pinUsage}\n`)
    return ExitCode.ok
  }
  const inPlace = values['in-place'] === true
  if (inPlace && positionals.includes('-')) throw new UsageError('--in-place cannot write to stdin; give file names')
  const timeoutSeconds = secondsOption(values.timeout, 'timeout', 30)
  const config = withDeveloperDockerConfig(loadConfig({ configFile: values.config, insecureRegistries: values['insecure-registry'] }), values['no-docker-config'] !== true)
  const report = inPlace ? io.stdout : io.stderr
  try {
    const sources = await readSources(positionals, io)
    const { templates } = templatesIn(sources)
    if (templates.length === 0) throw noTemplatesError(sources)
    const plans = templates.map((template) => ({ template, plan: planPins(template.object, config.admission) }))
    const references = [...new Set(plans.flatMap(({ plan }) => lookups(plan)))]
    let resolutions = new Map<string, Resolution>()
    if (references.length > 0) {
      const stack = createRegistryStack(config, credentialsFromConfig(config, (problem) => { io.stderr(`warning: ${problem}\n`) }))
      try {
        resolutions = await stack.resolver.resolveAll(references, deadlineIn(timeoutSeconds * 1000))
      } finally {
        await stack.close()
      }
    }
    const edits: Edit[] = []
    let failed = false
    for (const { template, plan } of plans) {
      const decision = decideMutation(plan, resolutions, { object: template.object, annotationKey: config.admission.annotationKey, resolvedAt: '' })
      if (decision.kind === 'denied') {
        failed = true
        for (const problem of decision.problems) io.stderr(`${template.label}: ${formatProblem(forCli(problem, resolutions))}\n`)
        continue
      }
      if (decision.kind === 'unchanged') continue
      for (const pin of decision.pins) {
        const slot = plan.slots.find((candidate) => candidate.field === pin.field)
        if (slot !== undefined) edits.push({ template, path: slot.path, value: pin.pinned })
        report(`${template.label}: ${pinWarning(pin)}\n`)
      }
    }
    if (failed) {
      io.stderr('nothing was written\n')
      return ExitCode.rejected
    }
    const texts = applyEdits(sources, edits)
    if (!inPlace) {
      io.stdout(joinOutputs(sources, texts))
      return ExitCode.ok
    }
    for (const source of sources) {
      const text = texts.get(source.name)
      if (text !== undefined && text !== source.text) await writeAtomically(source.name, text)
    }
    return ExitCode.ok
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    io.stderr(`${error.message}\n`)
    return ExitCode.usage
  }
}

import { imageSlots } from '../admission/images.js'
import { formatProblem } from '../admission/response.js'
import { validateTemplate } from '../admission/validate.js'
import { loadConfig } from '../config.js'
import { parseReference } from '../images/reference.js'
import { InputError, readSources, templatesIn } from './template-documents.js'
import { ExitCode, type Io, parseCommandArgs } from './usage.js'

export const checkUsage = `usage: actortemplate-webhook check [--config FILE] FILE... (- for stdin)
Runs the admission rules offline (no registry) on every ActorTemplate in the files (multi-document YAML or JSON) and
lists the images the webhook would pin. The config supplies the limits (admission.maxContainers, maxImageReferences). Exit 0 when every template is admissible, 1 when any would be rejected,
2 on usage or input errors.`

function isTag (reference: string): boolean {
  try {
    return parseReference(reference).digest === undefined
  } catch {
    return false
  }
}

export async function runCheck (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } })
  if (values.help === true) {
    io.stdout(`${checkUsage}\n`)
    return ExitCode.ok
  }
  const { admission: limits } = loadConfig({ configFile: values.config })
  let rejected = 0
  try {
    const { templates, entries } = templatesIn(await readSources(positionals, io))
    if (templates.length === 0) io.stderr('no ActorTemplate found\n')
    for (const template of entries) {
      if ('skipped' in template) {
        io.stdout(`${template.skipped}: skipped\n`)
        continue
      }
      // A tag is what the mutating webhook fixes; everything else is judged as the validating webhook will.
      const problems = validateTemplate(template.object, { requireDigest: false, limits })
      if (problems.length > 0) rejected++
      io.stdout(`${template.label}: ${problems.length === 0 ? 'admissible' : `would be rejected (${problems.length} problem${problems.length === 1 ? '' : 's'})`}\n`)
      for (const problem of problems) io.stdout(`  ${formatProblem(problem)}\n`)
      if (problems.length > 0) continue
      for (const slot of imageSlots(template.object).filter((candidate) => isTag(candidate.reference))) {
        io.stdout(`  ${slot.field}: ${slot.reference} would be pinned\n`)
      }
    }
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    io.stderr(`${error.message}\n`)
    return ExitCode.usage
  }
  return rejected > 0 ? ExitCode.rejected : ExitCode.ok
}

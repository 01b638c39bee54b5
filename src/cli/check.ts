import { imageSlots } from '../admission/images.js'
import { formatProblem } from '../admission/response.js'
import { ProblemReason } from '../admission/problem.js'
import { validateTemplate } from '../admission/validate.js'
import { loadConfig } from '../config.js'
import { parseReference } from '../images/reference.js'
import { InputError, readSources, templatesIn } from './template-documents.js'
import { ExitCode, type Io, parseCommandArgs } from './usage.js'

export const checkUsage = `usage: actortemplate-webhook check [--config FILE] [--crd FILE]... [--require-digest] FILE... (- for stdin)
Runs the admission rules offline (no registry) on every ActorTemplate in the files (multi-document YAML or JSON) and
lists the images the webhook would pin. The config supplies the limits (admission.maxContainers, maxImageReferences).
--crd FILE (repeatable) also validates each template against that CustomResourceDefinition as the apiserver will:
schema, defaults, unknown fields (rejected, as kubectl's default --validate=strict does) and CEL rules, after the
webhook pinned its tags. Rules that cannot run offline are listed; a non-transition one makes the template fail.
--require-digest makes a tag a failure instead of "would be pinned", for repositories that must stay pinned.
Exit 0 when every template is admissible, 1 when any would be rejected, 2 on usage or input errors.`

const onlyWebhookNote = 'note: only the webhook\'s rules were checked, not the CRD\'s schema and CEL rules; pass --crd FILE (the ActorTemplate CustomResourceDefinition) to check what the apiserver will\n'

const pinHint = 'hint: --require-digest wants digests in the file; "actortemplate-webhook pin FILE" writes them'

function isTag (reference: string): boolean {
  try {
    return parseReference(reference).digest === undefined
  } catch {
    return false
  }
}

function plural (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

export async function runCheck (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string' },
    crd: { type: 'string', multiple: true },
    'require-digest': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${checkUsage}\n`)
    return ExitCode.ok
  }
  const { admission: limits } = loadConfig({ configFile: values.config })
  const requireDigest = values['require-digest'] === true
  let rejected = 0
  try {
    // Loaded only with --crd: main.ts imports every command, and serve should not carry the CEL evaluator (issue 6).
    const judgeByCrd = values.crd === undefined ? undefined : await (await import('./crd-check.js')).crdJudge(values.crd)
    const { templates, entries } = templatesIn(await readSources(positionals, io))
    if (templates.length === 0) io.stderr('no ActorTemplate found\n')
    for (const template of entries) {
      if ('skipped' in template) {
        io.stdout(`${template.skipped}: skipped\n`)
        continue
      }
      // A tag is what the mutating webhook fixes, unless --require-digest says the file itself must be pinned (GitOps:
      // the cluster must never diverge from git); everything else is judged as the validating webhook will.
      const problems = validateTemplate(template.object, { requireDigest, limits })
      const tags = requireDigest ? [] : imageSlots(template.object).filter((candidate) => isTag(candidate.reference))
      const crd = judgeByCrd?.(template.object, new Set(tags.map((slot) => slot.field)))
      const failures = problems.length + (crd?.problems.length ?? 0)
      const unchecked = crd?.blocking ?? 0
      if (failures > 0 || unchecked > 0) rejected++
      const verdict = failures > 0
        ? `would be rejected (${plural(failures, 'problem')})`
        : unchecked > 0 ? `not fully checked (${plural(unchecked, 'rule')} could not run offline)` : 'admissible'
      io.stdout(`${template.label}: ${verdict}\n`)
      for (const problem of problems) io.stdout(`  ${formatProblem(problem)}\n`)
      for (const line of crd?.problems ?? []) io.stdout(`  ${line}\n`)
      if (problems.some((problem) => problem.reason === ProblemReason.unpinned)) io.stdout(`  ${pinHint}\n`)
      if (failures === 0) for (const slot of tags) io.stdout(`  ${slot.field}: ${slot.reference} would be pinned\n`)
      for (const line of crd?.notes ?? []) io.stdout(`  ${line}\n`)
    }
    if (judgeByCrd === undefined && templates.length > 0) io.stderr(onlyWebhookNote)
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    io.stderr(`${error.message}\n`)
    return ExitCode.usage
  }
  return rejected > 0 ? ExitCode.rejected : ExitCode.ok
}

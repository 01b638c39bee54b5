import { imageSlots } from '../admission/images.js'
import { validateTemplate } from '../admission/validate.js'
import { loadConfig } from '../config.js'
import { parseReference } from '../images/reference.js'
import { type CheckResult, humanLines, jsonLine, Verdict, verdictOf } from './check-report.js'
import { InputError, noTemplatesError, readSources, templatesIn, type TemplateDocument } from './template-documents.js'
import { ExitCode, type Io, parseCommandArgs, UsageError } from './usage.js'

export const checkUsage = `usage: actortemplate-webhook check [--config FILE] [--crd FILE]... [--require-digest] [--output human|json] FILE|DIR... (- for stdin)
Runs the admission rules offline (no registry) on every ActorTemplate in the files (multi-document YAML or JSON) and
lists the images the webhook would pin. The config supplies the limits (admission.maxContainers, maxImageReferences).
--crd FILE (repeatable) also validates each template against that CustomResourceDefinition as the apiserver will:
schema, defaults, unknown fields (rejected, as kubectl's default --validate=strict does) and CEL rules, after the
webhook pinned its tags. Rules that cannot run offline are listed; a non-transition one makes the template fail.
--require-digest makes a tag a failure instead of "would be pinned", for repositories that must stay pinned.
A directory stands for its *.yaml, *.yml and *.json files (recursive, sorted); inputs with no ActorTemplate at all
are an input error.
--output json prints one JSON object per line for each document: file, index (0-based), item (inside a kind: List),
kind, name, namespace, verdict (admissible, rejected, not-fully-checked, skipped), problems (field, reason, message),
pins (field, reference) and notes.
Exit 0 when every template is admissible, 1 when any would be rejected, 2 on usage or input errors.`

const onlyWebhookNote = 'note: only the webhook\'s rules were checked, not the CRD\'s schema and CEL rules; pass --crd FILE (the ActorTemplate CustomResourceDefinition) to check what the apiserver will\n'

function isTag (reference: string): boolean {
  try {
    return parseReference(reference).digest === undefined
  } catch {
    return false
  }
}

export async function runCheck (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string' },
    crd: { type: 'string', multiple: true },
    'require-digest': { type: 'boolean' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${checkUsage}\n`)
    return ExitCode.ok
  }
  const output = values.output ?? 'human'
  if (output !== 'human' && output !== 'json') throw new UsageError(`--output must be human or json, not ${JSON.stringify(output)}`)
  const { admission: limits } = loadConfig({ configFile: values.config })
  const requireDigest = values['require-digest'] === true
  let rejected = 0
  try {
    // Loaded only with --crd: main.ts imports every command, and serve should not carry the CEL evaluator (issue 6).
    const judgeByCrd = values.crd === undefined ? undefined : await (await import('./crd-check.js')).crdJudge(values.crd)
    const sources = await readSources(positionals, io)
    const { templates, entries } = templatesIn(sources)
    // A tag is what the mutating webhook fixes, unless --require-digest says the file itself must be pinned (GitOps:
    // the cluster must never diverge from git); everything else is judged as the validating webhook will.
    const judge = (template: TemplateDocument): CheckResult => {
      const problems = validateTemplate(template.object, { requireDigest, limits })
      const tags = requireDigest ? [] : imageSlots(template.object).filter((candidate) => isTag(candidate.reference))
      const crd = judgeByCrd?.(template.object, new Set(tags.map((slot) => slot.field)))
      const admissible = problems.length + (crd?.problems.length ?? 0) === 0
      return { document: template, problems, crd, pins: admissible ? tags.map(({ field, reference }) => ({ field, reference })) : [] }
    }
    for (const document of entries) {
      const result = 'skipped' in document ? { document, problems: [], crd: undefined, pins: [] } : judge(document)
      if (verdictOf(result) === Verdict.rejected || verdictOf(result) === Verdict.notFullyChecked) rejected++
      io.stdout(output === 'json' ? `${jsonLine(result)}\n` : humanLines(result).map((line) => `${line}\n`).join(''))
    }
    if (templates.length === 0) throw noTemplatesError(sources)
    if (judgeByCrd === undefined) io.stderr(onlyWebhookNote)
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    io.stderr(`${error.message}\n`)
    return ExitCode.usage
  }
  return rejected > 0 ? ExitCode.rejected : ExitCode.ok
}

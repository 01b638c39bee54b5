import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isScalar, parseAllDocuments, Scalar, type Document } from 'yaml'
import { actorTemplateKind } from '../admission/target.js'
import { fieldPath, isRecord } from '../admission/images.js'
import { kubectlValue, YamlToJsonError } from './kubectl-yaml.js'
import { type Io, UsageError } from './usage.js'

/**
 * ActorTemplates in the files `check` and `pin` are given: multi-document YAML or JSON (JSON is YAML), `-` for stdin,
 * a `kind: List` unwrapped. Edits splice new scalar text into the original bytes at the node's range, so comments,
 * key order, quoting and every other document stay exactly as written.
 */

export class InputError extends Error {}

export interface Source {
  /** the path as given, or "-" */
  name: string
  text: string
  documents: Document.Parsed[]
}

export interface TemplateDocument {
  source: Source
  /** 0-based index of the YAML document in its file */
  documentIndex: number
  /** keys from the document root to the template: [] or ['items', n] */
  prefix: Array<string | number>
  object: Record<string, unknown>
  /** `file#2 team-a/agent`, for messages */
  label: string
}

const manifestFile = /\.(ya?ml|json)$/

/** A directory stands for its *.yaml, *.yml and *.json files, recursively, in sorted path order. */
async function expandDirectory (path: string): Promise<string[]> {
  let isDirectory: boolean
  try {
    isDirectory = (await stat(path)).isDirectory()
  } catch {
    return [path] // readFile reports it
  }
  if (!isDirectory) return [path]
  const entries = await readdir(path, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile() && manifestFile.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name)).sort()
  if (files.length === 0) throw new InputError(`${path}: a directory with no *.yaml, *.yml or *.json file`)
  return files
}

export async function readSources (paths: readonly string[], io: Io): Promise<Source[]> {
  if (paths.length === 0) throw new UsageError('give at least one file or directory, or - for stdin')
  if (paths.filter((path) => path === '-').length > 1) throw new UsageError('- (stdin) may be given only once')
  const sources: Source[] = []
  const names: string[] = []
  for (const path of paths) names.push(...(path === '-' ? [path] : await expandDirectory(path)))
  for (const name of names) {
    let text: string
    try {
      text = name === '-' ? await io.readStdin() : await readFile(name, 'utf8')
    } catch (error) {
      throw new InputError(`cannot read ${name}: ${(error as Error).message}`)
    }
    const documents = [...parseAllDocuments(text)]
    for (const [index, document] of documents.entries()) {
      const error = document.errors[0]
      if (error !== undefined) throw new InputError(`${name}${documents.length > 1 ? `#${index + 1}` : ''}: not valid YAML or JSON: ${error.message}`)
    }
    sources.push({ name, text, documents })
  }
  return sources
}

function isActorTemplate (value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value['apiVersion'] === `${actorTemplateKind.group}/${actorTemplateKind.version}` &&
    value['kind'] === actorTemplateKind.kind
}

function nameOf (object: Record<string, unknown>): string {
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {}
  const namespace = typeof metadata['namespace'] === 'string' ? `${metadata['namespace']}/` : ''
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : typeof metadata['generateName'] === 'string' ? `${metadata['generateName']}*` : '(unnamed)'
  return `${namespace}${name}`
}

export interface Skipped {
  /** the human line's label and why */
  skipped: string
  source: Source
  documentIndex: number
  prefix: Array<string | number>
  /** the document's kind, or its JSON type when it is not an object */
  kind: string
}

/** Every ActorTemplate, and a note for each document that is something else, in input order. */
export function templatesIn (sources: readonly Source[]): { templates: TemplateDocument[], entries: Array<TemplateDocument | Skipped> } {
  const entries: Array<TemplateDocument | Skipped> = []
  for (const source of sources) {
    source.documents.forEach((document, documentIndex) => {
      const where = `${source.name}${source.documents.length > 1 ? `#${documentIndex + 1}` : ''}`
      // What kubectl will send, not what a YAML 1.2 reader sees (`value: yes` is a boolean to kubectl).
      let value: unknown
      try {
        value = kubectlValue(document)
      } catch (error) {
        if (error instanceof YamlToJsonError) throw new InputError(`${where}: kubectl cannot send this document: ${error.message}`)
        throw error
      }
      const candidates: Array<[Array<string | number>, unknown]> = isRecord(value) && value['kind'] === 'List' && Array.isArray(value['items'])
        ? value['items'].map((item, index) => [['items', index], item])
        : [[[], value]]
      for (const [prefix, object] of candidates) {
        const label = `${where}${prefix.length === 0 ? '' : ` ${fieldPath(prefix)}`}`
        if (isActorTemplate(object)) entries.push({ source, documentIndex, prefix, object, label: `${label}: ActorTemplate ${nameOf(object)}` })
        else if (object !== null && object !== undefined) {
          const kind = isRecord(object) ? String(object['kind'] ?? 'no kind') : typeof object
          entries.push({ skipped: `${label}: not an ActorTemplate (${kind})`, source, documentIndex, prefix, kind })
        }
      }
    })
  }
  return { templates: entries.filter((entry): entry is TemplateDocument => !('skipped' in entry)), entries }
}

/** An input set without a single ActorTemplate is a mistake (wrong file, wrong directory), not a pass. */
export function noTemplatesError (sources: readonly Source[]): InputError {
  const names = sources.map((source) => source.name === '-' ? 'stdin' : source.name)
  const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')
  return new InputError(`no ActorTemplate (apiVersion ${actorTemplateKind.group}/${actorTemplateKind.version}, kind ${actorTemplateKind.kind}) found in ${shown}`)
}

/** The new text of a scalar in the style it was written in; references never need more than quotes. */
function scalarText (node: Scalar, value: string): string {
  if (node.type === Scalar.QUOTE_SINGLE) return `'${value.replaceAll("'", "''")}'`
  if (node.type === Scalar.PLAIN && /^[A-Za-z0-9][\w.:/@\-[\]]*$/.test(value)) return value
  return JSON.stringify(value)
}

export interface Edit { template: TemplateDocument, path: ReadonlyArray<string | number>, value: string }

/** Applies scalar replacements to each source's original text; returns the new text per source name. */
export function applyEdits (sources: readonly Source[], edits: readonly Edit[]): Map<string, string> {
  const result = new Map<string, string>()
  for (const source of sources) {
    const splices = edits.filter((edit) => edit.template.source === source).map((edit) => {
      const document = source.documents[edit.template.documentIndex]
      const node = document?.getIn([...edit.template.prefix, ...edit.path], true)
      if (!isScalar(node) || node.range === undefined || node.range === null) {
        throw new InputError(`${edit.template.label}: cannot edit ${fieldPath(edit.path)} in place`)
      }
      return { start: node.range[0], end: node.range[1], text: scalarText(node, edit.value) }
    }).sort((a, b) => b.start - a.start)
    let text = source.text
    for (const splice of splices) text = `${text.slice(0, splice.start)}${splice.text}${text.slice(splice.end)}`
    verify(source, text, edits)
    result.set(source.name, text)
  }
  return result
}

/** Splicing is exact only if the new text parses back to the intended values; never write a file that does not. */
function verify (source: Source, text: string, edits: readonly Edit[]): void {
  const documents = [...parseAllDocuments(text)]
  for (const edit of edits.filter((candidate) => candidate.template.source === source)) {
    const value: unknown = documents[edit.template.documentIndex]?.getIn([...edit.template.prefix, ...edit.path])
    if (value !== edit.value) throw new InputError(`${edit.template.label}: editing ${fieldPath(edit.path)} did not give ${edit.value}; file left unchanged`)
  }
}

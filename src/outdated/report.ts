import { shortDigest } from '../images/digest.js'
import { ImageStatus, type ImageFinding, type TemplateFindings } from './compare.js'

/** How `outdated` prints its findings (issue 18): an aligned table for people, one JSON object per image for scripts. */

const statusWords: Record<ImageStatus, string> = {
  moved: 'moved',
  current: 'current',
  'no-tag': 'no tag to follow',
  unpinned: 'not pinned',
  failed: 'lookup failed',
  invalid: 'invalid reference'
}

const header = ['TEMPLATE', 'FIELD', 'STATUS', 'TAG', 'PINNED', 'PINNED AT', 'CURRENT'] as const

function short (digest: string | undefined): string {
  return digest === undefined ? '-' : shortDigest(digest).replace('…', '')
}

function row (templateName: string, image: ImageFinding): string[] {
  return [templateName, image.field, statusWords[image.status], image.tag ?? image.image.replace(/@.*$/, ''), short(image.pinnedDigest),
    image.pinnedAt ?? '-', image.status === ImageStatus.failed ? 'error, see below' : short(image.currentDigest)]
}

function align (rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((_, column) => Math.max(...rows.map((cells) => cells[column]?.length ?? 0)))
  return rows.map((cells) => cells.map((cell, column) => column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
}

function count (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

export interface Summary { templates: number, outdatedTemplates: number, byStatus: Record<ImageStatus, number> }

export function summarise (findings: readonly TemplateFindings[]): Summary {
  const byStatus: Record<ImageStatus, number> = { moved: 0, current: 0, 'no-tag': 0, unpinned: 0, failed: 0, invalid: 0 }
  for (const image of findings.flatMap((template) => template.images)) byStatus[image.status]++
  const outdatedTemplates = findings.filter((template) => template.images.some((image) => image.status === ImageStatus.moved)).length
  return { templates: findings.length, outdatedTemplates, byStatus }
}

/**
 * The table lists every image that is not current (moved, failed, no tag, not pinned), then one summary line. Current
 * images are counted, not listed: in a cluster of hundreds of templates they are the noise around the few that moved.
 */
export function tableLines (findings: readonly TemplateFindings[]): string[] {
  const rows = findings.flatMap(({ template, images }) => images.filter((image) => image.status !== ImageStatus.current)
    .map((image) => row(template.where, image)))
  const { templates, outdatedTemplates, byStatus } = summarise(findings)
  const tagged = byStatus.moved + byStatus.current + byStatus.failed
  const summary = [`${count(outdatedTemplates, 'template')} of ${templates} outdated: ${byStatus.moved} of ${count(tagged, 'tagged image')} moved`,
    ...(byStatus.failed > 0 ? [`${byStatus.failed} could not be looked up`] : []),
    ...(byStatus['no-tag'] > 0 ? [`${byStatus['no-tag']} with no tag to follow`] : []),
    ...(byStatus.unpinned > 0 ? [`${byStatus.unpinned} not pinned`] : []),
    ...(byStatus.invalid > 0 ? [`${byStatus.invalid} invalid`] : [])].join('; ')
  return [...(rows.length === 0 ? [] : align([header, ...rows])), summary]
}

function namingRegistry ({ registry, message }: { registry: string | undefined, message: string }): string {
  return registry === undefined || message.includes(registry) ? message : `registry ${registry}: ${message}`
}

/** One line per failed lookup or invalid reference, naming the registry: for stderr. */
export function failureLines (findings: readonly TemplateFindings[]): string[] {
  return findings.flatMap(({ template, images }) => images.flatMap((image) => image.failure === undefined
    ? []
    : [`${template.where}: ${image.field}: ${image.tag ?? image.image}: ${namingRegistry(image.failure)}`]))
}

/** One JSON object per image, current ones included, so `jq 'select(.status == "moved")'` needs nothing else. */
export function jsonLines (findings: readonly TemplateFindings[]): string[] {
  return findings.flatMap(({ template, images }) => images.map((image) => JSON.stringify({
    ...(template.file === undefined ? {} : { file: template.file.name, index: template.file.index }),
    namespace: template.namespace ?? null,
    name: template.name,
    field: image.field,
    image: image.image,
    status: image.status,
    tag: image.tag ?? null,
    pinnedDigest: image.pinnedDigest ?? null,
    pinnedAt: image.pinnedAt ?? null,
    currentDigest: image.currentDigest ?? null,
    error: image.failure ?? null
  })))
}

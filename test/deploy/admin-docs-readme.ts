/**
 * The commands and files manifests/README.md gives admins, read from the README itself, so that the tests that run
 * them (issue 14 §4) cannot drift from what the README says.
 */
import { readFile } from 'node:fs/promises'
import { MANIFESTS } from './kustomize.js'

export const MANIFESTS_README = `${MANIFESTS}README.md`

export interface CodeBlock { language: string, text: string }

/** The text under the `## heading` of a Markdown document, up to the next heading of the same level. */
export function section (markdown: string, heading: string): string {
  const lines = markdown.split('\n')
  const start = lines.indexOf(`## ${heading}`)
  if (start === -1) throw new Error(`no "## ${heading}" section in the README`)
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '))
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n')
}

/** Fenced code blocks in order, their indentation (inside a list item) removed. */
export function codeBlocks (markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = []
  const fence = /^( *)```(\w*)\n([\s\S]*?)^\1```$/gm
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1] ?? ''
    const body = (match[3] ?? '').split('\n').map((line) => line.startsWith(indent) ? line.slice(indent.length) : line).join('\n')
    blocks.push({ language: match[2] ?? '', text: body })
  }
  return blocks
}

/** The only block of `language` in a section: a test of "the README's commands" must not guess between two. */
export function onlyBlock (markdown: string, heading: string, language: string): string {
  const found = codeBlocks(section(markdown, heading)).filter((block) => block.language === language)
  if (found.length !== 1) throw new Error(`"## ${heading}" should hold one ${language} block, found ${found.length}`)
  return (found[0] as CodeBlock).text
}

/**
 * Shell lines as argument vectors: comments dropped, `\` continuations joined. The README's commands use no quoting
 * or expansion, which this refuses rather than misreads.
 */
export function shellCommands (script: string): string[][] {
  const joined = script.replace(/\\\n\s*/g, ' ')
  return joined.split('\n').map((line) => line.replace(/(^|\s)#.*$/, '').trim()).filter((line) => line !== '').map((line) => {
    if (/['"$`|;&<>*]/.test(line)) throw new Error(`README command needs a shell to read: ${line}`)
    return line.split(/\s+/)
  })
}

export async function readManifestsReadme (): Promise<string> {
  return await readFile(MANIFESTS_README, 'utf8')
}

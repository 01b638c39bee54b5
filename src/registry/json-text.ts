/**
 * JSON.parse for text that may hold secrets (docker config files, pull Secrets): V8's SyntaxError quotes the text
 * around the error (`…"password":Hunter2-SE"… is not valid JSON`), and that message would reach our logs. This
 * error says where, never what (issue 13 §2). The SyntaxError is deliberately not kept as `cause`.
 */

export class JsonTextError extends Error {
  readonly code = 'EJSONTEXT'
  constructor (readonly what: string, readonly line: number | undefined, readonly column: number | undefined) {
    super(`${what} is not valid JSON${line === undefined ? '' : ` (line ${line}, column ${column ?? '?'})`}`)
  }
}

/** Line and column (1-based) from V8's message: only its numbers are read, never its quoted text. */
function position (message: string, text: string): { line?: number, column?: number } {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message)
  if (lineColumn !== null) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) }
  const offset = /at position (\d+)/.exec(message)
  if (offset === null) return /Unexpected end of JSON input/.test(message) ? lineAndColumn(text, text.length) : {}
  return lineAndColumn(text, Number(offset[1]))
}

function lineAndColumn (text: string, offset: number): { line: number, column: number } {
  const before = text.slice(0, offset)
  const lines = before.split('\n')
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 }
}

export function parseJsonText (text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    const where = position(error instanceof Error ? error.message : '', text)
    throw new JsonTextError(what, where.line, where.column)
  }
}

/**
 * WWW-Authenticate parsing (RFC 7235 §4.1 as used by distribution's token auth). A response may carry several
 * headers and one header may carry several challenges; quoted values may contain commas and backslash escapes,
 * and scheme and parameter names are case-insensitive (distribution internal/client/auth/challenge).
 */

export interface Challenge {
  /** lower-cased scheme, e.g. "bearer" or "basic" */
  scheme: string
  /** lower-cased parameter names */
  params: Record<string, string>
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/

class Scanner {
  position = 0
  constructor (readonly text: string) {}
  get done (): boolean { return this.position >= this.text.length }
  peek (): string { return this.text[this.position] ?? '' }
  skipWhitespace (): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.position++
  }

  token (): string {
    const start = this.position
    while (!this.done && tokenChar.test(this.peek())) this.position++
    return this.text.slice(start, this.position)
  }

  quoted (): string {
    this.position++
    let value = ''
    while (!this.done) {
      const char = this.peek()
      this.position++
      if (char === '"') return value
      if (char === '\\' && !this.done) {
        value += this.peek()
        this.position++
      } else {
        value += char
      }
    }
    return value
  }
}

/** Reads `name=value` pairs until the next challenge's scheme (a token not followed by '='). */
function readParams (scanner: Scanner): Record<string, string> {
  const params: Record<string, string> = {}
  for (;;) {
    scanner.skipWhitespace()
    while (scanner.peek() === ',') {
      scanner.position++
      scanner.skipWhitespace()
    }
    const mark = scanner.position
    const name = scanner.token()
    if (name === '') return params
    scanner.skipWhitespace()
    if (scanner.peek() !== '=') {
      scanner.position = mark
      return params
    }
    scanner.position++
    scanner.skipWhitespace()
    const value = scanner.peek() === '"' ? scanner.quoted() : scanner.token()
    params[name.toLowerCase()] = value
  }
}

export function parseChallenges (headers: string | readonly string[] | undefined): Challenge[] {
  const values = headers === undefined ? [] : typeof headers === 'string' ? [headers] : headers
  const challenges: Challenge[] = []
  for (const value of values) {
    const scanner = new Scanner(value)
    while (!scanner.done) {
      scanner.skipWhitespace()
      while (scanner.peek() === ',') {
        scanner.position++
        scanner.skipWhitespace()
      }
      const scheme = scanner.token()
      if (scheme === '') {
        // Not a challenge we understand: skip one character so malformed input can never loop forever.
        scanner.position++
        continue
      }
      challenges.push({ scheme: scheme.toLowerCase(), params: readParams(scanner) })
    }
  }
  return challenges
}

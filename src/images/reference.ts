import { InvalidReferenceError } from '../errors.js'
import { LRUCache } from 'lru-cache'
import { parseDigest, shortDigest } from './digest.js'

/**
 * An image reference exactly as the user spelled it. Parsing never normalises: the CRD's `self == oldSelf` rule
 * (spec-checklist §0) means a rewritten spelling would be a spec change, so Docker Hub defaults live in lookupLocation only.
 */
export interface ImageReference {
  readonly original: string
  /** host[:port] as written; undefined when the reference names no domain (implicit docker.io) */
  readonly domain: string | undefined
  readonly path: string
  readonly tag: string | undefined
  readonly digest: string | undefined
}

export interface LookupLocation {
  /** host[:port] as written, or 'docker.io' */
  registry: string
  /** where the registry API answers; Docker Hub's is not the name users write */
  endpointHost: string
  /** the path on the wire; Docker Hub official images need `library/` (distribution/distribution#1203) */
  repository: string
}

const dockerHub = 'docker.io'
const legacyDockerHub = 'index.docker.io'
// containerd core/remotes/docker/resolver.go maps docker.io to this host.
const dockerHubEndpoint = 'registry-1.docker.io'
const officialPrefix = 'library/'
// distribution/reference ≥ v0.6.0: RepositoryNameTotalLengthMax applies to the path alone, not domain + path.
const maxPathLength = 255
// RFC 1035 §2.3.4 (253 in text form, 255 octets on the wire) and RFC 1123 §2.1. distribution/reference sets no limit,
// but no registry can have a longer name, and past 255 bytes OpenSSL refuses the TLS server name (SNI) with an
// exception that escapes the HTTP client's promise, so such a host must never reach the registry code (issue 13 §1).
const maxHostLength = 253
const maxLabelLength = 63

// distribution/reference regexp.go
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const domainComponent = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const ipv6Host = /^\[[a-fA-F0-9:]+\]$/
const portNumber = /^[0-9]+$/
const tagPattern = /^\w[\w.-]{0,127}$/
const identifier = /^[a-f0-9]{64}$/

// `ko://importpath` (ko resolve) and `${VAR}` / `$VAR` (envsubst) are filled in by a render step the user skipped; no
// valid reference contains '$' or starts with a scheme, so the hint never lands on a reference that only has a typo.
const placeholder = /^ko:\/\/|\$\{[^}]*\}|\$[A-Za-z_]/
const placeholderHint = 'looks like an unrendered ko/envsubst placeholder; render the template first'

function fail (text: string, part: InvalidReferenceError['part'], reason: string): never {
  throw new InvalidReferenceError(text, part, placeholder.test(text) ? `${reason} (${placeholderHint})` : reason)
}

function hasControlCharacter (text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

// normalize.go splitDockerDomain: without this rule `foo/bar` would be host "foo", yet Docker Hub users write exactly that.
function isDomain (firstComponent: string): boolean {
  return firstComponent === 'localhost' || /[.:]/.test(firstComponent) || firstComponent.toLowerCase() !== firstComponent
}

function portProblem (port: string): string | undefined {
  if (port === '') return "':' after the host must be followed by a port number"
  return portNumber.test(port) ? undefined : `port ${JSON.stringify(port)} must be a number`
}

function domainProblem (domain: string): string | undefined {
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']')
    if (close === -1) return "IPv6 address must be closed with ']'"
    const host = domain.slice(0, close + 1)
    // regexp.go ipv6address: zone identifiers (RFC 6874) and IPv4-mapped forms are deliberately excluded.
    if (!ipv6Host.test(host)) return `IPv6 address ${host} may contain only hex digits and ':'`
    const rest = domain.slice(close + 1)
    if (rest === '') return undefined
    return rest.startsWith(':') ? portProblem(rest.slice(1)) : `unexpected ${JSON.stringify(rest)} after the IPv6 address`
  }
  const [host = '', port, ...more] = domain.split(':')
  if (more.length > 0) return "domain may contain at most one ':' (IPv6 addresses need brackets, e.g. [::1]:5000)"
  if (host === '') return 'domain has no host before the port'
  if (host.length > maxHostLength) return `registry host must be at most ${maxHostLength} characters, got ${host.length}`
  for (const component of host.split('.')) {
    if (component === '') return `domain ${JSON.stringify(host)} has an empty component`
    if (component.length > maxLabelLength) {
      return `domain component ${JSON.stringify(`${component.slice(0, 16)}…`)} must be at most ${maxLabelLength} characters, got ${component.length}`
    }
    if (!domainComponent.test(component)) {
      return `domain component ${JSON.stringify(component)} may contain only letters, digits and '-', and must start and end with a letter or digit`
    }
  }
  return port === undefined ? undefined : portProblem(port)
}

function pathComponentProblem (component: string): string | undefined {
  if (component === '') return "repository path has an empty component (look for '//' or a leading or trailing '/')"
  if (pathComponent.test(component)) return undefined
  const bad = /[^a-z0-9._-]/.exec(component)
  if (bad !== null) return `character ${JSON.stringify(bad[0])} is not allowed in repository path component ${JSON.stringify(component)}`
  if (!/^[a-z0-9]/.test(component)) return `repository path component ${JSON.stringify(component)} must start with a lowercase letter or digit`
  if (!/[a-z0-9]$/.test(component)) return `repository path component ${JSON.stringify(component)} must end with a lowercase letter or digit`
  return `repository path component ${JSON.stringify(component)} has an invalid separator (allowed: '.', '_', '__' or a run of '-')`
}

function pathProblem (path: string): string | undefined {
  const problem = path.split('/').map(pathComponentProblem).find((p) => p !== undefined)
  if (problem === undefined) return undefined
  // reference.go Parse: report case when lower-casing alone would make the name valid.
  const lowered = path.toLowerCase().split('/').every((c) => pathComponent.test(c))
  return lowered ? 'repository name must be lowercase' : problem
}

function tagProblem (tag: string): string | undefined {
  if (tag === '') return "':' must be followed by a tag"
  if (tagPattern.test(tag)) return undefined
  if (tag.length > 128) return `tag must be at most 128 characters, got ${tag.length}`
  if (tag.startsWith('.') || tag.startsWith('-')) return "tag must not start with '.' or '-'"
  const bad = /[^\w.-]/.exec(tag)
  return `tag may contain only letters, digits, '_', '.' and '-'${bad === null ? '' : `, found ${JSON.stringify(bad[0])}`}`
}

// The same few references are parsed on every admission (plan, resolver, annotation records); parsing is pure, so
// the answers for valid ones are kept, frozen, and bounded in count and in characters because references come from
// users (a 7 MB request body could otherwise park megabyte-long keys here).
const parsedRecently = new LRUCache<string, ImageReference>({ max: 1024, maxSize: 1 << 20, sizeCalculation: (_value, key) => key.length + 1 })

/** Parses `[domain "/"] path [":" tag] ["@" digest]` (distribution/reference), recording the user's spelling unchanged. */
export function parseReference (text: string): ImageReference {
  const known = parsedRecently.get(text)
  if (known !== undefined) return known
  const parsed = Object.freeze(parseUncached(text))
  parsedRecently.set(text, parsed)
  return parsed
}

function parseUncached (text: string): ImageReference {
  if (text === '') fail(text, 'reference', 'empty reference')
  if (/\s/.test(text)) fail(text, 'reference', 'whitespace is not allowed')
  if (hasControlCharacter(text)) fail(text, 'reference', 'control characters are not allowed')
  // normalize.go ParseNormalizedNamed: a bare 64-hex string is an image ID, never a Docker Hub name.
  if (identifier.test(text)) {
    fail(text, 'path', `a 64-character hex string is not a valid repository name (did you mean @${shortDigest(`sha256:${text}`)}?)`)
  }
  const at = text.indexOf('@')
  if (at !== text.lastIndexOf('@')) fail(text, 'reference', "only one '@' is allowed, before the digest")
  const nameAndTag = at === -1 ? text : text.slice(0, at)
  const digest = at === -1 ? undefined : text.slice(at + 1)

  const slash = nameAndTag.indexOf('/')
  const first = slash === -1 ? undefined : nameAndTag.slice(0, slash)
  const domain = first !== undefined && isDomain(first) ? first : undefined
  const rest = domain === undefined ? nameAndTag : nameAndTag.slice(slash + 1)
  // A path never contains ':', so the first one after the domain starts the tag.
  const colon = rest.indexOf(':')
  const path = colon === -1 ? rest : rest.slice(0, colon)
  const tag = colon === -1 ? undefined : rest.slice(colon + 1)

  if (domain !== undefined) {
    const problem = domainProblem(domain)
    // Uppercase alone made this a domain; if it is a valid name once lower-cased, the user meant a Docker Hub namespace.
    if (problem !== undefined && !/[.:]/.test(domain) && pathComponent.test(domain.toLowerCase())) {
      fail(text, 'path', 'repository name must be lowercase')
    }
    if (problem !== undefined) fail(text, 'domain', problem)
  }
  if (path === '') fail(text, 'path', domain === undefined ? 'repository name is missing' : 'repository path is missing after the domain')
  const problem = pathProblem(path)
  if (problem !== undefined) fail(text, 'path', problem)
  const { repository } = lookupLocation({ original: text, domain, path, tag, digest })
  if (repository.length > maxPathLength) {
    const hub = repository === path ? '' : ` (Docker Hub counts the implicit ${officialPrefix})`
    fail(text, 'path', `repository path must be at most ${maxPathLength} characters, got ${repository.length}${hub}`)
  }
  if (tag !== undefined) {
    const tagIssue = tagProblem(tag)
    if (tagIssue !== undefined) fail(text, 'tag', tagIssue)
  }
  if (digest === '') fail(text, 'digest', "'@' must be followed by a digest")
  if (digest !== undefined) {
    try {
      parseDigest(digest)
    } catch (error) {
      if (error instanceof InvalidReferenceError) fail(text, 'digest', error.reason)
      throw error
    }
  }
  return { original: text, domain, path, tag, digest }
}

export function formatReference (ref: ImageReference): string {
  const domain = ref.domain === undefined ? '' : `${ref.domain}/`
  const tag = ref.tag === undefined ? '' : `:${ref.tag}`
  const digest = ref.digest === undefined ? '' : `@${ref.digest}`
  return `${domain}${ref.path}${tag}${digest}`
}

/** Where to look the reference up. Docker Hub normalisation (normalize.go splitDockerDomain) happens here and only here. */
export function lookupLocation (ref: ImageReference): LookupLocation {
  const registry = ref.domain ?? dockerHub
  // Only the exact spellings count: splitDockerDomain compares strings, and `registry-1.docker.io/x` gets no library/.
  const hub = registry === dockerHub || registry === legacyDockerHub
  return {
    registry,
    endpointHost: hub ? dockerHubEndpoint : registry,
    repository: hub && !ref.path.includes('/') ? `${officialPrefix}${ref.path}` : ref.path
  }
}

export function isPinned (ref: ImageReference): boolean {
  return ref.digest !== undefined
}

/**
 * `<as written>[:latest]@<digest>`. An already pinned reference is returned untouched because any rewrite would trip
 * the CRD's immutable-spec rule; `:latest` keeps the tag the user implicitly asked for visible next to the digest.
 */
export function pinnedReference (ref: ImageReference, digest: string): string {
  if (isPinned(ref)) return ref.original
  const valid = parseDigest(digest).toString()
  return `${ref.original}${ref.tag === undefined ? ':latest' : ''}@${valid}`
}

export function withoutDigest (ref: ImageReference): string {
  return formatReference({ ...ref, digest: undefined })
}

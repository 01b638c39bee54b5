import t from 'tap'
import { ErrorCode, InvalidReferenceError } from '../../src/errors.js'
import {
  formatReference, isPinned, lookupLocation, parseReference, pinnedReference, withoutDigest
} from '../../src/images/reference.js'
import { hex64, invalid, sha256, sha256b, sha512, valid } from '../fixtures/reference-grammar.js'

function label (text: string): string {
  const shown = JSON.stringify(text)
  return shown.length > 90 ? `${shown.slice(0, 60)}…(${text.length} chars)` : shown
}

function thrown (fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

t.comment(`reference grammar: ${valid.length} valid + ${invalid.length} invalid = ${valid.length + invalid.length} cases`)
t.ok(valid.length + invalid.length >= 80, 'at least 80 grammar cases')

t.test(`${valid.length} valid references parse into their parts and round-trip`, async (t) => {
  for (const [text, domain, path, tag, digest] of valid) {
    t.test(label(text), async (t) => {
      const ref = parseReference(text)
      t.same(ref, { original: text, domain, path, tag, digest })
      t.equal(formatReference(ref), text, 'round-trips')
      t.equal(isPinned(ref), digest !== undefined)
    })
  }
})

t.test(`${invalid.length} invalid references name the part and the reason`, async (t) => {
  for (const [text, part, reason] of invalid) {
    t.test(label(text), async (t) => {
      const error = thrown(() => parseReference(text))
      if (!(error instanceof InvalidReferenceError)) {
        t.fail('should throw InvalidReferenceError', { found: error })
        return
      }
      t.equal(error.part, part)
      t.match(error.reason, reason)
      t.equal(error.reference, text)
      t.equal(error.code, part === 'digest' ? ErrorCode.invalidDigest : ErrorCode.invalidReference)
    })
  }
})

t.test('the unrendered-template hint is only for ko:// and $VAR / ${VAR}', async (t) => {
  for (const text of ['foo/a+b', 'nginx:1.0$', 'ftp://example.com/app', 'nginx:$1']) {
    const error = thrown(() => parseReference(text))
    t.notMatch(error instanceof InvalidReferenceError ? error.reason : 'not thrown', /unrendered|^not thrown$/, label(text))
  }
})

const locations: Array<[string, string, string, string]> = [
  ['nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx'],
  [`nginx:1.27@${sha256}`, 'docker.io', 'registry-1.docker.io', 'library/nginx'],
  ['library/nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx'],
  ['bitnami/redis', 'docker.io', 'registry-1.docker.io', 'bitnami/redis'],
  ['foo_bar/baz', 'docker.io', 'registry-1.docker.io', 'foo_bar/baz'],
  ['docker.io/nginx', 'docker.io', 'registry-1.docker.io', 'library/nginx'],
  ['docker.io/bitnami/redis', 'docker.io', 'registry-1.docker.io', 'bitnami/redis'],
  ['index.docker.io/nginx', 'index.docker.io', 'registry-1.docker.io', 'library/nginx'],
  ['registry-1.docker.io/nginx', 'registry-1.docker.io', 'registry-1.docker.io', 'nginx'],
  ['localhost/foo', 'localhost', 'localhost', 'foo'],
  ['localhost:5001/foo', 'localhost:5001', 'localhost:5001', 'foo'],
  ['127.0.0.1:5000/team/app', '127.0.0.1:5000', '127.0.0.1:5000', 'team/app'],
  ['[::1]:5000/app', '[::1]:5000', '[::1]:5000', 'app'],
  ['ghcr.io/owner/image:v1', 'ghcr.io', 'ghcr.io', 'owner/image'],
  ['Registry.Example.COM/app', 'Registry.Example.COM', 'Registry.Example.COM', 'app']
]

t.test('lookupLocation applies Docker Hub defaults for lookup only', async (t) => {
  for (const [text, registry, endpointHost, repository] of locations) {
    const ref = parseReference(text)
    t.same(lookupLocation(ref), { registry, endpointHost, repository }, text)
    t.equal(formatReference(ref), text, 'the parsed reference keeps the spelling')
  }
})

const pins: Array<[string, string, string]> = [
  ['nginx', sha256, `nginx:latest@${sha256}`],
  ['nginx:1.27', sha256, `nginx:1.27@${sha256}`],
  ['docker.io/library/nginx', sha256, `docker.io/library/nginx:latest@${sha256}`],
  ['localhost:5001/foo', sha512, `localhost:5001/foo:latest@${sha512}`],
  ['[::1]:5000/app:v1', sha256, `[::1]:5000/app:v1@${sha256}`],
  ['Registry.Example.COM/app:Tag', sha256, `Registry.Example.COM/app:Tag@${sha256}`],
  [`nginx@${sha256b}`, sha256, `nginx@${sha256b}`],
  [`registry.k8s.io/pause:3.10.2@${sha256b}`, sha256, `registry.k8s.io/pause:3.10.2@${sha256b}`]
]

t.test('pinnedReference keeps the spelling and adds :latest only when there is no tag', async (t) => {
  for (const [text, digest, expected] of pins) {
    const ref = parseReference(text)
    const pinned = pinnedReference(ref, digest)
    t.equal(pinned, expected, text)
    const reparsed = parseReference(pinned)
    t.ok(isPinned(reparsed), 'the result parses and is pinned')
    t.equal(withoutDigest(reparsed), isPinned(ref) ? withoutDigest(ref) : pinned.slice(0, pinned.indexOf('@')))
  }
})

t.test('pinnedReference refuses a digest the kubelet would reject', async (t) => {
  for (const digest of ['sha256:abc', `sha384:${'a'.repeat(96)}`, `sha256:${hex64.toUpperCase()}`, '']) {
    const error = thrown(() => pinnedReference(parseReference('nginx:1.27'), digest))
    t.ok(error instanceof InvalidReferenceError && error.part === 'digest', label(digest))
  }
})

const stripped: Array<[string, string]> = [
  ['nginx', 'nginx'],
  ['nginx:1.27', 'nginx:1.27'],
  [`nginx@${sha256}`, 'nginx'],
  [`nginx:1.27@${sha256}`, 'nginx:1.27'],
  [`[::1]:5000/app:v1@${sha512}`, '[::1]:5000/app:v1'],
  [`localhost:5001/foo@${sha256}`, 'localhost:5001/foo']
]

t.test('withoutDigest drops only @digest', async (t) => {
  for (const [text, expected] of stripped) {
    t.equal(withoutDigest(parseReference(text)), expected, text)
  }
})

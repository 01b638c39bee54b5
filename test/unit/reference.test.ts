import t from 'tap'
import { ErrorCode, InvalidReferenceError } from '../../src/errors.js'
import {
  formatReference, isPinned, lookupLocation, parseReference, pinnedReference, withoutDigest
} from '../../src/images/reference.js'

const hex64 = '0123456789abcdef'.repeat(4)
const sha256 = `sha256:${hex64}`
const sha256b = `sha256:${'fedcba9876543210'.repeat(4)}`
const sha512 = `sha512:${'0123456789abcdef'.repeat(8)}`
const u = undefined

/** A valid two-component path of exactly n characters. */
function pathOf (n: number): string {
  return `team/${'b'.repeat(n - 5)}`
}

/** A DNS name of exactly n characters made of 63-character labels (the last ones shorter). */
function hostOf (n: number): string {
  const host = `${'h'.repeat(63)}.`.repeat(Math.ceil(n / 64)).slice(0, n)
  return host.endsWith('.') ? `${host.slice(0, -2)}.x` : host
}

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

type Parts = [domain: string | undefined, path: string, tag: string | undefined, digest: string | undefined]

const valid: Array<[string, ...Parts]> = [
  ['nginx', u, 'nginx', u, u],
  ['nginx:1.27', u, 'nginx', '1.27', u],
  ['nginx:latest', u, 'nginx', 'latest', u],
  ['library/nginx', u, 'library/nginx', u, u],
  ['docker.io/nginx', 'docker.io', 'nginx', u, u],
  ['docker.io/library/nginx:1.27', 'docker.io', 'library/nginx', '1.27', u],
  ['index.docker.io/library/nginx', 'index.docker.io', 'library/nginx', u, u],
  ['registry-1.docker.io/nginx', 'registry-1.docker.io', 'nginx', u, u],
  ['bitnami/redis:7.2', u, 'bitnami/redis', '7.2', u],
  ['foo_bar/baz', u, 'foo_bar/baz', u, u],
  ['a', u, 'a', u, u],
  ['0', u, '0', u, u],
  ['localhost', u, 'localhost', u, u],
  ['localhost:5000', u, 'localhost', '5000', u],
  ['example.com:5000', u, 'example.com', '5000', u],
  ['localhost/foo', 'localhost', 'foo', u, u],
  ['localhost:5001/foo:dev', 'localhost:5001', 'foo', 'dev', u],
  ['127.0.0.1:5000/team/app:v1', '127.0.0.1:5000', 'team/app', 'v1', u],
  ['10.0.0.1/app', '10.0.0.1', 'app', u, u],
  ['host:65535/x', 'host:65535', 'x', u, u],
  ['[::1]:5000/app:v1', '[::1]:5000', 'app', 'v1', u],
  ['[::1]/app', '[::1]', 'app', u, u],
  ['[2001:db8::1]:443/ns/app', '[2001:db8::1]:443', 'ns/app', u, u],
  ['[fe80::1ff:fe23:4567:890a]/app', '[fe80::1ff:fe23:4567:890a]', 'app', u, u],
  ['[2001:0DB8:0000:0000:0000:0000:0000:0001]:5000/app', '[2001:0DB8:0000:0000:0000:0000:0000:0001]:5000', 'app', u, u],
  ['Registry.Example.COM/app', 'Registry.Example.COM', 'app', u, u],
  [`${hostOf(253)}/app`, hostOf(253), 'app', u, u],
  [`${hostOf(253)}:5000/app`, `${hostOf(253)}:5000`, 'app', u, u],
  [`${'a'.repeat(63)}.example.com/app`, `${'a'.repeat(63)}.example.com`, 'app', u, u],
  ['Foo/bar', 'Foo', 'bar', u, u],
  ['UPPER.example:8443/path:Tag', 'UPPER.example:8443', 'path', 'Tag', u],
  ['a.b/c', 'a.b', 'c', u, u],
  ['xn--80ak6aa92e.com/app', 'xn--80ak6aa92e.com', 'app', u, u],
  ['a-b.c-d:1/x', 'a-b.c-d:1', 'x', u, u],
  ['example.com:443/a/b/c/d/e', 'example.com:443', 'a/b/c/d/e', u, u],
  ['my-registry.example.com/a.b_c__d---e/f', 'my-registry.example.com', 'a.b_c__d---e/f', u, u],
  ['foo/a.b', u, 'foo/a.b', u, u],
  ['foo/a_b', u, 'foo/a_b', u, u],
  ['foo/a__b', u, 'foo/a__b', u, u],
  ['foo/a-b', u, 'foo/a-b', u, u],
  ['foo/a--b', u, 'foo/a--b', u, u],
  ['foo/a----------b', u, 'foo/a----------b', u, u],
  ['foo/a.b-c_d__e', u, 'foo/a.b-c_d__e', u, u],
  ['nginx:_private', u, 'nginx', '_private', u],
  ['nginx:V1.0-RC_1', u, 'nginx', 'V1.0-RC_1', u],
  ['nginx:1', u, 'nginx', '1', u],
  ['nginx:1.0.', u, 'nginx', '1.0.', u],
  [`nginx:${'t'.repeat(128)}`, u, 'nginx', 't'.repeat(128), u],
  [`nginx@${sha256}`, u, 'nginx', u, sha256],
  [`ghcr.io/owner/image@${sha256}`, 'ghcr.io', 'owner/image', u, sha256],
  [`quay.io/org/app@${sha512}`, 'quay.io', 'org/app', u, sha512],
  [`registry.k8s.io/pause:3.10.2@${sha256}`, 'registry.k8s.io', 'pause', '3.10.2', sha256],
  [`localhost:5001/foo:dev@${sha512}`, 'localhost:5001', 'foo', 'dev', sha512],
  [`[::1]:5000/app:v1@${sha256}`, '[::1]:5000', 'app', 'v1', sha256],
  [`example.com/${pathOf(255)}`, 'example.com', pathOf(255), u, u],
  [`example.com/${pathOf(255)}:v1`, 'example.com', pathOf(255), 'v1', u],
  [`team/${'a'.repeat(250)}`, u, `team/${'a'.repeat(250)}`, u, u],
  ['a'.repeat(247), u, 'a'.repeat(247), u, u],
  [`docker.io/${'a'.repeat(247)}`, 'docker.io', 'a'.repeat(247), u, u],
  [`ghcr.io/${'a'.repeat(255)}`, 'ghcr.io', 'a'.repeat(255), u, u],
  [`example.com/${hex64}`, 'example.com', hex64, u, u],
  [`team/${hex64}`, u, `team/${hex64}`, u, u],
  [`${hex64}:v1`, u, hex64, 'v1', u]
]

const invalid: Array<[string, InvalidReferenceError['part'], string]> = [
  ['', 'reference', 'empty reference'],
  [' nginx', 'reference', 'whitespace is not allowed'],
  ['nginx ', 'reference', 'whitespace is not allowed'],
  ['nginx:1.0\n', 'reference', 'whitespace is not allowed'],
  ['ng\tinx', 'reference', 'whitespace is not allowed'],
  ['\u00a0nginx', 'reference', 'whitespace is not allowed'],
  ['nginx\u0000', 'reference', 'control characters are not allowed'],
  ['nginx\u007f', 'reference', 'control characters are not allowed'],
  ['nginx\u001b[31m', 'reference', 'control characters are not allowed'],
  [hex64, 'path', 'a 64-character hex string is not a valid repository name (did you mean @sha256:0123456789ab…?)'],
  ['NGINX', 'path', 'repository name must be lowercase'],
  ['Nginx:1.0', 'path', 'repository name must be lowercase'],
  ['example.com/MyApp', 'path', 'repository name must be lowercase'],
  ['foo/Bar', 'path', 'repository name must be lowercase'],
  ['Foo_Bar/x', 'path', 'repository name must be lowercase'],
  ['nginx@', 'digest', "'@' must be followed by a digest"],
  ['nginx:1.0@', 'digest', "'@' must be followed by a digest"],
  [`nginx@@${sha256}`, 'reference', "only one '@' is allowed"],
  ['a@b@c', 'reference', "only one '@' is allowed"],
  [`a.com/b@${sha256}@x`, 'reference', "only one '@' is allowed"],
  ['nginx:', 'tag', "':' must be followed by a tag"],
  [`@${sha256}`, 'path', 'repository name is missing'],
  [':latest', 'path', 'repository name is missing'],
  ['example.com/', 'path', 'repository path is missing after the domain'],
  ['localhost:5000/', 'path', 'repository path is missing after the domain'],
  ['example.com//app', 'path', 'empty component'],
  ['foo//bar', 'path', 'empty component'],
  ['/foo', 'path', 'empty component'],
  ['foo/', 'path', 'empty component'],
  ['foo/bar/', 'path', 'empty component'],
  ['foo/-bar', 'path', 'must start with a lowercase letter or digit'],
  ['foo/.bar', 'path', 'must start with a lowercase letter or digit'],
  ['foo/_bar', 'path', 'must start with a lowercase letter or digit'],
  ['foo/bar-', 'path', 'must end with a lowercase letter or digit'],
  ['foo/bar.', 'path', 'must end with a lowercase letter or digit'],
  ['-foo', 'path', 'must start with a lowercase letter or digit'],
  ['foo/a..b', 'path', 'invalid separator'],
  ['foo/a___b', 'path', 'invalid separator'],
  ['foo/a._b', 'path', 'invalid separator'],
  ['foo/a-.b', 'path', 'invalid separator'],
  ['foo/a+b', 'path', 'character "+" is not allowed'],
  ['foo/a%b', 'path', 'character "%" is not allowed'],
  ['foo/ñ', 'path', 'character "ñ" is not allowed'],
  ['foo/a\u200bb', 'path', 'is not allowed'],
  ['example.com:/app', 'domain', "':' after the host must be followed by a port number"],
  // Unrendered templates: the grammar reason, then what to do about it.
  ['ko://github.com/example/app', 'domain', "':' after the host must be followed by a port number (looks like an unrendered ko/envsubst placeholder; render the template first)"],
  ['ko://./cmd/app', 'domain', 'looks like an unrendered ko/envsubst placeholder; render the template first'],
  ['${IMAGE}', 'path', 'character "$" is not allowed in repository path component "${IMAGE}" (looks like an unrendered ko/envsubst placeholder; render the template first)'],
  ['${REGISTRY}/team/app:v1', 'domain', 'looks like an unrendered ko/envsubst placeholder'],
  ['ghcr.io/team/app:${TAG}', 'tag', 'found "$" (looks like an unrendered ko/envsubst placeholder; render the template first)'],
  ['ghcr.io/team/app:$TAG', 'tag', 'looks like an unrendered ko/envsubst placeholder'],
  ['$IMAGE', 'path', 'looks like an unrendered ko/envsubst placeholder'],
  ['ghcr.io/team/app@${DIGEST}', 'digest', 'looks like an unrendered ko/envsubst placeholder'],
  ['example.com:abc/app', 'domain', 'port "abc" must be a number'],
  ['foo:bar/baz', 'domain', 'port "bar" must be a number'],
  ['example.com:5000:1/app', 'domain', "domain may contain at most one ':'"],
  ['::1/app', 'domain', 'IPv6 addresses need brackets'],
  ['[::1/app', 'domain', "IPv6 address must be closed with ']'"],
  ['[::1]x/app', 'domain', 'unexpected "x" after the IPv6 address'],
  ['[::1]:/app', 'domain', "':' after the host must be followed by a port number"],
  ['[fe80::1%eth0]/app', 'domain', 'may contain only hex digits and'],
  ['[::ffff:127.0.0.1]/app', 'domain', 'may contain only hex digits and'],
  ['[]/app', 'path', 'character "[" is not allowed'],
  ['-example.com/app', 'domain', 'must start and end with a letter or digit'],
  ['example-.com/app', 'domain', 'must start and end with a letter or digit'],
  ['exa_mple.com/app', 'domain', 'domain component "exa_mple"'],
  ['example..com/app', 'domain', 'has an empty component'],
  ['.example.com/app', 'domain', 'has an empty component'],
  ['example.com./app', 'domain', 'has an empty component'],
  [':5000/app', 'domain', 'domain has no host before the port'],
  // Issue 13 §1: DNS limits (RFC 1035); 256+ characters used to make the webhook drop the admission's connection.
  [`${hostOf(254)}/app`, 'domain', 'registry host must be at most 253 characters, got 254'],
  [`${hostOf(256)}:5000/app:v1`, 'domain', 'registry host must be at most 253 characters, got 256'],
  [`${hostOf(4000)}/app`, 'domain', 'got 4000'],
  [`${'a'.repeat(64)}.example.com/app`, 'domain', `domain component "${'a'.repeat(16)}…" must be at most 63 characters, got 64`],
  [`registry.${'b'.repeat(300)}/app`, 'domain', 'registry host must be at most 253 characters, got 309'],
  [`example.com/${pathOf(256)}`, 'path', 'repository path must be at most 255 characters, got 256'],
  [`team/${'a'.repeat(251)}`, 'path', 'at most 255 characters, got 256'],
  ['a'.repeat(248), 'path', 'got 256 (Docker Hub counts the implicit library/)'],
  [`index.docker.io/${'a'.repeat(248)}`, 'path', 'implicit library/'],
  [`nginx:${'t'.repeat(129)}`, 'tag', 'tag must be at most 128 characters, got 129'],
  ['nginx:.hidden', 'tag', "tag must not start with '.' or '-'"],
  ['nginx:-rc', 'tag', "tag must not start with '.' or '-'"],
  ['nginx:1.0+build', 'tag', 'found "+"'],
  ['example.com/app:v1/extra', 'tag', 'found "/"'],
  ['nginx:1:2', 'tag', 'found ":"'],
  ['nginx:latest:', 'tag', 'found ":"'],
  ['nginx@sha256', 'digest', 'digest must look like sha256:'],
  ['nginx@sha256:', 'digest', 'digest must look like sha256:'],
  [`nginx@:${hex64}`, 'digest', 'digest must look like sha256:'],
  [`nginx@sha384:${'a'.repeat(96)}`, 'digest', 'digest algorithm sha384 is not supported'],
  [`nginx@md5:${'a'.repeat(32)}`, 'digest', 'digest algorithm md5 is not supported'],
  [`nginx@sha1:${'a'.repeat(40)}`, 'digest', 'digest algorithm sha1 is not supported'],
  [`nginx@blake3:${hex64}`, 'digest', 'digest algorithm blake3 is not supported'],
  [`nginx@SHA256:${hex64}`, 'digest', 'algorithm names are lowercase: sha256'],
  [`nginx@sha256:${hex64.toUpperCase()}`, 'digest', 'sha256 digest hex must be lowercase'],
  [`nginx@sha256:${hex64.slice(1)}`, 'digest', 'sha256 digest must have 64 hex characters, got 63'],
  [`nginx@sha256:${hex64}a`, 'digest', 'got 65'],
  [`nginx@sha512:${hex64}`, 'digest', 'sha512 digest must have 128 hex characters, got 64'],
  [`nginx@sha256:${'g'.repeat(64)}`, 'digest', 'only hex characters'],
  ['nginx:1.0@sha256:abc', 'digest', 'got 3'],
  [`foo@${sha256}/x`, 'digest', 'got 66'],
  [`nginx@${sha256}:tag`, 'digest', 'got 68']
]

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

/**
 * Puts test images into a fixture registry (test/support/registry.ts) and proves the registry serves
 * exactly the locally computed top-level digest.
 *
 *   pushLayout(reg, layout, repo, tag)  OCI layouts via `skopeo copy --all --preserve-digests`
 *   pushImage(reg, image, repo, tag)    any BuiltImage (also Docker manifest lists, which skopeo's oci:
 *                                       transport can't carry) with blob uploads and manifest PUTs over undici
 *
 * Both authenticate as the registry's user (Basic, or through its token server) unless told otherwise.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request, type Dispatcher } from 'undici'
import { MANIFEST_ACCEPT, type BuiltImage, type OciLayout } from './oci-layout.js'
import type { Registry } from './registry.js'

export type PushTarget = Pick<Registry, 'host' | 'baseUrl' | 'caPem' | 'certDir' | 'username' | 'password'>

export interface Credentials {
  username: string
  password: string
}

export interface PushOptions {
  /** Default: the registry's own user (basic and token modes); null pushes anonymously. */
  credentials?: Credentials | null
  /** Skopeo only: verify the registry's certificate with its CA (default) or not at all. */
  tlsVerify?: boolean
}

export interface PushResult {
  /** Docker-Content-Digest the registry reported; always equal to the image's local digest. */
  digest: string
  /** host/repo:tag */
  reference: string
  /** host/repo@digest */
  pinned: string
  durationMs: number
}

export interface SkopeoResult {
  code: number | null
  stdout: string
  stderr: string
}

function credentialsFor(reg: PushTarget, opts: PushOptions): Credentials | undefined {
  if (opts.credentials === null) return undefined
  if (opts.credentials !== undefined) return opts.credentials
  return reg.username !== undefined && reg.password !== undefined
    ? { username: reg.username, password: reg.password }
    : undefined
}

export function runSkopeo(args: readonly string[], timeoutMs = 60_000): Promise<SkopeoResult> {
  return new Promise((resolve) => {
    execFile('skopeo', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr: err !== null && typeof err.code === 'string' ? `${err.message}\n${stderr}` : stderr })
    })
  })
}

/** Copies an OCI layout into the registry with skopeo; the registry then serves the layout's own bytes. */
export async function pushLayout(
  reg: PushTarget,
  layout: OciLayout,
  repo: string,
  tag: string,
  opts: PushOptions = {}
): Promise<PushResult> {
  const started = Date.now()
  const work = await mkdtemp(join(tmpdir(), 'atw-skopeo-'))
  try {
    const digestFile = join(work, 'digest')
    const credentials = credentialsFor(reg, opts)
    const https = reg.baseUrl.startsWith('https:')
    const args = [
      // The oci: source is unsigned; the machine's /etc/containers/policy.json is none of this test's business.
      '--insecure-policy',
      'copy', '--quiet',
      // --all: every child of an index; --preserve-digests: fail rather than re-serialise a manifest.
      '--all', '--preserve-digests',
      '--digestfile', digestFile,
      '--tmpdir', work,
      ...(https && opts.tlsVerify !== false && reg.certDir !== undefined
        ? ['--dest-cert-dir', reg.certDir]
        : ['--dest-tls-verify=false']),
      ...(credentials === undefined
        ? ['--dest-no-creds']
        : ['--dest-creds', `${credentials.username}:${credentials.password}`]),
      `oci:${layout.dir}:${layout.ref}`,
      `docker://${reg.host}/${repo}:${tag}`
    ]
    const result = await runSkopeo(args)
    if (result.code !== 0) {
      throw new Error(`skopeo copy to ${reg.host}/${repo}:${tag} failed (${String(result.code)}):\n${result.stderr}`)
    }
    const skopeoDigest = (await readFile(digestFile, 'utf8')).trim()
    if (skopeoDigest !== layout.digest) {
      throw new Error(`skopeo pushed ${skopeoDigest}, expected the layout's ${layout.digest}`)
    }
    // skopeo hides the PUT's response, so ask the registry what the tag now resolves to.
    const session = new RegistrySession(reg, repo, credentials)
    try {
      const head = await session.send('HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } })
      const served = header(head.headers, 'docker-content-digest')
      if (head.statusCode !== 200 || served !== layout.digest) {
        throw new Error(`after push ${repo}:${tag} resolves to ${String(served)} (HTTP ${head.statusCode}), expected ${layout.digest}`)
      }
    } finally {
      await session.close()
    }
    return result_(reg, repo, tag, layout.digest, started)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/**
 * Uploads every blob (monolithic POST + PUT), then the child manifests by digest, then the top-level
 * manifest by tag with its own media type, so the registry stores these exact bytes.
 */
export async function pushImage(
  reg: PushTarget,
  image: BuiltImage,
  repo: string,
  tag: string,
  opts: PushOptions = {}
): Promise<PushResult> {
  const started = Date.now()
  const session = new RegistrySession(reg, repo, credentialsFor(reg, opts))
  try {
    for (const blob of image.blobs) {
      const exists = await session.send('HEAD', `/v2/${repo}/blobs/${blob.digest}`)
      if (exists.statusCode === 200) continue
      const start = await session.send('POST', `/v2/${repo}/blobs/uploads/`)
      await expectStatus(start, 202, `start upload of ${blob.digest}`)
      const location = header(start.headers, 'location')
      if (location === undefined) throw new Error(`upload of ${blob.digest}: 202 without Location`)
      const target = new URL(location, reg.baseUrl)
      target.searchParams.set('digest', blob.digest)
      const put = await session.send('PUT', target.pathname + target.search, {
        headers: { 'content-type': 'application/octet-stream' },
        body: blob.bytes
      })
      await expectStatus(put, 201, `upload of ${blob.digest}`)
    }
    const children = image.childDigests.length > 0 ? image.images : []
    for (const child of children) {
      const put = await session.send('PUT', `/v2/${repo}/manifests/${child.digest}`, {
        headers: { 'content-type': child.mediaType },
        body: child.bytes
      })
      await expectStatus(put, 201, `PUT child manifest ${child.digest}`)
    }
    const put = await session.send('PUT', `/v2/${repo}/manifests/${tag}`, {
      headers: { 'content-type': image.mediaType },
      body: image.bytes
    })
    await expectStatus(put, 201, `PUT manifest ${repo}:${tag}`)
    const digest = header(put.headers, 'docker-content-digest')
    if (digest !== image.digest) {
      throw new Error(`registry stored ${repo}:${tag} as ${String(digest)}, expected the local ${image.digest}`)
    }
    return result_(reg, repo, tag, digest, started)
  } finally {
    await session.close()
  }
}

/** pushLayout for an OCI layout on disk, pushImage for anything else. */
export function push(reg: PushTarget, image: BuiltImage | OciLayout, repo: string, tag: string, opts: PushOptions = {}): Promise<PushResult> {
  return 'dir' in image ? pushLayout(reg, image, repo, tag, opts) : pushImage(reg, image, repo, tag, opts)
}

function result_(reg: PushTarget, repo: string, tag: string, digest: string, started: number): PushResult {
  return {
    digest,
    reference: `${reg.host}/${repo}:${tag}`,
    pinned: `${reg.host}/${repo}@${digest}`,
    durationMs: Date.now() - started
  }
}

// ---------------------------------------------------------------------------------------------
// A deliberately small registry client for the fixtures: it only has to talk to our own registry and
// token server, so it handles one Basic or Bearer challenge per repository and nothing fancier.

type ResponseData = Dispatcher.ResponseData

export interface SendOptions {
  headers?: Record<string, string>
  body?: Buffer
}

function header(headers: ResponseData['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

async function expectStatus(res: ResponseData, status: number, what: string): Promise<void> {
  if (res.statusCode === status) {
    await res.body.dump()
    return
  }
  const text = await res.body.text().catch(() => '')
  throw new Error(`${what}: HTTP ${res.statusCode} (expected ${status}): ${text}`)
}

function challengeParams(value: string): Record<string, string> {
  const params: Record<string, string> = {}
  for (const m of value.matchAll(/(\w+)="([^"]*)"/g)) {
    if (m[1] !== undefined && m[2] !== undefined) params[m[1].toLowerCase()] = m[2]
  }
  return params
}

/** Talks to one repository of a fixture registry with pull+push rights, answering its auth challenge. */
export class RegistrySession {
  private readonly agent: Agent
  private authorization: string | undefined

  constructor (
    private readonly reg: PushTarget,
    private readonly repo: string,
    private readonly credentials: Credentials | undefined,
    private readonly actions = 'pull,push'
  ) {
    this.agent = new Agent({ connect: reg.caPem === undefined ? {} : { ca: reg.caPem } })
  }

  /** The response is the caller's: consume or dump its body. */
  async send(method: Dispatcher.HttpMethod, path: string, opts: SendOptions = {}): Promise<ResponseData> {
    const attempt = (): Promise<ResponseData> => request(new URL(path, this.reg.baseUrl), {
      method,
      dispatcher: this.agent,
      headers: {
        ...opts.headers,
        ...(this.authorization === undefined ? {} : { authorization: this.authorization })
      },
      ...(opts.body === undefined ? {} : { body: opts.body })
    })
    const first = await attempt()
    if (first.statusCode !== 401 || this.authorization !== undefined) return first
    const challenge = first.headers['www-authenticate']
    await first.body.dump()
    this.authorization = await this.answer(Array.isArray(challenge) ? challenge[0] : challenge)
    return attempt()
  }

  private async answer(challenge: string | undefined): Promise<string> {
    const scheme = challenge?.split(' ')[0]?.toLowerCase()
    const basic = this.credentials === undefined
      ? undefined
      : `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
    if (scheme === 'basic') {
      if (basic === undefined) throw new Error(`${this.reg.host} wants Basic credentials and none were given`)
      return basic
    }
    if (scheme !== 'bearer' || challenge === undefined) throw new Error(`unexpected challenge: ${String(challenge)}`)
    const { realm, service } = challengeParams(challenge)
    if (realm === undefined) throw new Error(`Bearer challenge without realm: ${challenge}`)
    const url = new URL(realm)
    if (service !== undefined) url.searchParams.set('service', service)
    url.searchParams.set('scope', `repository:${this.repo}:${this.actions}`)
    if (this.credentials !== undefined) url.searchParams.set('account', this.credentials.username)
    const res = await request(url, {
      dispatcher: this.agent,
      headers: basic === undefined ? {} : { authorization: basic }
    })
    if (res.statusCode !== 200) {
      throw new Error(`token request to ${realm} failed: HTTP ${res.statusCode}: ${await res.body.text()}`)
    }
    const body = await res.body.json() as { token?: string; access_token?: string }
    const token = body.access_token ?? body.token
    if (token === undefined) throw new Error(`token response from ${realm} has no token`)
    return `Bearer ${token}`
  }

  close(): Promise<void> {
    return this.agent.close()
  }
}

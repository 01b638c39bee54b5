/**
 * A token server for the distribution token protocol (spec-checklist §C), good enough to stand in front
 * of a real docker-registry in `auth.token` mode:
 *
 *   GET /token?service=S&scope=repository:NAME:pull[,push]  (scope may repeat; Basic credentials optional)
 *   → 200 {"token", "access_token", "expires_in", "issued_at"}
 *
 * Tokens are ES256 JWTs whose `x5c` header carries the signing certificate; distribution 2.8 checks that
 * chain against `auth.token.rootcertbundle`, so the registry config points there at `rootCertBundleFile`.
 * Binds 127.0.0.1 only.
 */
import { randomUUID, timingSafeEqual, webcrypto } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { createCa, issueCert, type KeyAndCert } from './tls.js'

export interface AccessEntry {
  type: string
  name: string
  actions: string[]
}

export interface TokenRequestRecord {
  /** Raw query scopes, in order. */
  scopes: string[]
  service: string | null
  account: string | null
  /** User name from Basic credentials, or null when none were sent. */
  username: string | null
  status: number
  /** Access granted in the issued token; empty when refused. */
  granted: AccessEntry[]
}

export interface TokenServerOptions {
  /** Valid user name → password. Default: one random user, see `username`/`password`. */
  users?: Record<string, string>
  /** Answer 401 to requests without credentials. Default false (anonymous may pull). */
  requireCredentials?: boolean
  /** Actions granted without credentials. Default ['pull']. */
  anonymousActions?: string[]
  /** Actions granted to a valid user. Default ['pull', 'push', 'delete']. */
  userActions?: string[]
  /** Repositories (exact names or patterns) that get no access at all. */
  denyRepositories?: Array<string | RegExp>
  /**
   * How a request for a denied repository is answered: 'empty-access' issues a token without that
   * access (what Docker Hub does, so the registry then answers 401 insufficient_scope); a number
   * answers that HTTP status instead. Default 'empty-access'.
   */
  denyWith?: 'empty-access' | 401 | 403
  /** `expires_in` in responses and the JWT lifetime, seconds. null omits the field (lifetime 60 s). Default 300. */
  expiresIn?: number | null
  /** Which token fields the response carries. Default 'both'. */
  tokenFields?: 'both' | 'token' | 'access_token'
  /** Include `issued_at`. Default true. */
  issuedAt?: boolean
  /** Serve HTTPS with this certificate (PEM); default plain HTTP on loopback. */
  tls?: { certPem: string; keyPem: string }
  /** JWT `iss`; must equal the registry's auth.token.issuer. Default 'atw-test-token-issuer'. */
  issuer?: string
  /** Where to write the root certificate bundle for the registry. Default: not written (use rootCertBundlePem). */
  rootCertBundleFile?: string
}

export interface IssueTokenOptions {
  subject?: string
  service: string
  access: AccessEntry[]
  /** Lifetime in seconds; negative gives an already-expired token. Default: the server's expiresIn. */
  expiresIn?: number
}

export interface TokenServer {
  /** e.g. http://127.0.0.1:PORT/token — the registry's auth.token.realm */
  realm: string
  origin: string
  issuer: string
  /** The default user (first entry of `users`) */
  username: string
  password: string
  /** PEM of the CA whose certificate signed the token signing key: the registry's rootcertbundle. */
  rootCertBundlePem: string
  rootCertBundleFile: string | undefined
  /** Signs a token directly (no HTTP request), e.g. to hand a client an expired or foreign token. */
  issueToken(opts: IssueTokenOptions): Promise<string>
  /** Changes behaviour from now on; omitted fields keep their value. */
  configure(opts: Omit<TokenServerOptions, 'tls' | 'issuer' | 'rootCertBundleFile'>): void
  requests(): TokenRequestRecord[]
  resetRequests(): void
  close(): Promise<void>
}

const crypto = webcrypto

function base64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url')
}

/** `repository:host:5000/a/b:pull,push` → type, name (may contain ':'), actions. */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first <= 0 || last === first) return undefined
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(',').filter((a) => a !== '')
  }
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^basic\s+(\S+)$/i.exec(header ?? '')
  if (match?.[1] === undefined) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const issuer = opts.issuer ?? 'atw-test-token-issuer'
  let settings = {
    users: opts.users ?? { 'atw-user': randomUUID() },
    requireCredentials: opts.requireCredentials ?? false,
    anonymousActions: opts.anonymousActions ?? ['pull'],
    userActions: opts.userActions ?? ['pull', 'push', 'delete'],
    denyRepositories: opts.denyRepositories ?? [],
    denyWith: opts.denyWith ?? 'empty-access',
    expiresIn: opts.expiresIn === undefined ? 300 : opts.expiresIn,
    tokenFields: opts.tokenFields ?? 'both',
    issuedAt: opts.issuedAt ?? true
  }
  const firstUser = Object.entries(settings.users)[0]
  if (firstUser === undefined) throw new Error('startTokenServer: users must not be empty')

  const signingCa = await createCa('atw test token CA')
  const signer: KeyAndCert = await issueCert(signingCa, { commonName: 'atw test token signer', usages: [] })
  const x5c = [Buffer.from(signer.cert.rawData).toString('base64')]
  if (opts.rootCertBundleFile !== undefined) await writeFile(opts.rootCertBundleFile, signingCa.certPem)

  async function issueToken(o: IssueTokenOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    const lifetime = o.expiresIn ?? settings.expiresIn ?? 60
    const header = { typ: 'JWT', alg: 'ES256', x5c }
    const claims = {
      iss: issuer,
      sub: o.subject ?? '',
      aud: o.service,
      exp: now + lifetime,
      // Back-dated: distribution allows little clock skew and the registry may check nbf the same second.
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: o.access
    }
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
    // WebCrypto's ECDSA signature is IEEE P1363 (r||s), exactly the JWS ES256 encoding.
    const signature = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      signer.keys.privateKey,
      Buffer.from(signingInput)
    )
    return `${signingInput}.${base64url(new Uint8Array(signature))}`
  }

  const denied = (name: string): boolean =>
    settings.denyRepositories.some((d) => (typeof d === 'string' ? d === name : d.test(name)))

  let records: TokenRequestRecord[] = []

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const scopes = url.searchParams.getAll('scope')
    const service = url.searchParams.get('service')
    const record: TokenRequestRecord = {
      scopes,
      service,
      account: url.searchParams.get('account'),
      username: null,
      status: 0,
      granted: []
    }
    records.push(record)
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'GET' || url.pathname !== '/token') {
      reply(404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] })
      return
    }
    const credentials = parseBasic(req.headers.authorization)
    record.username = credentials?.username ?? null
    const challenge = { 'www-authenticate': 'Basic realm="atw-test-token-server"' }
    if (credentials !== undefined) {
      const expected = settings.users[credentials.username]
      if (expected === undefined || !sameSecret(expected, credentials.password)) {
        reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'wrong user name or password' }] }, challenge)
        return
      }
    } else if (settings.requireCredentials) {
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'credentials required' }] }, challenge)
      return
    }
    const allowed = credentials === undefined ? settings.anonymousActions : settings.userActions
    // The protocol allows several scopes in one space-separated parameter as well as repeated parameters.
    const requested = scopes.flatMap((s) => s.split(' ')).map(parseScope).filter((s) => s !== undefined)
    if (settings.denyWith !== 'empty-access' && requested.some((s) => s.type === 'repository' && denied(s.name))) {
      reply(settings.denyWith, { errors: [{ code: 'DENIED', message: 'access to this repository is denied' }] })
      return
    }
    record.granted = requested
      .filter((s) => !(s.type === 'repository' && denied(s.name)))
      .map((s) => ({ ...s, actions: s.actions.filter((a) => allowed.includes(a)) }))
      .filter((s) => s.actions.length > 0)
    const token = await issueToken({ subject: credentials?.username ?? '', service: service ?? '', access: record.granted })
    const body: Record<string, unknown> = {}
    if (settings.tokenFields !== 'access_token') body['token'] = token
    if (settings.tokenFields !== 'token') body['access_token'] = token
    if (settings.expiresIn !== null) body['expires_in'] = settings.expiresIn
    if (settings.issuedAt) body['issued_at'] = new Date().toISOString()
    reply(200, body)
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(err))
    })
  }
  const server: Server = opts.tls === undefined
    ? createHttpServer(listener)
    : createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, listener)
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `${opts.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`

  let closed: Promise<void> | undefined
  return {
    realm: `${origin}/token`,
    origin,
    issuer,
    username: firstUser[0],
    password: firstUser[1],
    rootCertBundlePem: signingCa.certPem,
    rootCertBundleFile: opts.rootCertBundleFile,
    issueToken,
    configure(next) {
      const defined = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined))
      settings = { ...settings, ...defined }
    },
    requests: () => records.map((r) => ({ ...r })),
    resetRequests() { records = [] },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        for (const socket of sockets) socket.destroy()
      })
      return closed
    }
  }
}

import { access, chmod, mkdir, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { inspectCertificate } from '../certs/inspect.js'
import { ExitCode, type Io, parseCommandArgs, UsageError } from './usage.js'

export const certsUsage = `usage: actortemplate-webhook certs --out DIR (--dns NAME | --ip ADDRESS)... [--days N] [--force]
Generates a throw-away CA and a serving certificate it signs (ECDSA P-256), for development and tests:
DIR/ca.crt (the caBundle), DIR/tls.crt and DIR/tls.key (mode 0600). The CA key is not kept.
In a cluster the webhook manages its own certificates (certificates.mode: self-managed); see manifests/README.md.
Exit 0 on success, 1 when the files cannot be written or exist already (use --force), 2 on usage errors.`

const FILES = ['ca.crt', 'tls.crt', 'tls.key'] as const
/** RFC 1123 names as Kubernetes writes them (lowercase), optionally a wildcard first label. */
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/

function daysOption (value: string | undefined): number {
  if (value === undefined) return 365
  const days = Number(value)
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError('--days must be a whole number of days between 1 and 3650')
  return days
}

async function exists (path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

export async function runCerts (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    out: { type: 'string' },
    dns: { type: 'string', multiple: true },
    ip: { type: 'string', multiple: true },
    days: { type: 'string' },
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${certsUsage}\n`)
    return ExitCode.ok
  }
  if (positionals.length > 0) throw new UsageError(`certs takes no arguments, got ${positionals.join(' ')}`)
  const out = values.out
  if (out === undefined || out === '') throw new UsageError('certs needs --out DIR')
  const dnsNames = values.dns ?? []
  const ipAddresses = values.ip ?? []
  if (dnsNames.length === 0 && ipAddresses.length === 0) throw new UsageError('certs needs at least one --dns NAME or --ip ADDRESS')
  for (const name of dnsNames) if (!DNS_NAME.test(name)) throw new UsageError(`--dns ${JSON.stringify(name)} is not a lowercase DNS name`)
  for (const ip of ipAddresses) if (isIP(ip) === 0) throw new UsageError(`--ip ${JSON.stringify(ip)} is not an IPv4 or IPv6 address`)
  const validityDays = daysOption(values.days)

  const paths = FILES.map((file) => join(out, file))
  if (values.force !== true) {
    const present = (await Promise.all(paths.map(async (path) => (await exists(path)) ? path : undefined))).filter((path) => path !== undefined)
    if (present.length > 0) {
      io.stderr(`refusing to overwrite ${present.join(', ')}; pass --force to replace them\n`)
      return ExitCode.rejected
    }
  }
  // Loaded here, not at the top: the X.509 library is only needed by this command, not by every start of the CLI.
  const { createCertificateAuthority, issueServingCertificate } = await import('../certs/generate.js')
  const now = new Date()
  const ca = await createCertificateAuthority({ now, validityDays, commonName: 'actortemplate-webhook development CA' })
  const leaf = await issueServingCertificate(ca, { now, validityDays, dnsNames, ipAddresses })
  const [caFile, certFile, keyFile] = paths as [string, string, string]
  try {
    await mkdir(out, { recursive: true })
    await writeFile(caFile, ca.certPem, { mode: 0o644 })
    await writeFile(certFile, leaf.certPem, { mode: 0o644 })
    await writeFile(keyFile, leaf.keyPem, { mode: 0o600 })
    // writeFile's mode applies only to a new file; a replaced key (--force) must not keep looser permissions.
    await chmod(keyFile, 0o600)
  } catch (error) {
    io.stderr(`cannot write the certificates to ${out}: ${(error as Error).message}\n`)
    return ExitCode.rejected
  }
  const facts = inspectCertificate(leaf.certPem)
  io.stdout([
    `wrote ${caFile}, ${certFile} and ${keyFile}`,
    `names: ${[...dnsNames.map((name) => `DNS:${name}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(', ')}`,
    `valid until ${facts.notAfter.toISOString()}`,
    `caBundle: ${Buffer.from(ca.certPem).toString('base64')}`,
    ''
  ].join('\n'))
  return ExitCode.ok
}

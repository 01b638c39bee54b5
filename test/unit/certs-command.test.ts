import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { inspectCertificate, issuedBy, keyMatches } from '../../src/certs/inspect.js'
import { captureIo } from '../cli/io.js'

t.test('certs writes ca.crt, tls.crt and a private tls.key for the given names', async (t) => {
  const out = join(await mkdtemp(join(tmpdir(), 'atw-certs-cli-')), 'certs')
  const io = captureIo()
  t.equal(await main(['certs', '--out', out, '--dns', 'localhost', '--dns', 'hook.ns.svc', '--ip', '127.0.0.1', '--ip', '::1', '--days', '7'], io), 0, io.err())
  const [ca, cert, key] = await Promise.all(['ca.crt', 'tls.crt', 'tls.key'].map(async (file) => await readFile(join(out, file), 'utf8')))
  t.ok(issuedBy(cert ?? '', ca ?? ''))
  t.ok(keyMatches(cert ?? '', key ?? ''))
  const facts = inspectCertificate(cert ?? '')
  t.same(facts.dnsNames, ['localhost', 'hook.ns.svc'])
  t.equal(facts.ipAddresses.length, 2)
  t.ok(Math.abs(facts.notAfter.getTime() - Date.now() - 7 * 86_400_000) < 60_000, 'valid for --days')
  t.equal((await stat(join(out, 'tls.key'))).mode & 0o777, 0o600)
  t.match(io.out(), /names: DNS:localhost, DNS:hook\.ns\.svc, IP:127\.0\.0\.1, IP:::1/)
  t.match(io.out(), new RegExp(`caBundle: ${Buffer.from(ca ?? '').toString('base64')}`))
})

t.test('certs refuses to overwrite without --force (exit 1), and --force tightens a loose key', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'atw-certs-cli-'))
  await writeFile(join(out, 'tls.key'), 'old', { mode: 0o644 })
  const refused = captureIo()
  t.equal(await main(['certs', '--out', out, '--dns', 'localhost'], refused), 1)
  t.match(refused.err(), /refusing to overwrite .*tls\.key; pass --force/)
  t.equal(await readFile(join(out, 'tls.key'), 'utf8'), 'old')
  t.equal(await main(['certs', '--out', out, '--dns', 'localhost', '--force'], captureIo()), 0)
  t.equal((await stat(join(out, 'tls.key'))).mode & 0o777, 0o600)
})

t.test('certs: unwritable output is exit 1', async (t) => {
  const file = join(await mkdtemp(join(tmpdir(), 'atw-certs-cli-')), 'a-file')
  await writeFile(file, '')
  const io = captureIo()
  t.equal(await main(['certs', '--out', join(file, 'sub'), '--dns', 'localhost'], io), 1)
  t.match(io.err(), /cannot write the certificates/)
})

t.test('certs usage errors exit 2 and --help exits 0', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['certs', '--dns', 'a'], /needs --out DIR/],
    [['certs', '--out', '/tmp/x'], /at least one --dns NAME or --ip ADDRESS/],
    [['certs', '--out', '/tmp/x', '--dns', 'Bad_Name'], /not a lowercase DNS name/],
    [['certs', '--out', '/tmp/x', '--ip', '300.1.1.1'], /not an IPv4 or IPv6 address/],
    [['certs', '--out', '/tmp/x', '--dns', 'a', '--days', '0'], /--days must be/],
    [['certs', '--out', '/tmp/x', '--dns', 'a', 'extra'], /takes no arguments/],
    [['certs', '--colour'], /Unknown option '--colour'/]
  ]
  for (const [args, message] of cases) {
    const io = captureIo()
    t.equal(await main(args, io), 2, args.join(' '))
    t.match(io.err(), message)
    t.match(io.err(), /usage: actortemplate-webhook certs/)
  }
  const help = captureIo()
  t.equal(await main(['certs', '--help'], help), 0)
  t.match(help.out(), /ca\.crt .*tls\.crt and .*tls\.key \(mode 0600\)/)
  const overview = captureIo()
  await main(['--help'], overview)
  t.match(overview.out(), /commands: .*certs/)
})

import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createNamespace } from '../support/battery-netns.js'
import type { SsrfReport } from '../support/battery-ssrf-probe.js'

// Issue 7, SSRF: references, redirects, token realms and mirrors that point at link-local or metadata addresses are
// refused without any connection. The proof is a namespace of our own whose loopback really holds 169.254.169.254
// and fe80::1, with canary listeners on them: nothing may arrive while the cases run, and the positive controls
// (the same addresses with allowLinkLocal) show that the canaries would have seen a connection.

const probe = fileURLToPath(new URL('../support/battery-ssrf-probe.ts', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('link-local and metadata addresses are never contacted', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('the SSRF battery creates a network namespace and needs root (CI and the dev machines run as root)')
    return
  }
  const namespace = await createNamespace(t, {
    addresses: ['169.254.169.254/32', 'fe80::1/128'],
    hosts: ['169.254.169.254 evil.test', 'fe80::1 evil6.test', '127.0.0.1 mixed.test', '169.254.169.254 mixed.test', '169.254.169.254 metadata.google.internal']
  })
  const started = Date.now()
  const { code, stdout, stderr } = await namespace.run([process.execPath, '--import', 'tsx', probe], { cwd: root })
  t.equal(code, 0, `the probe ran inside ${namespace.name}${code === 0 ? '' : `: ${stderr.slice(-2000)}`}`)
  if (code !== 0) return
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as SsrfReport

  for (const result of report.cases) {
    t.test(result.name, async (t) => {
      t.equal(result.allowed, false, `${result.reference} is denied`)
      t.same(result.canaryHits, [], 'no connection reached a link-local canary')
      if (result.registryRequests !== undefined) t.ok(result.registryRequests >= 1, 'the registry did send the redirect or challenge')
      if (result.code === 'INVALID_REFERENCE') {
        t.match(result.message, /is not a valid image reference: IPv6 address .* may contain only hex digits and ':'/, 'refused by the reference grammar')
      } else {
        t.equal(result.code, 'BLOCKED_ADDRESS')
        t.match(result.message, /refusing to connect to \S+ \(\S+\): link-local and metadata addresses are never contacted; set allowLinkLocal for this registry if it is intended/,
          'the denial says what was refused and what to do')
      }
      t.comment(`${result.name}: ${result.message}`)
    })
  }
  const invalid = report.cases.filter((result) => result.code === 'INVALID_REFERENCE').map((result) => result.reference)
  t.same(invalid, ['[::ffff:169.254.169.254]/team/app:v1'], 'only the dotted IPv4-mapped spelling is refused by the grammar instead of the guard')

  for (const control of report.controls) {
    t.ok(control.canaryHits.length > 0, `${control.name}: the canary saw ${control.canaryHits.join(', ') || 'nothing'}`)
  }
  const blocked = report.cases.filter((result) => !result.allowed && result.canaryHits.length === 0).length
  t.comment(`SSRF: ${report.cases.length} cases tried, ${blocked} denied without a connection, failures ${report.cases.length - blocked}; ` +
    `canaries on ports ${report.canaryPorts.join(', ')} saw ${report.controls.reduce((n, c) => n + c.canaryHits.length, 0)} connections, all from the ` +
    `${report.controls.length} allowLinkLocal controls; ${Date.now() - started} ms`)
})

import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createNamespace } from '../support/battery-netns.js'
import type { RealmCase } from '../support/battery-realm-probe.js'

// Issue 13 §2: an attacker's registry names the token realm, so it chooses where we send a GET and whose answer we
// forward as a Bearer token. A realm on a loopback or private address is followed only when the registry itself is on
// one. The proof runs in a namespace of our own whose loopback also holds 198.51.100.7 (a stand-in public address):
// the loopback token server must see no request from the public registry's cases, and one from the control.

const probe = fileURLToPath(new URL('../support/battery-realm-probe.ts', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('issue 13: a public registry cannot send us to a loopback token realm', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('this battery creates a network namespace and needs root (CI and the dev machines run as root)')
    return
  }
  const namespace = await createNamespace(t, { addresses: ['198.51.100.7/32'], hosts: ['127.0.0.1 internal-auth.test'] })
  const { code, stdout, stderr } = await namespace.run([process.execPath, '--import', 'tsx', probe], { cwd: root })
  t.equal(code, 0, `the probe ran inside ${namespace.name}${code === 0 ? '' : `: ${stderr.slice(-2000)}`}`)
  if (code !== 0) return
  const { cases } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { cases: RealmCase[] }
  for (const result of cases) {
    if (result.name.startsWith('control')) {
      t.equal(result.code, 'pinned', `${result.name}: ${result.message}`)
      t.equal(result.realmRequests, 1, `${result.name}: the realm was asked`)
    } else {
      t.equal(result.code, 'TOKEN_REALM_REFUSED', `${result.name}: ${result.message}`)
      t.match(result.message, /a token realm on a loopback or private address is followed only when the registry itself is on one, and 198\.51\.100\.7 is not/)
      t.equal(result.realmRequests, 0, `${result.name}: the loopback realm saw no request`)
    }
    t.comment(`${result.name} (${result.realm}): ${result.code}, loopback realm requests ${result.realmRequests}`)
  }
})

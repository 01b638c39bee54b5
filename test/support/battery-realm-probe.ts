/**
 * Runs inside a battery network namespace (test/support/battery-netns.ts) whose loopback also holds 198.51.100.7, a
 * documentation address standing in for a public registry (issue 13 §2). A registry there names token realms on
 * loopback; a registry on 127.0.0.2 does the same as the control. Prints one JSON object (RealmReport) on stdout;
 * test/battery/realm-private.test.ts judges it.
 */
import { deadlineIn } from '../../src/registry/types.js'
import { startHostileRegistry } from './hostile-registry.js'
import { startResolver } from './resolver-harness.js'

export interface RealmCase {
  name: string
  realm: string
  ok: boolean
  code: string
  message: string
  /** requests the loopback token server received during the case */
  realmRequests: number
}

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }

const canary = await startHostileRegistry(t)
const canaryPort = new URL(canary.baseUrl).port
const cases: Array<{ name: string, listenHost: string, realm: string }> = [
  { name: 'a public registry naming a loopback realm', listenHost: '198.51.100.7', realm: `http://127.0.0.1:${canaryPort}/token` },
  { name: 'a public registry naming a realm whose name resolves to loopback', listenHost: '198.51.100.7', realm: `http://internal-auth.test:${canaryPort}/token` },
  { name: 'a public registry naming an IPv4-mapped loopback realm', listenHost: '198.51.100.7', realm: `http://[::ffff:127.0.0.1]:${canaryPort}/token` },
  { name: 'control: a loopback registry naming a loopback realm', listenHost: '127.0.0.2', realm: `http://127.0.0.1:${canaryPort}/token` }
]
const results: RealmCase[] = []
for (const c of cases) {
  const registry = await startHostileRegistry(t, { auth: 'bearer', realm: c.realm, listenHost: c.listenHost })
  const harness = startResolver(t, { registries: [{ host: registry.host, insecure: true }], resolver: { maxAttempts: 1 } })
  const before = canary.tokenRequests()
  const result = await harness.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  results.push({
    name: c.name,
    realm: c.realm,
    ok: result.ok,
    code: result.ok ? 'pinned' : result.error.code,
    message: result.ok ? result.pinned : result.error.message,
    realmRequests: canary.tokenRequests() - before
  })
}
for (const fn of teardowns.reverse()) await fn()
console.log(JSON.stringify({ cases: results }))

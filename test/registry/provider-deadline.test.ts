import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { PullSecretCredentials } from '../../src/kube/pull-secrets.js'
import { BoundProvider } from '../../src/registry/providers/bound-provider.js'
import { CredentialHelper } from '../../src/registry/providers/credential-helper.js'
import { GoogleIdentity } from '../../src/registry/providers/google-identity.js'
import type { CredentialSource } from '../../src/registry/credentials.js'
import { deadlineIn } from '../../src/registry/types.js'
import { startFaultyServer } from '../support/faulty-server.js'
import { startHostileRegistry } from '../support/hostile-registry.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 13 §1, bullet 5: credential providers run inside the admission's deadline. A credential helper whose own
// timeout is 20 s, a metadata server that never answers and a Kubernetes API that never answers the first Secret
// read must not hold an admission whose budget is 1 s; the helper process is killed.

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function timed (t: Test, credentials: CredentialSource): Promise<{ code: string, message: string, ms: number }> {
  const registry = await startHostileRegistry(t, { auth: 'basic' })
  const harness = startResolver(t, { registries: [{ host: registry.host, insecure: true }], credentials, resolver: { maxAttempts: 1 } })
  const started = Date.now()
  const result = await harness.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(1000))
  return { code: result.ok ? 'pinned' : result.error.code, message: result.ok ? '' : result.error.message, ms: Date.now() - started }
}

t.test('issue 13: a credential helper with a 20 s timeout is killed at a 1 s admission deadline', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-helper-deadline-'))
  const pidFile = join(dir, 'pid')
  const helper = join(dir, 'docker-credential-slow')
  await writeFile(helper, `#!/bin/sh\necho $$ > ${pidFile}\nsleep 20\necho '{"Username":"u","Secret":"s"}'\n`)
  await chmod(helper, 0o755)
  const credentials = new BoundProvider(['127.0.0.1:*'], new CredentialHelper({ name: 'slow', path: helper, timeoutMs: 20_000, cacheMs: 0 }))
  const { code, message, ms } = await timed(t, credentials)
  t.equal(code, ErrorCode.registryTimeout)
  t.match(message, /no credentials for 127\.0\.0\.1:\d+ before the admission deadline: credential helper \S+ was stopped at the admission deadline/)
  t.ok(ms < 3000, `answered after ${ms} ms (budget 1000 ms, helper timeout 20000 ms)`)
  const pid = Number((await readFile(pidFile, 'utf8')).trim())
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.notOk(alive(pid), `the helper process ${pid} is gone`)
  t.comment(`credential helper (timeout 20 s) under a 1 s deadline: ${code} after ${ms} ms; helper process alive afterwards: ${alive(pid)}`)
})

t.test('issue 13: a metadata server that never answers does not outlive the admission deadline', async (t) => {
  const metadata = await startFaultyServer({ t, fault: { kind: 'hang' } })
  const google = new GoogleIdentity({ metadataTokenUrl: `${metadata.baseUrl}/token`, serviceAccount: 'ns/sa', timeoutMs: 20_000 })
  // The hung fetch is shared by all callers and ends at its own timeout; closing the server first ends it now.
  t.teardown(async () => { await metadata.close(); await google.close() })
  const { code, ms } = await timed(t, new BoundProvider(['127.0.0.1:*'], google))
  t.equal(code, ErrorCode.registryTimeout)
  t.ok(ms < 3000, `answered after ${ms} ms (budget 1000 ms, metadata timeout 20000 ms)`)
  t.comment(`metadata server (timeout 20 s) under a 1 s deadline: ${code} after ${ms} ms`)
})

t.test('issue 13: a first pull Secret read that never returns does not outlive the admission deadline', async (t) => {
  const secrets = new PullSecretCredentials([{ namespace: 'team-a', name: 'pull' }], { readSecret: async () => await new Promise(() => {}) }, { refreshMs: 60_000 })
  t.teardown(() => { secrets.close() })
  const { code, ms } = await timed(t, secrets)
  t.equal(code, ErrorCode.registryTimeout)
  t.ok(ms < 3000, `answered after ${ms} ms (budget 1000 ms)`)
  t.comment(`pull Secret first read hanging under a 1 s deadline: ${code} after ${ms} ms`)
})
